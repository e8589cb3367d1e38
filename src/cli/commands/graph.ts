import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { KaiduError } from '../../errors/kaidu-error.js';
import type { GraphFormat } from '../../topology/index.js';
import { exitCodeFor } from '../exit-code.js';
import type { CommandContext } from '../context.js';
import { DIR_OPTION, repoDir } from '../repo-dir.js';

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('graph')
    .description('draw the topology: what runs on which host and what it needs')
    .argument('[service]', 'only this service')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'mermaid', 'dot', 'json']).default('text'))
    .option('--json', 'same as --format json')
    .option('--out <file>', 'write to a file instead of standard output')
    .option(...DIR_OPTION)
    .action(async (service: string | undefined, flags: { format: GraphFormat; out?: string; dir?: string; json?: boolean }) => {
      const [{ buildTopology, renderGraph }, { formatDiagnostic, hasErrors }, { loadRepository }, { profilesReader }, { workingTree }] = await Promise.all([
        import('../../topology/index.js'),
        import('../../tosca/diagnostic.js'),
        import('../../repository/index.js'),
        import('../fs-reader.js'),
        import('../plan-source.js'),
      ]);
      const view = await workingTree(repoDir(ctx, 'graph', flags.dir, undefined));
      const repo = await loadRepository(view.reader, { profiles: profilesReader() });
      for (const d of repo.diagnostics) ctx.stderr.write(formatDiagnostic(d) + '\n');
      let topology = repo.topology;
      if (service) {
        const svc = repo.services.find((s) => s.name === service);
        if (!svc) throw new KaiduError('E_USAGE', `no service "${service}"${repo.failedServices.includes(service) ? ' that compiles' : ''}`, { hint: `services: ${repo.services.map((s) => s.name).join(', ') || 'none'}` });
        topology = buildTopology([svc, ...repo.services.filter((s) => s !== svc).map((s) => ({ ...s, nodes: Object.fromEntries(Object.entries(s.nodes).filter(([, n]) => n.types.includes('kaidu:Host'))) }))]);
      }
      const text = renderGraph(topology, flags.json ? 'json' : flags.format);
      if (flags.out) await writeFile(flags.out, text);
      else ctx.stdout.write(text);
      if (hasErrors(repo.diagnostics) || hasErrors(topology.diagnostics)) ctx.setExitCode(exitCodeFor([...repo.diagnostics, ...topology.diagnostics]));
    });
}
