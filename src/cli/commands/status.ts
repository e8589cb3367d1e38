import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { KaiduError, isKaiduError } from '../../errors/kaidu-error.js';
import type { PlainValue, StateSnapshot } from '../../state/model.js';
import type { SourceReader } from '../../tosca/model.js';
import type { CommandContext } from '../context.js';
import type { Hub } from '../../git/index.js';
// Types only: the git stack loads when the command runs, not when the CLI starts.
import type { HostLag } from '../fleet-source.js';
import { DIR_OPTION, repoDir } from '../repo-dir.js';

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

/** What an empty table means, said from what state/ holds (never a guess about the agents). */
export function emptyStatus(snapshot: StateSnapshot, stateDir: string, onlyHost?: string): string {
  const files = Object.keys(snapshot).sort().flatMap((h) => Object.keys(snapshot[h]!).sort().map((s) => `${stateDir}/${h}/${s}.yaml`));
  if (files.length > 0) {
    return `No nodes recorded: ${files.join(', ')} list${files.length === 1 ? 's' : ''} none (their nodes were deleted, or not applied yet).\n`;
  }
  return `No state${onlyHost ? ` for host ${onlyHost}` : ''}: no state branch (kaidu/state/<host>) and no state file in ${stateDir}/ (an agent commits ${stateDir}/<host>/<service>.yaml to its branch kaidu/state/<host> after its first pass that has something to apply).\n`;
}

/** A commit id is cut to 10 characters; anything else (`working-tree`) is shown whole. */
function shortRevision(rev: string): string {
  return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(rev) ? rev.slice(0, 10) : rev;
}

/** A pending node's recorded reason is a wait, not an error. */
function waitingFor(r: StatusRow): string | undefined {
  return r.status === 'pending' && r.error?.startsWith('waits for ') ? r.error.slice('waits for '.length).replace(/ to be running$/, '') : undefined;
}

export function renderStatusTable(rows: StatusRow[], empty = 'No nodes recorded.\n'): string {
  if (rows.length === 0) return empty;
  const table = [['HOST', 'SERVICE', 'NODE', 'TYPE', 'STATUS', 'DETAILS', 'REVISION']];
  for (const r of rows) {
    const details = KEY_ATTRIBUTES.filter((k) => r.attributes[k] !== undefined && r.attributes[k] !== null)
      .map((k) => `${k}=${typeof r.attributes[k] === 'string' ? r.attributes[k] : JSON.stringify(r.attributes[k])}`)
      .join(' ');
    const waits = waitingFor(r);
    const note = waits ? `waiting for ${waits}` : r.error ? `error: ${r.error.split('\n')[0]!.slice(0, 60)}` : '';
    table.push([r.host, r.service, r.node, r.type.replace(/^kaidu:/, ''), r.status, `${details} ${note}`.trim(), shortRevision(r.revision)]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** `3 behind`, `up to date`, `unknown`. */
function lagText(lag: HostLag): string {
  return lag.behind === null ? 'unknown' : lag.behind === 0 ? 'up to date' : `${lag.behind} behind`;
}

/** Per host: where its state was read, the last state commit, the templates revision it was computed from, how far behind. */
export function renderLagTable(hosts: HostLag[]): string {
  const table = [['HOST', 'STATE', 'STATE COMMIT', 'TEMPLATES REVISION', 'LAG']];
  for (const l of hosts) {
    table.push([l.host, l.source === 'branch' ? 'kaidu/state/' + l.host : 'templates branch (not migrated)', l.stateCommit?.slice(0, 10) ?? '-', l.templatesRevision ? shortRevision(l.templatesRevision) : 'unknown', lagText(l)]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** The git layer's hints speak to an agent (retries, --git-token-env); `status --repo` is a one-off read. */
function forStatus(err: unknown): unknown {
  if (!isKaiduError(err)) return err;
  const hint =
    err.code === 'E_GIT_AUTH' ? 'status --repo reads the token from the environment variable KAIDU_GIT_TOKEN'
    : err.code === 'E_GIT_UNREACHABLE' ? 'check the URL and that the server is up, then run kaidu status again'
    : err.code === 'E_GIT_NOT_FOUND' && /no branch/.test(err.message) ? 'pick the branch with --branch'
    : err.hint && /agent/.test(err.hint) ? undefined
    : err.hint;
  return new KaiduError(err.code, err.message, { cause: err.cause, ...(hint ? { hint } : {}) });
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('status')
    .description("hosts × services × nodes with their status, and each host's last state commit and lag, from the state branches (no agent needed)")
    .argument('[path]', 'deprecated: use -C')
    .option(...DIR_OPTION)
    .option('--repo <url>', 'read a remote repository (smart HTTP URL or path) instead of a checkout')
    .option('--branch <name>', 'branch of the remote repository', 'main')
    .option('--host <name>', 'only this host')
    .option('--json', 'machine-readable output')
    .action(async (path: string | undefined, flags: { repo?: string; branch: string; host?: string; json?: boolean; dir?: string }) => {
      const [{ fleetStateReader, fleetLag }, { formatDiagnostic }, { parseSettings }, { workingTree }] = await Promise.all([
        import('../fleet-source.js'),
        import('../../tosca/diagnostic.js'),
        import('../../repository/settings.js'),
        import('../plan-source.js'),
      ]);
      let reader: SourceReader;
      let source: { hub: Hub; remote: boolean } | undefined;
      let templatesTip: string | undefined;
      let cleanup: (() => Promise<void>) | undefined;
      if (flags.repo) {
        const dataDir = await mkdtemp(join(tmpdir(), 'kaidu-status-'));
        cleanup = () => rm(dataDir, { recursive: true, force: true });
        const tokenEnv = ctx.env.KAIDU_GIT_TOKEN ? 'KAIDU_GIT_TOKEN' : undefined;
        try {
          const { openHub } = await import('../../git/index.js');
          const hub = await openHub({ url: flags.repo, dataDir, branch: flags.branch, ...(tokenEnv ? { auth: { tokenEnv } } : {}) });
          templatesTip = await hub.fetch();
          reader = hub.reader(templatesTip);
          source = { hub, remote: true };
        } catch (err) {
          await cleanup();
          throw forStatus(err);
        }
      } else {
        const view = await workingTree(repoDir(ctx, 'status', flags.dir, path));
        reader = view.reader;
        if (view.git) source = { hub: view.git, remote: false };
        if (view.revision !== 'working-tree') templatesTip = view.revision;
      }
      try {
        const { settings } = parseSettings((await reader.readFile('kaidu.yaml'))?.text);
        const loaded = await fleetStateReader(source, reader, flags.host ? new Set([flags.host]) : undefined)(settings.stateDir).catch((err: unknown) => {
          throw forStatus(err);
        });
        const hosts = await fleetLag(loaded, source?.hub, templatesTip);
        for (const d of loaded.diagnostics) ctx.stderr.write(formatDiagnostic(d) + '\n');
        const rows = statusRows(loaded.snapshot);
        if (flags.json) ctx.stdout.write(JSON.stringify({ nodes: rows, hosts, ...(templatesTip ? { templatesRevision: templatesTip } : {}), diagnostics: loaded.diagnostics }, null, 2) + '\n');
        else {
          ctx.stdout.write(renderStatusTable(rows, emptyStatus(loaded.snapshot, settings.stateDir, flags.host)));
          if (hosts.length > 0) ctx.stdout.write('\n' + renderLagTable(hosts));
        }
        if (loaded.diagnostics.some((d) => d.severity === 'error')) ctx.setExitCode(1);
      } finally {
        await cleanup?.();
      }
    });
}
