/**
 * Readiness: when a started workload really serves. A delegate reports a node `running` only once
 * its check passes; a workload that ends first failed, and one that is still not ready when the
 * time is up failed too. Shared by every delegate that starts something (Process, Container).
 *
 * Checks are attempts repeated with a short back-off (a refused TCP connection to the same machine
 * costs microseconds), never a fixed wait: a server that listens after 40 ms is ready after 40 ms.
 */
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CommandRunner } from './types.js';

export type ReadinessCheck =
  /** A TCP connection to host:port is accepted. */
  | { kind: 'tcp'; host: string; port: number }
  /** An HTTP GET answers 2xx or 3xx, as a Kubernetes probe counts it (or exactly the status given). */
  | { kind: 'http'; url: string; status?: number }
  /** The command exits 0. */
  | { kind: 'command'; argv: string[] }
  /** A check the caller supplies (e.g. a port listening inside a workload): undefined when it passed, else why not. */
  | { kind: 'probe'; what: string; probe: () => Promise<string | undefined> };

export type ReadinessOutcome =
  | { ready: true; ms: number }
  /** The workload ended before it was ready: `detail` is what `gone` reported. */
  | { ready: false; gone: string; ms: number }
  | { ready: false; timedOut: true; ms: number; lastError: string };

export interface ReadinessOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Looked at between attempts: a non-empty answer means the workload ended (e.g. its exit record). */
  gone?: () => Promise<string | undefined>;
  signal?: AbortSignal;
  /** For `command` checks. */
  runner?: CommandRunner;
  /** Longest pause between attempts (default 20 ms; a command probe that spawns `docker exec` wants more). */
  maxDelayMs?: number;
}

/** The address to connect to for a port bound on `address` (a wildcard bind is reached on loopback). */
export function connectAddress(address: string | undefined): string {
  if (!address || address === '0.0.0.0') return '127.0.0.1';
  if (address === '::' || address === '[::]') return '::1';
  return address;
}

/** One attempt; resolves with undefined when it passed, else with why not. */
export function attempt(check: ReadinessCheck, opts: { runner?: CommandRunner; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string | undefined> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  if (check.kind === 'tcp') {
    return new Promise((resolve) => {
      const socket = connect({ host: check.host, port: check.port });
      const done = (why: string | undefined) => {
        socket.destroy();
        resolve(why);
      };
      socket.setTimeout(timeoutMs, () => done(`no answer from ${check.host}:${check.port} within ${timeoutMs} ms`));
      socket.once('connect', () => done(undefined));
      socket.once('error', (err: NodeJS.ErrnoException) => done(`${check.host}:${check.port}: ${err.code ?? err.message}`));
    });
  }
  if (check.kind === 'http') {
    return new Promise((resolve) => {
      const request = check.url.startsWith('https:') ? httpsRequest : httpRequest;
      const req = request(check.url, { method: 'GET', timeout: timeoutMs }, (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        const ok = check.status === undefined ? code >= 200 && code < 400 : code === check.status;
        resolve(ok ? undefined : `${check.url} answered ${res.statusCode}`);
      });
      req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.once('error', (err: NodeJS.ErrnoException) => resolve(`${check.url}: ${err.code ?? err.message}`));
      req.end();
    });
  }
  if (check.kind === 'probe') return check.probe().catch((err: Error) => `${check.what}: ${err.message}`);
  const runner = opts.runner;
  if (!runner) return Promise.resolve('a command check needs a command runner');
  return runner.run({ argv: check.argv, timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) }).then(
    (r) => {
      if (r.exitCode === 0) return undefined;
      const said = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ');
      return `${check.argv.join(' ')} exited with ${r.exitCode}${said ? `: ${said}` : ''}`;
    },
    (err: Error) => `${check.argv.join(' ')}: ${err.message}`,
  );
}

/**
 * A local check (a refused connection, an exit file read) costs tens of microseconds, while every
 * pause is time a started workload sits ready and unreported (on average half the pause): a
 * process update waits on this for each start.
 */
const DEFAULT_MAX_DELAY_MS = 20;

const pause = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Repeats every check until all pass, the workload is gone, the time is up or the signal aborts
 * (reported as timed out: the caller's own abort handling says why).
 */
export async function waitUntilReady(checks: readonly ReadinessCheck[], opts: ReadinessOptions): Promise<ReadinessOutcome> {
  const start = Date.now();
  const elapsed = () => Date.now() - start;
  let pending = [...checks];
  let lastError = '';
  let delay = 5;
  for (;;) {
    const gone = await opts.gone?.();
    if (gone) return { ready: false, gone, ms: elapsed() };
    const still: ReadinessCheck[] = [];
    for (const check of pending) {
      const why = await attempt(check, { ...(opts.runner ? { runner: opts.runner } : {}), ...(opts.signal ? { signal: opts.signal } : {}), timeoutMs: Math.max(100, Math.min(2000, opts.timeoutMs - elapsed())) });
      if (why !== undefined) {
        still.push(check);
        lastError = why;
      }
    }
    pending = still;
    if (pending.length === 0) {
      // Passed, but a workload that ended in the meantime is not ready: one last look.
      const after = await opts.gone?.();
      return after ? { ready: false, gone: after, ms: elapsed() } : { ready: true, ms: elapsed() };
    }
    if (elapsed() >= opts.timeoutMs || opts.signal?.aborted) return { ready: false, timedOut: true, ms: elapsed(), lastError };
    await pause(Math.min(delay, Math.max(1, opts.timeoutMs - elapsed())), opts.signal);
    delay = Math.min(delay * 2, opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
  }
}

/** A port a node serves on, as its Port node discovered it. */
export interface ServedPort {
  /** Instance id of the `kaidu:Port` node. */
  node: string;
  port: number;
  address: string;
  protocol: 'tcp' | 'udp';
}

