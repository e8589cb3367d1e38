import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('validate')
    .description('compile TOSCA service templates and report every problem')
    .argument('[paths...]')
    .action(() => {
      ctx.stderr.write('validate: not implemented yet\n');
      ctx.setExitCode(1);
    });
}
