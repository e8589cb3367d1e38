/** Runs `kaidu ARGV` in-process with captured output, for the review, trigger and init commands. */
import { Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { isKaiduError } from '../../src/errors/kaidu-error.js';
import { EXIT_FAILURE, EXIT_USAGE, type CommandContext } from '../../src/cli/context.js';
import { commands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

type Register = (program: Command, ctx: CommandContext) => void;

/**
 * Runs `kaidu ARGV`: through the real `main()` once the commands are registered there, else on a
 * program wired the way main() wires it (same output, same error handling, same exit codes).
 */
export async function runKaidu(argv: string[], registers: Register[], overrides: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = new Writable({ write(chunk, _enc, cb) { stdout += String(chunk); cb(); } });
  const err = new Writable({ write(chunk, _enc, cb) { stderr += String(chunk); cb(); } });
  const base = { stdout: out, stderr: err, cwd: overrides.cwd ?? process.cwd(), env: overrides.env ?? {} };
  if (registers.every((r) => commands.includes(r))) {
    const code = await main(argv, base);
    return { code, stdout, stderr };
  }
  let exitCode = 0;
  const ctx: CommandContext = { ...base, setExitCode: (c) => (exitCode = c) };
  const program = new Command('kaidu').exitOverride().configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  for (const r of registers) r(program, ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode === 0 ? 0 : EXIT_USAGE, stdout, stderr };
    if (isKaiduError(e)) {
      err.write(`kaidu: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
      return { code: e.code === 'E_USAGE' ? EXIT_USAGE : EXIT_FAILURE, stdout, stderr };
    }
    throw e;
  }
  return { code: exitCode, stdout, stderr };
}
