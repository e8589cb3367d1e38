import type { Command } from 'commander';
import { runDemo } from '../../demo/run-demo.js';
import type { CommandContext } from '../context.js';
import { useColor } from '../../plan/index.js';

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description('deploy examples/web-db with a local hub and two agents, then clean up')
    .option('--keep', 'keep the demo folder (logs, hub) afterwards')
    .action(async (flags: { keep?: boolean }) => {
      ctx.setExitCode(await runDemo({ out: ctx.stdout, color: useColor(ctx.stdout as { isTTY?: boolean }, ctx.env), ...(flags.keep ? { keep: true } : {}) }));
    });
}
