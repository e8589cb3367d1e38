import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description('deploy examples/web-db with a local hub and two agents, then clean up')
    .option('--keep', 'keep the demo folder (logs, hub) afterwards')
    .action(async (flags: { keep?: boolean }) => {
      const { runDemo } = await import('../../demo/run-demo.js');
      ctx.setExitCode(await runDemo({ out: ctx.stdout, ...(flags.keep ? { keep: true } : {}) }));
    });
}
