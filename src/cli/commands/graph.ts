import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { KaiduError } from '../../errors/kaidu-error.js';
import { buildTopology, renderGraph, type GraphFormat } from '../../topology/index.js';
import { formatDiagnostic, hasErrors } from '../../tosca/diagnostic.js';
import { exitCodeFor } from '../exit-code.js';
import { loadRepository } from '../../repository/index.js';
import type { CommandContext } from '../context.js';
import { profilesReader } from '../fs-reader.js';
import { workingTree } from '../plan-source.js';

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('graph')
    .description('draw the topology: what runs on which host and what it needs')
    .argument('[service]', 'only this service')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'mermaid', 'dot', 'json']).default('text'))
    .option('--out <file>', 'write to a file instead of standard output')
    .option('-C, --dir <path>', 'repository (default: the current one)')
    .action(async (service: string | undefined, flags: { format: GraphFormat; out?: string; dir?: string }) => {
      const view = await workingTree(flags.dir ?? ctx.cwd);
      const repo = await loadRepository(view.reader, { profiles: profilesReader() });
      for (const d of repo.diagnostics) ctx.stderr.write(formatDiagnostic(d) + '\n');
      let topology = repo.topology;
      if (service) {
        const svc = repo.services.find((s) => s.name === service);
        if (!svc) throw new KaiduError('E_USAGE', `no service "${service}"${repo.failedServices.includes(service) ? ' that compiles' : ''}`, { hint: `services: ${repo.services.map((s) => s.name).join(', ') || 'none'}` });
        topology = buildTopology([svc, ...repo.services.filter((s) => s !== svc).map((s) => ({ ...s, nodes: Object.fromEntries(Object.entries(s.nodes).filter(([, n]) => n.types.includes('kaidu:Host'))) }))]);
      }
      const text = renderGraph(topology, flags.format);
      if (flags.out) await writeFile(flags.out, text);
      else ctx.stdout.write(text);
      if (hasErrors(repo.diagnostics) || hasErrors(topology.diagnostics)) ctx.setExitCode(exitCodeFor([...repo.diagnostics, ...topology.diagnostics]));
    });
}
