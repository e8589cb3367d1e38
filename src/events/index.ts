export type { RepoEvent } from './event.js';
export { signGithub, verifyGithub, verifyGitea, verifyToken } from './signature.js';
export { PassQueue, type PassRunner } from './queue.js';
export { webhookRoutes, buildWebhookApp, type WebhookOptions } from './webhooks.js';
export { watchRepository, gitDirOf } from './watch.js';
