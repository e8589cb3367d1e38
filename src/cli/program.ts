import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isKaiduError } from '../errors/kaidu-error.js';
import { EXIT_FAILURE, EXIT_USAGE, type CommandContext } from './context.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Registers one `kaidu` sub-command on the program. */
export type RegisterCommand = (program: Command, ctx: CommandContext) => void;

/**
 * Runs `kaidu ARGV` with these sub-commands registered: the whole CLI (main.ts), or `validate` alone
 * (validate-main.ts, what the launcher's code-cached validate build holds).
 */
export async function runCli(argv: string[], commands: readonly RegisterCommand[], overrides: Partial<CommandContext> = {}): Promise<number> {
  let exitCode = 0;
  const ctx: CommandContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    ...overrides,
    setExitCode(code: number) {
      exitCode = code;
    },
  };
  const program = new Command('kaidu')
    .description('GitOps orchestrator for services on plain machines, driven by TOSCA in a git repository')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  for (const register of commands) register(program, ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (isKaiduError(err)) {
      ctx.stderr.write(`kaidu: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`);
      return err.code === 'E_USAGE' ? EXIT_USAGE : EXIT_FAILURE;
    }
    throw err;
  }
  return exitCode;
}
