import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description('deploy examples/web-db with a local hub and two agents, then clean up')
    .option('--keep', 'keep the demo folder (logs, hub) afterwards')
    .action(async (flags: { keep?: boolean }) => {
      const [{ runDemo }, { useColor }] = await Promise.all([import('../../demo/run-demo.js'), import('../../plan/index.js')]);
      ctx.setExitCode(await runDemo({ out: ctx.stdout, color: useColor(ctx.stdout as { isTTY?: boolean }, ctx.env), ...(flags.keep ? { keep: true } : {}) }));
    });
}
