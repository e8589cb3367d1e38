/**
 * `kaidu apply --yes --host <host>` on a repository's working tree, but with the command runner
 * given: the same steps as the CLI (compile and plan the repository, apply the host's share through
 * the built-in delegates, write its state files), for tests whose commands must run inside a booted
 * systemd container (a MachineCommandRunner), which the CLI never does.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { applyPlan, type ApplyResult } from '../../src/apply/index.js';
import { readArtifact } from '../../src/cli/fs-reader.js';
import { planRepository } from '../../src/cli/plan-source.js';
import { builtinRegistry } from '../../src/delegates/index.js';
import type { CommandRunner } from '../../src/delegates/types.js';
import { serializeServiceState, stateFilePath, writeFileAtomic } from '../../src/state/index.js';

export async function applyWithRunner(root: string, host: string, runner: CommandRunner): Promise<ApplyResult & { errors: string }> {
  const { plan, repo, view } = await planRepository({ cwd: root, host, cache: false });
  const problems = repo.diagnostics.filter((d) => d.severity === 'error');
  if (problems.length) throw new Error(`the templates do not compile: ${problems.map((d) => d.message).join('; ')}`);
  const hostPlan = plan.hosts.find((h) => h.host === host);
  if (!hostPlan) throw new Error(`the plan has nothing for host ${host}`);
  const dataDir = join(root, '.kaidu', host);
  const result = await applyPlan({
    plan: { ...plan, hosts: [hostPlan] },
    host,
    topology: repo.topology,
    snapshot: repo.state.snapshot,
    revision: view.revision,
    delegates: builtinRegistry({ dataDir, runner }),
    runner,
    dataDir,
    readRepoFile: (path) => readArtifact(view.root, path),
    logger: pino({ level: 'silent' }),
    fileIds: repo.fileIds,
  });
  for (const [service, st] of Object.entries(result.states)) {
    const file = join(root, stateFilePath(repo.settings.stateDir, host, service));
    if (st) await writeFileAtomic(file, serializeServiceState(st));
    else await rm(file, { force: true });
  }
  const errors = result.results.filter((r) => r.outcome === 'failed' || r.outcome === 'skipped').map((r) => `${r.node}: ${r.error ?? r.outcome}`).join('\n');
  return { ...result, errors };
}
