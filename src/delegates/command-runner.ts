import { spawn } from 'node:child_process';
import { KaiduError } from '../errors/kaidu-error.js';
import type { CommandResult, CommandRunner, CommandSpec } from './types.js';

/** Captured stdout and stderr keep at most this much each (the end, which is what explains a failure). */
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/** After the command itself ended, how long to wait for grandchildren that still hold its pipes. */
const PIPE_GRACE_MS = 200;

/** The last `max` bytes of a stream, kept without quadratic copying. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.max) this.size -= this.chunks.shift()!.length;
  }
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/** argv as a person would read (and could paste) it: arguments with spaces or quotes are quoted. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (a === '' || /[^\w@%+=:,./-]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(' ');
}

/**
 * Runs argv arrays (never a shell line built from user values) with a timeout and captured output.
 * Each command leads its own process group, so a timeout or a cancellation also ends whatever the
 * command started (a script's background jobs would otherwise hold its pipes open forever).
 */
export class SystemCommandRunner implements CommandRunner {
  constructor(private readonly defaultTimeoutMs = 60_000) {}

  run(spec: CommandSpec): Promise<CommandResult> {
    const started = Date.now();
    const shown = formatArgv(spec.argv);
    return new Promise((resolve, reject) => {
      const [cmd, ...args] = spec.argv;
      if (!cmd) return reject(new KaiduError('E_COMMAND_FAILED', 'empty command'));
      if (spec.signal?.aborted) return reject(new KaiduError('E_APPLY_CANCELLED', `${shown} was not started: cancelled`));
      const child = spawn(cmd, args, { cwd: spec.cwd, env: spec.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const stdout = new TailBuffer(MAX_OUTPUT_BYTES);
      const stderr = new TailBuffer(MAX_OUTPUT_BYTES);
      child.stdout.on('data', (c: Buffer) => stdout.push(c));
      child.stderr.on('data', (c: Buffer) => stderr.push(c));
      // EPIPE when a command does not read its input is not our failure.
      child.stdin.on('error', () => undefined);
      const timeoutMs = spec.timeoutMs ?? this.defaultTimeoutMs;
      let ended: 'timeout' | 'abort' | undefined;
      let settled = false;
      const killGroup = (sig: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, sig);
        } catch {
          child.kill(sig);
        }
      };
      const timer = setTimeout(() => {
        ended = 'timeout';
        killGroup('SIGKILL');
      }, timeoutMs);
      const onAbort = () => {
        ended ??= 'abort';
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), 2_000).unref();
      };
      spec.signal?.addEventListener('abort', onAbort, { once: true });
      let pipeTimer: NodeJS.Timeout | undefined;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(pipeTimer);
        spec.signal?.removeEventListener('abort', onAbort);
        if (ended === 'timeout') return reject(new KaiduError('E_COMMAND_TIMEOUT', `${shown} did not finish within ${Math.round(timeoutMs / 100) / 10}s and was killed`, { details: { argv: spec.argv, stderr: tail(stderr.toString()) } }));
        if (ended === 'abort') return reject(new KaiduError('E_APPLY_CANCELLED', `${shown} was cancelled`, { details: { argv: spec.argv } }));
        resolve({ exitCode: code ?? (signal ? 128 : 1), stdout: stdout.toString(), stderr: stderr.toString(), durationMs: Date.now() - started });
      };
      child.on('error', (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        spec.signal?.removeEventListener('abort', onAbort);
        reject(new KaiduError('E_COMMAND_FAILED', `cannot run ${shown}: ${err.message}`, { cause: err, details: { argv: spec.argv } }));
      });
      // 'close' waits for the pipes; if something the command left behind still holds them, the
      // command's own exit decides (after a short grace for the last output).
      child.on('exit', (code, signal) => {
        pipeTimer = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          finish(code, signal);
        }, PIPE_GRACE_MS);
      });
      child.on('close', (code, signal) => finish(code, signal));
      if (spec.input !== undefined) child.stdin.end(spec.input);
      else child.stdin.end();
    });
  }
}

export type CommandMatcher = string | RegExp | ((argv: string[]) => boolean);

export interface RecordedReply {
  match: (argv: string[]) => boolean;
  reply: Partial<CommandResult>;
}

/**
 * Records every command instead of running it. Replies are scripted by matcher (a string matches
 * the start of the space-joined argv, a RegExp anywhere in it); the first matching reply wins;
 * without one a command "succeeds" with exit 0 and no output.
 */
export class RecordingRunner implements CommandRunner {
  readonly calls: CommandSpec[] = [];
  private readonly replies: RecordedReply[] = [];

  on(match: CommandMatcher, reply: Partial<CommandResult>): this {
    const fn = typeof match === 'function' ? match : typeof match === 'string' ? (a: string[]) => a.join(' ').startsWith(match) : (a: string[]) => match.test(a.join(' '));
    this.replies.push({ match: fn, reply });
    return this;
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    this.calls.push(spec);
    const r = this.replies.find((x) => x.match(spec.argv))?.reply ?? {};
    return { exitCode: r.exitCode ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '', durationMs: 0 };
  }

  /** The argv of every call, one line each (space-joined): what tests pin. */
  get lines(): string[] {
    return this.calls.map((c) => c.argv.join(' '));
  }

  /** Forget what was recorded (replies stay). */
  clear(): void {
    this.calls.length = 0;
  }
}

export function tail(text: string, lines = 20): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/** A failed command as an error that names it and shows the end of its stderr (or stdout, if stderr is empty). */
export function commandFailed(result: CommandResult, spec: CommandSpec): KaiduError {
  const output = result.stderr.trim() ? result.stderr : result.stdout;
  return new KaiduError('E_COMMAND_FAILED', `${formatArgv(spec.argv)} exited with ${result.exitCode}${output.trim() ? `\n${tail(output)}` : ''}`, {
    details: { argv: spec.argv, exitCode: result.exitCode, stderr: tail(result.stderr) },
  });
}

/** Runs and throws on a non-zero exit. */
export async function runChecked(runner: CommandRunner, spec: CommandSpec): Promise<CommandResult> {
  const r = await runner.run(spec);
  if (r.exitCode !== 0) throw commandFailed(r, spec);
  return r;
}
