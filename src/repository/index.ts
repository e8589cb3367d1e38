export { parseSettings, DEFAULT_SETTINGS, type RepoSettings, type AgentEndpoint, type PluginSpec } from './settings.js';
export { loadRepository, listServiceFiles, ServiceMemo, type LoadedRepository, type LoadOptions } from './load.js';
