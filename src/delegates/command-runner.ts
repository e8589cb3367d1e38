import { spawn } from 'node:child_process';
import { KaiduError } from '../errors/kaidu-error.js';
import type { CommandResult, CommandRunner, CommandSpec } from './types.js';

const MAX_OUTPUT = 1024 * 1024;

/** Runs argv arrays (never a shell line built from user values), with a timeout and captured output. */
export class SystemCommandRunner implements CommandRunner {
  constructor(private readonly defaultTimeoutMs = 60_000) {}

  run(spec: CommandSpec): Promise<CommandResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const [cmd, ...args] = spec.argv;
      if (!cmd) return reject(new KaiduError('E_COMMAND_FAILED', 'empty command'));
      const child = spawn(cmd, args, { cwd: spec.cwd, env: spec.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout = (stdout + c.toString()).slice(-MAX_OUTPUT)));
      child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-MAX_OUTPUT)));
      const timeoutMs = spec.timeoutMs ?? this.defaultTimeoutMs;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      const onAbort = () => child.kill('SIGTERM');
      spec.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new KaiduError('E_COMMAND_FAILED', `cannot run ${spec.argv.join(' ')}: ${err.message}`, { cause: err }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        spec.signal?.removeEventListener('abort', onAbort);
        if (timedOut) return reject(new KaiduError('E_COMMAND_TIMEOUT', `${spec.argv.join(' ')} did not finish within ${Math.round(timeoutMs / 1000)}s`));
        resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr, durationMs: Date.now() - started });
      });
      if (spec.input !== undefined) child.stdin.end(spec.input);
      else child.stdin.end();
    });
  }
}

export interface RecordedReply {
  match: (argv: string[]) => boolean;
  reply: Partial<CommandResult>;
}

/** Records every command instead of running it; scripted replies by matcher (default: exit 0). */
export class RecordingRunner implements CommandRunner {
  readonly calls: CommandSpec[] = [];
  private readonly replies: RecordedReply[] = [];

  on(match: string | RegExp | ((argv: string[]) => boolean), reply: Partial<CommandResult>): this {
    const fn = typeof match === 'function' ? match : typeof match === 'string' ? (a: string[]) => a.join(' ').startsWith(match) : (a: string[]) => match.test(a.join(' '));
    this.replies.push({ match: fn, reply });
    return this;
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    this.calls.push(spec);
    const r = this.replies.find((x) => x.match(spec.argv))?.reply ?? {};
    return { exitCode: r.exitCode ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '', durationMs: 0 };
  }

  /** The argv of every call, one line each: what tests pin. */
  get lines(): string[] {
    return this.calls.map((c) => c.argv.join(' '));
  }
}

export function tail(text: string, lines = 20): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/** A failed command as an error that names it and shows the end of its stderr. */
export function commandFailed(result: CommandResult, spec: CommandSpec): KaiduError {
  return new KaiduError('E_COMMAND_FAILED', `${spec.argv.join(' ')} exited with ${result.exitCode}${result.stderr.trim() ? `\n${tail(result.stderr)}` : ''}`);
}

/** Runs and throws on a non-zero exit. */
export async function runChecked(runner: CommandRunner, spec: CommandSpec): Promise<CommandResult> {
  const r = await runner.run(spec);
  if (r.exitCode !== 0) throw commandFailed(r, spec);
  return r;
}
