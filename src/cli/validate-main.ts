/**
 * `kaidu validate …` with only that command registered: the entry of the launcher's code-cached
 * validate build (scripts/bundle.mjs, bin/kaidu.js). Same commander program and same command as
 * main.ts, so its output, errors and exit codes are the same.
 */
import type { CommandContext } from './context.js';
import { register as validate } from './commands/validate.js';
import { runCli } from './program.js';

export async function main(argv: string[], overrides: Partial<CommandContext> = {}): Promise<number> {
  return runCli(argv, [validate], overrides);
}
