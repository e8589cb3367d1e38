/**
 * Readiness: a node is reported running only once it answers. One probe kind per spec, as
 * Kubernetes users know them: `tcp` (a port accepts connections), `http` (a GET answers 2xx/3xx),
 * `command` (exits 0), probed by `readiness.ts`. The probe is retried until it passes or `timeout`
 * runs out, which fails the action with the last probe's failure. Shared by every delegate that starts something; a
 * delegate says where a command probe runs (a container runs it through `exec`).
 */
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import type { CommandRunner } from './types.js';
import { attempt, waitUntilReady, type ReadinessCheck } from './readiness.js';

export interface ReadinessSpec {
  tcp?: { host: string; port: number };
  http?: string;
  command?: string[];
  /** Seconds the node has to become ready. */
  timeoutS: number;
}

/** Default seconds to become ready. */
export const READINESS_TIMEOUT_S = 60;
/** One probe may take at most this long (a port that swallows SYNs must not eat the whole budget). */
const PROBE_TIMEOUT_MS = 5_000;

/**
 * Reads the `readiness` property (`{ tcp: 8080 | "host:port", http: URL, command: [argv], timeout: s }`).
 * Exactly one probe kind; anything else is a clear error naming the node.
 */
export function parseReadiness(value: PlainValue | undefined, nodeId: string): ReadinessSpec | undefined {
  if (value === undefined || value === null) return undefined;
  const bad = (why: string) => new KaiduError('E_DELEGATE', `${nodeId}: readiness ${why}`);
  if (typeof value !== 'object' || Array.isArray(value)) throw bad('must be a map with one of tcp, http, command');
  const kinds = (['tcp', 'http', 'command'] as const).filter((k) => value[k] !== undefined && value[k] !== null);
  if (kinds.length === 0) return undefined;
  if (kinds.length > 1) throw bad(`gives ${kinds.join(' and ')}: give one probe`);
  const t = value.timeout;
  const timeoutS = t === undefined || t === null ? READINESS_TIMEOUT_S : typeof t === 'number' && t > 0 ? t : NaN;
  if (!Number.isFinite(timeoutS)) throw bad('timeout must be a positive number of seconds');
  const spec: ReadinessSpec = { timeoutS };
  if (kinds[0] === 'tcp') {
    const raw = String(value.tcp);
    const m = /^(?:\[?([^\]]+?)\]?:)?(\d{1,5})$/.exec(raw);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) throw bad(`tcp "${raw}" is not a port or host:port`);
    spec.tcp = { host: m[1] ?? '127.0.0.1', port };
  } else if (kinds[0] === 'http') {
    const url = typeof value.http === 'string' ? value.http : '';
    if (!/^https?:\/\//.test(url)) throw bad(`http "${String(value.http)}" is not an http:// or https:// URL`);
    spec.http = url;
  } else {
    const argv = Array.isArray(value.command) ? value.command.map(String) : [];
    if (argv.length === 0) throw bad('command must be a non-empty list of arguments');
    spec.command = argv;
  }
  return spec;
}

export interface ProbeEnv {
  runner: CommandRunner;
  signal: AbortSignal;
  /** Turns a command probe's argv into the argv that runs it where the node lives. */
  wrapCommand?: (argv: string[]) => string[];
}

/** The spec as the check `readiness.ts` runs, a command wrapped to run where the node lives. */
function checkOf(spec: ReadinessSpec, env: ProbeEnv): ReadinessCheck {
  if (spec.tcp) return { kind: 'tcp', host: spec.tcp.host, port: spec.tcp.port };
  if (spec.http) return { kind: 'http', url: spec.http };
  return { kind: 'command', argv: env.wrapCommand ? env.wrapCommand(spec.command!) : spec.command! };
}

/** One probe: undefined when ready, else why not. */
export function probeOnce(spec: ReadinessSpec, env: ProbeEnv): Promise<string | undefined> {
  return attempt(checkOf(spec, env), { runner: env.runner, signal: env.signal, timeoutMs: PROBE_TIMEOUT_MS });
}

/**
 * Probes until ready, backing off up to 1 s between tries; past the timeout the action fails with
 * E_DELEGATE_TIMEOUT naming the last failure. `stillAlive` lets a delegate stop early when what it
 * started is already gone (no point waiting a minute on a dead container).
 */
export async function waitReady(spec: ReadinessSpec, env: ProbeEnv, what: string, stillAlive?: () => Promise<string | undefined>): Promise<void> {
  const outcome = await waitUntilReady([checkOf(spec, env)], {
    timeoutMs: spec.timeoutS * 1000,
    runner: env.runner,
    signal: env.signal,
    maxDelayMs: 1000,
    ...(stillAlive ? { gone: stillAlive } : {}),
  });
  if (outcome.ready) return;
  if ('gone' in outcome) throw new KaiduError('E_DELEGATE', `${what} is not ready and will not be: ${outcome.gone}`);
  if (env.signal.aborted) throw new KaiduError('E_APPLY_CANCELLED', `${what}: cancelled while waiting for readiness`);
  throw new KaiduError('E_DELEGATE_TIMEOUT', `${what} was not ready within ${spec.timeoutS}s: ${outcome.lastError}`);
}
