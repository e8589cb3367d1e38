import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { KaiduError } from '../../errors/kaidu-error.js';
import type { Plan } from '../../plan/index.js';
import { EXIT_INTERNAL, isInternal } from '../exit-code.js';
import type { CommandContext } from '../context.js';
import { DIR_OPTION, repoDir } from '../repo-dir.js';

interface ApplyFlags {
  host?: string;
  yes?: boolean;
  json?: boolean;
  dataDir?: string;
  dir?: string;
}

async function confirm(ctx: CommandContext): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: ctx.stderr });
  try {
    const answer = await rl.question('Apply these changes? Only "yes" is accepted: ');
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('apply')
    .description("apply one host's share of the plan on this machine, and write its state")
    .argument('[plan]', 'a plan saved with `kaidu plan --out FILE` (refused if the repository moved on)')
    .option('--host <name>', 'the host to apply (default: the only host)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print the result as JSON')
    .option('--data-dir <dir>', 'where logs and runtime files go (default .kaidu/<host> in the repository)')
    .option(...DIR_OPTION)
    .action(async (planFile: string | undefined, flags: ApplyFlags) => {
      const [{ parsePlanJson, renderText, useColor }, { serializeServiceState, stateFilePath, writeFileAtomic }, { formatDiagnostic, hasErrors }, { planRepository }] = await Promise.all([
        import('../../plan/index.js'),
        import('../../state/index.js'),
        import('../../tosca/diagnostic.js'),
        import('../plan-source.js'),
      ]);
      const cwd = repoDir(ctx, 'apply', flags.dir, undefined);
      let saved: Plan | undefined;
      if (planFile) {
        try {
          saved = parsePlanJson(await readFile(planFile, 'utf8'));
        } catch (err) {
          throw new KaiduError('E_PLAN_INVALID', `cannot read the plan ${planFile}: ${(err as Error).message}`);
        }
        if (saved.schema !== 'kaidu/plan/v1') throw new KaiduError('E_PLAN_INVALID', `${planFile} is not a Kaidu plan (schema ${String(saved.schema)})`);
      }
      const { plan: fresh, repo, view } = await planRepository({ cwd, env: ctx.env, ...(flags.host ? { host: flags.host } : {}), ...(saved ? { digest: true } : {}) });
      for (const d of repo.diagnostics) if (d.severity === 'error') ctx.stderr.write(formatDiagnostic(d) + '\n');
      if (repo.diagnostics.some(isInternal)) {
        // A bug of ours, not the templates': say so, with the code the README gives it.
        ctx.stderr.write('kaidu: internal error (a Kaidu bug: please report it with the output above); nothing was applied\n');
        ctx.setExitCode(EXIT_INTERNAL);
        return;
      }
      const ofState = new Set(repo.state.diagnostics);
      if (hasErrors(repo.diagnostics.filter((d) => !ofState.has(d) && !d.code.startsWith('E_STATE')))) {
        throw new KaiduError('E_COMPILE', 'the templates do not compile; nothing was applied');
      }
      // Hosts of the templates and of state/: once the last service is removed, only state/ names
      // the host whose nodes must now be deleted.
      const hosts = [...new Set([...Object.keys(repo.topology.hosts), ...Object.keys(repo.state.snapshot)])].sort();
      const host = flags.host ?? (hosts.length === 1 ? hosts[0] : undefined);
      if (!host) {
        throw hosts.length
          ? new KaiduError('E_USAGE', `say which host to apply with --host (${hosts.join(', ')})`)
          : new KaiduError('E_USAGE', `neither the templates nor ${repo.settings.stateDir}/ name a host`, { hint: 'pass --host NAME' });
      }
      let thePlan = fresh;
      if (saved) {
        if (saved.revision !== view.revision) {
          throw new KaiduError('E_PLAN_STALE', `the plan was made at revision ${saved.revision.slice(0, 12)}, but the repository is now at ${view.revision.slice(0, 12)}`, { hint: 'make a new plan with `kaidu plan --out FILE`' });
        }
        if (saved.sourceDigest !== fresh.sourceDigest) {
          throw new KaiduError('E_PLAN_STALE', 'the templates or the state changed since the plan was made', { hint: 'make a new plan with `kaidu plan --out FILE`' });
        }
        thePlan = saved;
      }
      if (!thePlan.hosts.some((h) => h.host === host)) {
        thePlan = { ...thePlan, hosts: fresh.hosts.filter((h) => h.host === host) };
      }
      const hostPlan = thePlan.hosts.find((h) => h.host === host);
      if (!hostPlan) throw new KaiduError('E_PLAN_INVALID', `the plan has nothing for host ${host}`);
      const invalid = repo.state.invalidFiles.filter((f) => f.startsWith(`${repo.settings.stateDir}/${host}/`));
      if (invalid.length) throw new KaiduError('E_STATE_INVALID', `state files of ${host} are damaged: ${invalid.join(', ')}; not overwriting them`, { hint: 'fix or remove them (see the diagnostics above), then apply again' });
      const onlyHost = { ...thePlan, hosts: [hostPlan] };
      const changes = hostPlan.summary.create + hostPlan.summary.update + hostPlan.summary.delete;
      if (!flags.json) ctx.stdout.write(renderText(onlyHost, { color: useColor(ctx.stdout as { isTTY?: boolean }, ctx.env) }));
      if (changes === 0) {
        if (flags.json) ctx.stdout.write(JSON.stringify({ host, results: [], ok: true }, null, 2) + '\n');
        else ctx.stdout.write('Nothing to do.\n');
        return;
      }
      if (!flags.yes) {
        if (!process.stdin.isTTY) throw new KaiduError('E_USAGE', 'not a terminal: pass --yes to apply without confirmation');
        if (!(await confirm(ctx))) {
          ctx.stderr.write('Not applied.\n');
          ctx.setExitCode(1);
          return;
        }
      }
      const dataDir = flags.dataDir ?? join(view.root, '.kaidu', host);
      // The runtime (pino, delegates) only when there is something to apply.
      const [{ cliLogger }, { applyPlan, progressPrinter }, { createHostRuntime }, { readArtifact }] = await Promise.all([
        import('../log-output.js'),
        import('../../apply/index.js'),
        import('../../apply/runtime.js'),
        import('../fs-reader.js'),
      ]);
      // Logs go to stderr (stdout is the plan and the result): human lines on a terminal, else JSON.
      const logger = cliLogger({ stream: ctx.stderr, env: ctx.env, json: Boolean(flags.json), level: ctx.env.KAIDU_LOG_LEVEL ?? 'warn' });
      const runtime = await createHostRuntime({ dataDir, logger, repoRoot: view.root, plugins: repo.settings.plugins });
      const controller = new AbortController();
      const onSignal = () => controller.abort();
      process.once('SIGINT', onSignal);
      const result = await applyPlan({
        plan: onlyHost,
        host,
        topology: repo.topology,
        snapshot: repo.state.snapshot,
        revision: view.revision,
        delegates: runtime.delegates,
        runner: runtime.runner,
        dataDir,
        protectedPaths: [join(view.root, '.git')],
        readRepoFile: (path) => readArtifact(view.root, path),
        logger,
        fileIds: repo.fileIds,
        signal: controller.signal,
        concurrency: repo.settings.agent.concurrency,
        actionTimeoutMs: repo.settings.agent.actionTimeout * 1000,
        onProgress: flags.json ? undefined : progressPrinter(ctx.stderr as NodeJS.WritableStream & { isTTY?: boolean }),
      }).finally(() => process.removeListener('SIGINT', onSignal));
      for (const [service, st] of Object.entries(result.states)) {
        const file = join(view.root, stateFilePath(repo.settings.stateDir, host, service));
        if (st) await writeFileAtomic(file, serializeServiceState(st));
        else await rm(file, { force: true });
      }
      if (flags.json) ctx.stdout.write(JSON.stringify({ host, results: result.results, ok: result.ok }, null, 2) + '\n');
      else {
        const failed = result.results.filter((r) => r.outcome === 'failed' || r.outcome === 'skipped');
        for (const f of failed) ctx.stderr.write(`${f.outcome === 'failed' ? 'FAILED' : 'skipped'} ${f.node}: ${f.error ?? ''}\n`);
        ctx.stdout.write(result.ok ? `Applied. State written to ${repo.settings.stateDir}/${host}/.\n` : `Applied with ${failed.length} problem(s). State written to ${repo.settings.stateDir}/${host}/.\n`);
      }
      if (!result.ok) ctx.setExitCode(1);
    });
}
