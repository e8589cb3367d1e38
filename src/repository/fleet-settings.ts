/**
 * `kaidu.yaml` `fleet:` — where each host's agent listens, which hosts the forge calls (the roots of
 * the relay tree) and the tree's fan-out. Declared as a JSON Schema (below) and checked with ajv;
 * each violation becomes a diagnostic at the offending key or value. URLs come from a hostile
 * repository: http(s) only, no credentials, no query or fragment, bounded length.
 */
import { createRequire } from 'node:module';
import type { Document, LineCounter, Node } from 'yaml';
import { isNode } from 'yaml';
import type { Diagnostic } from '../tosca/diagnostic.js';
import { SAFE_NAME_RULE, unsafeNameReason } from '../tosca/safe-name.js';

export interface FleetSettings {
  /** URL pattern for every host's agent: `{host}` is the host's name, `{address}` its `address` property. */
  url?: string;
  /** Per host, an agent URL that overrides the pattern. */
  hosts: Record<string, { url: string }>;
  /** The hosts the forge (or `kaidu notify`) calls; default: the first three hosts by name. */
  roots: string[];
  /** Most hosts one agent relays to. */
  fanout: number;
}

export const DEFAULT_FLEET_FANOUT = 8;
/** Enough for a forge's webhook limit (GitHub: 20) with room for `kaidu notify` on a bare hub. */
export const MAX_FLEET_ROOTS = 100;
const MAX_URL = 2048;

const HOST_NAME = '^[\\p{L}\\p{N}_][\\p{L}\\p{N}\\p{M}_.-]{0,127}$';
const URL_SHAPE = { type: 'string', minLength: 8, maxLength: MAX_URL, pattern: '^https?://' } as const;

/** The JSON Schema of the `fleet` section (exported so that it can be documented and reused by editors). */
export const FLEET_SCHEMA = {
  $id: 'https://kaidu.dev/schemas/settings-fleet.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    url: URL_SHAPE,
    hosts: {
      type: 'object',
      maxProperties: 100_000,
      propertyNames: { pattern: HOST_NAME },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: { url: URL_SHAPE },
      },
    },
    roots: { type: 'array', maxItems: MAX_FLEET_ROOTS, uniqueItems: true, items: { type: 'string', pattern: HOST_NAME } },
    fanout: { type: 'integer', minimum: 4, maximum: 64 },
  },
} as const;

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  /** Set on the errors of a `propertyNames` sub-schema. */
  propertyName?: string;
}
type Validate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

let compiled: Validate | undefined;

/** ajv is loaded on first use: most repositories have no `fleet` section, and start-up time counts. */
function validator(): Validate {
  if (compiled) return compiled;
  const { Ajv } = createRequire(import.meta.url)('ajv') as { Ajv: new (o: object) => { compile(s: object): Validate } };
  compiled = new Ajv({ allErrors: true, unicodeRegExp: true, strict: true }).compile(FLEET_SCHEMA);
  return compiled;
}

/**
 * Checks `fleet:` (its JSON value, and the YAML node it came from for positions). Returns the
 * settings when valid; every problem is a diagnostic with file:line:column.
 */
export function parseFleetSettings(value: unknown, doc: Document, lines: LineCounter, file: string): { fleet?: FleetSettings; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const at = (path: (string | number)[], key = false) => {
    const node = nodeAt(doc, ['fleet', ...path], key);
    const p = lines.linePos(node?.range?.[0] ?? 0);
    return { file, line: p.line, column: p.col };
  };
  const problem = (path: (string | number)[], message: string, hint?: string, key = false) =>
    diagnostics.push({ severity: 'error', code: 'E_SETTINGS_FLEET', message, ...(hint ? { hint } : {}), ...at(path, key) });

  const validate = validator();
  if (!validate(value)) {
    for (const e of validate.errors ?? []) {
      const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      const where = `fleet${path.map((s) => `.${s}`).join('')}`;
      // A bad key is reported twice (its pattern, then propertyNames): once is enough.
      if (e.propertyName !== undefined && e.keyword !== 'propertyNames') continue;
      if (e.keyword === 'additionalProperties') {
        const extra = String(e.params.additionalProperty);
        problem([...path, extra], `unknown key "${extra}" in ${where}`, path.length === 0 ? 'fleet takes url, hosts, roots and fanout' : 'a host takes only url', true);
      } else if (e.keyword === 'propertyNames') {
        const name = String(e.params.propertyName);
        problem([...path, name], `${JSON.stringify(name)} in ${where} is not a host name: ${unsafeNameReason(name) ?? 'it is not a safe name'}`, `use ${SAFE_NAME_RULE}`, true);
      } else if (e.keyword === 'pattern' && /url$/.test(where)) {
        problem(path, `${where} must be an http:// or https:// URL`);
      } else if (e.keyword === 'pattern') {
        problem(path, `${where} is not a host name`, `use ${SAFE_NAME_RULE}`);
      } else {
        problem(path, `${where} ${e.message ?? 'is invalid'}`);
      }
    }
    return { diagnostics: dedupe(diagnostics).sort((a, b) => a.line - b.line || a.column - b.column) };
  }
  const raw = value as { url?: string; hosts?: Record<string, { url: string }>; roots?: string[]; fanout?: number };
  if (raw.url !== undefined) {
    const why = urlProblem(raw.url.replaceAll('{host}', 'h').replaceAll('{address}', '127.0.0.1'), true);
    if (why) problem(['url'], `fleet.url ${why}`, 'for example http://{host}:7070 ({host}: the host name, {address}: its address property)');
    else if (/\{(?!host\}|address\})[^}]*\}/.test(raw.url)) problem(['url'], `fleet.url has an unknown placeholder: only {host} and {address} are replaced`);
  }
  for (const [host, entry] of Object.entries(raw.hosts ?? {})) {
    const why = urlProblem(entry.url, false);
    if (why) problem(['hosts', host, 'url'], `fleet.hosts.${host}.url ${why}`);
  }
  if (diagnostics.length > 0) return { diagnostics };
  return {
    fleet: { ...(raw.url ? { url: raw.url } : {}), hosts: raw.hosts ?? {}, roots: raw.roots ?? [], fanout: raw.fanout ?? DEFAULT_FLEET_FANOUT },
    diagnostics,
  };
}

/** Why a URL read from the repository may not be called, or undefined when it may. */
export function urlProblem(text: string, pattern: boolean): string | undefined {
  if (text.length > MAX_URL) return `is longer than ${MAX_URL} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f-\u009f]/.test(text)) return 'contains a space or a control character';
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `is not a URL${pattern ? ' (once {host} and {address} are replaced)' : ''}`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (u.username || u.password) return 'must not hold credentials (the relay signs with the webhook secret)';
  if (u.search || u.hash || text.includes('?') || text.includes('#')) return 'must not have a query or a fragment';
  if (!u.hostname) return 'has no host';
  return undefined;
}

function nodeAt(doc: Document, path: (string | number)[], key: boolean): Node | undefined {
  if (!key) {
    const n = doc.getIn(path, true);
    return isNode(n) ? n : undefined;
  }
  // The key itself, so that an unknown key is reported where it is written.
  const parent = doc.getIn(path.slice(0, -1), true) as { items?: { key: unknown }[] } | undefined;
  const last = path[path.length - 1];
  for (const item of parent?.items ?? []) {
    const k = item.key as { value?: unknown } | undefined;
    if (isNode(k) && k.value === last) return k;
  }
  return isNode(parent) ? parent : undefined;
}

function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const k = `${d.line}:${d.column}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
