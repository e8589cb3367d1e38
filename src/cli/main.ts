import type { CommandContext } from './context.js';
import { commands } from './commands/index.js';
import { runCli } from './program.js';

export async function main(argv: string[], overrides: Partial<CommandContext> = {}): Promise<number> {
  return runCli(argv, commands, overrides);
}
