import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { PlainValue, StateSnapshot } from '../../state/model.js';
import type { SourceReader } from '../../tosca/model.js';
import type { CommandContext } from '../context.js';

/** Attributes worth a column: what a sysadmin looks for first. */
const KEY_ATTRIBUTES = ['pid', 'port', 'address', 'path', 'container_id', 'pod_id', 'uuid', 'exit_code'];

export interface StatusRow {
  host: string;
  service: string;
  node: string;
  type: string;
  status: string;
  revision: string;
  appliedAt: string;
  attributes: Record<string, PlainValue>;
  error?: string;
}

export function statusRows(snapshot: StateSnapshot): StatusRow[] {
  const rows: StatusRow[] = [];
  for (const host of Object.keys(snapshot).sort()) {
    for (const service of Object.keys(snapshot[host]!).sort()) {
      const st = snapshot[host]![service]!;
      for (const node of Object.keys(st.nodes).sort()) {
        const n = st.nodes[node]!;
        rows.push({ host, service, node, type: n.type, status: n.status, revision: n.revision, appliedAt: n.appliedAt, attributes: n.attributes, ...(n.error ? { error: n.error } : {}) });
      }
    }
  }
  return rows;
}

export function renderStatusTable(rows: StatusRow[]): string {
  if (rows.length === 0) return 'No state recorded yet: no agent has applied anything.\n';
  const table = [['HOST', 'SERVICE', 'NODE', 'TYPE', 'STATUS', 'DETAILS', 'REVISION']];
  for (const r of rows) {
    const details = KEY_ATTRIBUTES.filter((k) => r.attributes[k] !== undefined && r.attributes[k] !== null)
      .map((k) => `${k}=${typeof r.attributes[k] === 'string' ? r.attributes[k] : JSON.stringify(r.attributes[k])}`)
      .join(' ');
    table.push([r.host, r.service, r.node, r.type.replace(/^kaidu:/, ''), r.status, r.error ? `${details} error: ${r.error.split('\n')[0]!.slice(0, 60)}`.trim() : details, r.revision.slice(0, 10)]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('status')
    .description('hosts × services × nodes with their status, from state/ (no agent needed)')
    .argument('[path]', 'repository checkout (default: the current one)')
    .option('--repo <url>', 'read a remote repository (smart HTTP URL or path) instead of a checkout')
    .option('--branch <name>', 'branch of the remote repository', 'main')
    .option('--host <name>', 'only this host')
    .option('--json', 'machine-readable output')
    .action(async (path: string | undefined, flags: { repo?: string; branch: string; host?: string; json?: boolean }) => {
      const [{ loadState }, { formatDiagnostic }, { parseSettings }, { workingTree }] = await Promise.all([
        import('../../state/load.js'),
        import('../../tosca/diagnostic.js'),
        import('../../repository/settings.js'),
        import('../plan-source.js'),
      ]);
      let reader: SourceReader;
      let cleanup: (() => Promise<void>) | undefined;
      if (flags.repo) {
        const dataDir = await mkdtemp(join(tmpdir(), 'kaidu-status-'));
        cleanup = () => rm(dataDir, { recursive: true, force: true });
        const tokenEnv = ctx.env.KAIDU_GIT_TOKEN ? 'KAIDU_GIT_TOKEN' : undefined;
        const { openHub } = await import('../../git/index.js');
        const hub = await openHub({ url: flags.repo, dataDir, branch: flags.branch, ...(tokenEnv ? { auth: { tokenEnv } } : {}) });
        reader = hub.reader(await hub.fetch());
      } else {
        reader = (await workingTree(path ?? ctx.cwd)).reader;
      }
      try {
        const { settings } = parseSettings((await reader.readFile('kaidu.yaml'))?.text);
        const loaded = await loadState(reader, settings.stateDir, flags.host);
        for (const d of loaded.diagnostics) ctx.stderr.write(formatDiagnostic(d) + '\n');
        const rows = statusRows(loaded.snapshot);
        if (flags.json) ctx.stdout.write(JSON.stringify({ nodes: rows, diagnostics: loaded.diagnostics }, null, 2) + '\n');
        else ctx.stdout.write(renderStatusTable(rows));
        if (loaded.diagnostics.some((d) => d.severity === 'error')) ctx.setExitCode(1);
      } finally {
        await cleanup?.();
      }
    });
}
