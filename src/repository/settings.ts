import { isMap } from 'yaml';
import type { Diagnostic } from '../tosca/diagnostic.js';
import { parseLimited, SETTINGS_LIMITS } from '../tosca/yaml-limits.js';
import { parseFleetSettings, type FleetSettings } from './fleet-settings.js';

/** One agent the hub's post-receive hook notifies. */
export interface AgentEndpoint {
  host: string;
  url: string;
}

export interface PluginSpec {
  /** In-process module (path relative to the repository, or a package name). */
  module?: string;
  /** HTTP delegate base URL. */
  url?: string;
  types: string[];
  token_env?: string;
}

/** `kaidu.yaml`: settings of a user repository. Every field is optional. */
export interface RepoSettings {
  branch: string;
  servicesDir: string;
  stateDir: string;
  /** Extra profile folders inside the repository. */
  profiles: string[];
  agents: AgentEndpoint[];
  plugins: PluginSpec[];
  /** Input values per service: `inputs: { web: { replicas: 2 } }`. */
  inputs: Record<string, Record<string, unknown>>;
  /** Agent defaults. */
  agent: { concurrency: number; actionTimeout: number };
  /** Agent URLs and the relay tree (`fleet:`); absent: no relaying. */
  fleet?: FleetSettings;
}

export const DEFAULT_SETTINGS: RepoSettings = {
  branch: 'main',
  servicesDir: 'services',
  stateDir: 'state',
  profiles: [],
  agents: [],
  plugins: [],
  inputs: {},
  agent: { concurrency: 4, actionTimeout: 300 },
};

const KNOWN = new Set(['branch', 'services_dir', 'state_dir', 'profiles', 'agents', 'plugins', 'inputs', 'agent', 'fleet']);

/** Parses kaidu.yaml; problems are diagnostics with line and column, defaults fill the rest. */
export function parseSettings(text: string | undefined, file = 'kaidu.yaml'): { settings: RepoSettings; diagnostics: Diagnostic[] } {
  const settings: RepoSettings = structuredClone(DEFAULT_SETTINGS);
  const diagnostics: Diagnostic[] = [];
  if (text === undefined) return { settings, diagnostics };
  const limited = parseLimited(text, file, SETTINGS_LIMITS, { uniqueKeys: true });
  if (!limited.doc) return { settings, diagnostics: limited.diagnostics };
  const { doc, lines: lc } = limited;
  // An alias without its anchor: the settings file's own code, like the library's errors below.
  for (const d of limited.diagnostics) diagnostics.push({ ...d, code: d.code === 'E_TOSCA_YAML' ? 'E_SETTINGS_YAML' : d.code });
  const at = (offset: number | undefined) => {
    const p = lc.linePos(offset ?? 0);
    return { file, line: p.line, column: p.col };
  };
  for (const e of doc.errors) diagnostics.push({ severity: 'error', code: 'E_SETTINGS_YAML', message: e.message.split('\n')[0]!, ...at(e.pos[0]) });
  if (diagnostics.length) return { settings, diagnostics };
  if (doc.contents === null) return { settings, diagnostics };
  if (!isMap(doc.contents)) {
    diagnostics.push({ severity: 'error', code: 'E_SETTINGS_SHAPE', message: 'kaidu.yaml must be a map of settings', ...at(doc.contents.range?.[0]) });
    return { settings, diagnostics };
  }
  const raw = doc.toJSON() as Record<string, unknown>;
  // A key left empty (everything under it commented out) means the default.
  for (const k of Object.keys(raw)) if (raw[k] === null) delete raw[k];
  // Keys by name, found once: a search per key is quadratic in a file of many unknown keys.
  const keyAt = new Map<unknown, number | undefined>();
  for (const p of (doc.contents as { items: { key: { value?: unknown; range?: [number, number, number] } }[] }).items) if (!keyAt.has(p.key?.value)) keyAt.set(p.key?.value, p.key?.range?.[0]);
  const where = (key: string) => at(keyAt.get(key));
  const bad = (key: string, expected: string) =>
    diagnostics.push({ severity: 'error', code: 'E_SETTINGS_TYPE', message: `"${key}" must be ${expected}`, ...where(key) });
  for (const key of Object.keys(raw)) {
    if (!KNOWN.has(key)) diagnostics.push({ severity: 'warning', code: 'W_SETTINGS_UNKNOWN', message: `unknown setting "${key}"`, hint: `known: ${[...KNOWN].join(', ')}`, ...where(key) });
  }
  const str = (key: string, set: (v: string) => void) => {
    if (raw[key] === undefined) return;
    if (typeof raw[key] === 'string' && raw[key]) set(raw[key] as string);
    else bad(key, 'a non-empty string');
  };
  str('branch', (v) => (settings.branch = v));
  str('services_dir', (v) => (settings.servicesDir = v.replace(/\/+$/, '')));
  str('state_dir', (v) => (settings.stateDir = v.replace(/\/+$/, '')));
  if (raw.profiles !== undefined) {
    if (Array.isArray(raw.profiles) && raw.profiles.every((p) => typeof p === 'string')) settings.profiles = raw.profiles as string[];
    else bad('profiles', 'a list of folder paths');
  }
  if (raw.agents !== undefined) {
    if (Array.isArray(raw.agents) && raw.agents.every((a) => a && typeof a === 'object' && typeof (a as AgentEndpoint).host === 'string' && typeof (a as AgentEndpoint).url === 'string')) {
      settings.agents = raw.agents as AgentEndpoint[];
    } else bad('agents', 'a list of {host, url}');
  }
  if (raw.plugins !== undefined) {
    if (Array.isArray(raw.plugins) && raw.plugins.every((p) => p && typeof p === 'object' && Array.isArray((p as PluginSpec).types) && (typeof (p as PluginSpec).module === 'string' || typeof (p as PluginSpec).url === 'string'))) {
      settings.plugins = raw.plugins as PluginSpec[];
    } else bad('plugins', 'a list of {module or url, types: [...]}');
  }
  if (raw.inputs !== undefined) {
    if (raw.inputs && typeof raw.inputs === 'object' && !Array.isArray(raw.inputs)) settings.inputs = raw.inputs as RepoSettings['inputs'];
    else bad('inputs', 'a map of service name to input values');
  }
  if (raw.agent !== undefined) {
    const a = raw.agent as Record<string, unknown>;
    if (a && typeof a === 'object') {
      if (typeof a.concurrency === 'number' && a.concurrency >= 1) settings.agent.concurrency = Math.floor(a.concurrency);
      if (typeof a.action_timeout === 'number' && a.action_timeout > 0) settings.agent.actionTimeout = a.action_timeout;
    } else bad('agent', 'a map');
  }
  if (raw.fleet !== undefined) {
    const fleet = parseFleetSettings(raw.fleet, doc, lc, file);
    diagnostics.push(...fleet.diagnostics);
    if (fleet.fleet) settings.fleet = fleet.fleet;
  }
  return { settings, diagnostics };
}
