export type { EventLogger, RepoEvent, RepoEventSource } from './event.js';
export { signGithub, verifyGithub, verifyGitea, verifyToken } from './signature.js';
export { PassQueue, type PassQueueOptions, type PassRunner } from './queue.js';
export { webhookRoutes, buildWebhookApp, type WebhookOptions, type WebhookProvider, type WebhookSecrets } from './webhooks.js';
export { watchRepository, resolveGitDirs, gitDirOf, type GitDirs, type RepositoryWatch, type WatchOptions } from './watch.js';
