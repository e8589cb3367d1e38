import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import type { UiFlags } from '../ui-server.js';

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('ui')
    .description('serve the fleet page (topology, status, plan, passes) for a checkout or a hub')
    .argument('[path]', 'repository checkout (default: the current one)')
    .option('--repo <url|path>', 'a hub (smart HTTP URL or local path) instead of a checkout')
    .option('--branch <name>', 'branch of the hub', 'main')
    .option('--listen <host:port>', 'where to serve the page', '127.0.0.1:7080')
    .option('--api-token-file <file>', 'require this bearer token for the page and its data')
    .option('-C, --dir <path>', 'repository checkout (same as PATH)')
    .option('--json', 'print where the page is as one JSON line')
    .action(async (path: string | undefined, flags: UiFlags & { dir?: string }) => {
      // fastify, isomorphic-git and the page's views load only when the page is served.
      const { serveUi } = await import('../ui-server.js');
      await serveUi(flags.dir ?? path, flags, ctx);
    });
}
