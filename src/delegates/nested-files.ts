/**
 * kaidu:ConfigFile and kaidu:Directory inside the workload they are hosted on, written through
 * its exec with POSIX sh (paths and contents as arguments and stdin, never as shell text).
 */
import { posix } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import { execFailed, notThere, type NestedHost } from './nested-host.js';
import type { DelegateContext, InspectResult } from './types.js';

/** An absolute, normalized path inside the workload. */
export function insidePath(ctx: DelegateContext, raw: unknown, what: string): string {
  if (typeof raw !== 'string' || !raw) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "${what}" is required`);
  if (raw.includes('\0') || raw.includes('\n')) throw new KaiduError('E_PATH_CONFINED', `${ctx.node.id}: "${what}" contains a NUL or newline character`);
  if (!posix.isAbsolute(raw)) throw new KaiduError('E_PATH_CONFINED', `${ctx.node.id}: "${what}" must be an absolute path, not ${JSON.stringify(raw)}`);
  return posix.resolve(raw);
}

/** Runs a script inside; exit codes in `expected` are answers, anything else a failure explained by the workload's state. */
async function run(ctx: DelegateContext, host: NestedHost, what: string, script: string, args: string[], opts: { input?: string; expected?: number[] } = {}): Promise<{ code: number; stdout: string }> {
  const r = await host.exec(ctx.runner, ['sh', '-c', script, 'kaidu', ...args], { ...(opts.input !== undefined ? { input: opts.input } : {}), signal: ctx.signal });
  if (r.exitCode === 0 || opts.expected?.includes(r.exitCode)) {
    // An answer from the script, unless the runtime itself failed with the same code: then the workload is not running.
    if (r.exitCode !== 0) {
      const s = await host.state(ctx.runner);
      if (s !== 'running') throw notThere(host, s, `${what} for ${ctx.node.id}`);
    }
    return { code: r.exitCode, stdout: r.stdout };
  }
  const s = await host.state(ctx.runner);
  if (s !== 'running') throw notThere(host, s, `${what} for ${ctx.node.id}`);
  throw execFailed(host, `${what} for ${ctx.node.id}`, r);
}

/** Exit 0 with the content, 3 when the file is absent. */
const READ = `if [ -f "$1" ]; then cat -- "$1"; else exit 3; fi`;
/** stdin to $1 atomically (a temporary file beside it, then renamed), mode $2. */
const WRITE = `set -e; t="$1.kaidu-new"; mkdir -p "$(dirname -- "$1")"; cat >"$t"; chmod "$2" "$t"; mv -f "$t" "$1"`;
const CHMOD = `chmod "$2" "$1"`;
const RM_FILE = `rm -f -- "$1"`;
/** 0 present, 3 absent. */
const EXISTS = `if [ -e "$1" ]; then exit 0; else exit 3; fi`;
const MKDIR = `set -e; mkdir -p -- "$1"; chmod "$2" "$1"; if [ -n "$3" ]; then chown "$3" "$1"; fi`;
const RM_DIR = `rm -rf -- "$1"`;

export class NestedConfigFile {
  async write(ctx: DelegateContext, host: NestedHost, path: string, content: string, mode: number): Promise<void> {
    const current = await run(ctx, host, `reading ${path}`, READ, [path], { expected: [3] });
    const m = mode.toString(8).padStart(4, '0');
    // Unchanged content is not rewritten (nothing watching it reloads); the mode still applies.
    if (current.code === 0 && current.stdout === content) await run(ctx, host, `chmod ${path}`, CHMOD, [path, m]);
    else await run(ctx, host, `writing ${path}`, WRITE, [path, m], { input: content });
  }

  /** A file in a workload that is gone went with it; one in a stopped workload cannot be removed (an error, not a success). */
  async remove(ctx: DelegateContext, host: NestedHost, path: string): Promise<void> {
    const s = await host.state(ctx.runner);
    if (s === 'absent') return;
    if (s === 'stopped') throw notThere(host, s, `removing ${path} for ${ctx.node.id}`);
    await run(ctx, host, `removing ${path}`, RM_FILE, [path]);
  }
}

export class NestedDirectory {
  async make(ctx: DelegateContext, host: NestedHost, path: string, mode: number, owner: string | undefined, group: string | undefined): Promise<void> {
    const who = owner || group ? `${owner ?? ''}${group ? `:${group}` : ''}` : '';
    await run(ctx, host, `creating ${path}`, MKDIR, [path, mode.toString(8).padStart(4, '0'), who]);
  }

  async purge(ctx: DelegateContext, host: NestedHost, path: string): Promise<void> {
    if (path.split('/').filter(Boolean).length < 2) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: refusing to purge ${path} in ${host.description}`, { hint: 'purge only removes a directory at least two levels deep' });
    const s = await host.state(ctx.runner);
    if (s === 'absent') return;
    if (s === 'stopped') throw notThere(host, s, `purging ${path} for ${ctx.node.id}`);
    await run(ctx, host, `removing ${path}`, RM_DIR, [path]);
  }
}

/** Whether a path exists inside; a gone or stopped workload holds nothing that is "running". */
export async function inspectPath(ctx: DelegateContext, host: NestedHost, path: string | undefined): Promise<InspectResult> {
  const attributes = ctx.previous?.attributes ?? {};
  if (!path) return { exists: false, status: 'stopped', attributes };
  const s = await host.state(ctx.runner);
  if (s !== 'running') return { exists: false, status: 'stopped', attributes };
  const r = await run(ctx, host, `looking at ${path}`, EXISTS, [path], { expected: [3] });
  return { exists: r.code === 0, status: r.code === 0 ? 'running' : 'stopped', attributes };
}
