import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { KaiduError } from '../../errors/kaidu-error.js';
import { exitCodeFor } from '../exit-code.js';
import type { CommandContext } from '../context.js';
import { DIR_OPTION, repoDir } from '../repo-dir.js';
import { collectInput, readInputs } from '../inputs.js';

interface PlanFlags {
  host?: string;
  base?: string;
  head?: string;
  json?: boolean;
  format?: 'text' | 'json' | 'markdown';
  out?: string;
  detailedExitcode?: boolean;
  input?: string[];
  inputs?: string;
  verbose?: boolean;
  fullPlanUrl?: string;
  dir?: string;
  cache?: boolean;
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('plan')
    .description('show what applying the repository would do, host by host')
    .argument('[path]', 'deprecated: use -C')
    .option(...DIR_OPTION)
    .option('--host <name>', 'only this host')
    .option('--base <rev>', 'state (and the comparison point) at this git revision')
    .option('--head <rev>', 'templates at this git revision (read from git, no checkout)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']))
    .option('--json', 'same as --format json')
    .option('--out <file>', 'save the plan as JSON, to apply later with `kaidu apply FILE`')
    .option('--detailed-exitcode', 'exit 0 with no changes, 1 on error, 2 with changes')
    .option('--input <name=value>', 'an input value (repeatable)', collectInput)
    .option('--inputs <file>', 'YAML file of input values')
    .option('-v, --verbose', 'list unchanged nodes too')
    .option('--full-plan-url <url>', 'markdown: link to the full plan')
    .option('--no-cache', 'do not use or update the compile cache (.kaidu/cache)')
    .action(async (path: string | undefined, flags: PlanFlags) => {
      // The renderers alone: the planner (and the YAML library it brings) is loaded only when something must be planned.
      const [{ hasChanges }, { renderJson }, { renderText, useColor }, { hasErrors }, { loadPlan }] = await Promise.all([
        import('../../plan/model.js'),
        import('../../plan/render-json.js'),
        import('../../plan/render-text.js'),
        import('../../tosca/diagnostic.js'),
        import('../plan-source.js'),
      ]);
      if (flags.head === undefined && flags.base !== undefined) throw new KaiduError('E_USAGE', '--base needs --head');
      const inputs = await readInputs(flags.input, flags.inputs);
      const format = flags.json ? 'json' : (flags.format ?? 'text');
      const plan = await loadPlan({
        cwd: repoDir(ctx, 'plan', flags.dir, path),
        ...(flags.base ? { base: flags.base } : {}),
        ...(flags.head ? { head: flags.head } : {}),
        ...(flags.host ? { host: flags.host } : {}),
        inputs,
        env: ctx.env,
        ...(flags.cache === false ? { cache: false } : {}),
        ...(flags.out ? { digest: true } : {}),
        // text shows changed actions only: unchanged ones need not be loaded
        ...(format === 'text' && !flags.verbose && !flags.out ? { changesOnly: true } : {}),
        // what the cache saved, for whoever wonders whether it works (tests, a CI job that restores it)
        ...(ctx.env.KAIDU_CACHE_STATS ? { onStats: (s: { services: number; reused: number }) => ctx.stderr.write(`kaidu: cache: ${s.reused} of ${s.services} service files planned from the cache\n`) } : {}),
      });
      if (flags.out) await writeFile(flags.out, renderJson(plan));
      if (format === 'json') ctx.stdout.write(renderJson(plan));
      else if (format === 'markdown') ctx.stdout.write((await import('../../plan/render-markdown.js')).renderMarkdown(plan, { ...(flags.fullPlanUrl ? { fullPlanUrl: flags.fullPlanUrl } : {}) }));
      else ctx.stdout.write(renderText(plan, { color: useColor(ctx.stdout as { isTTY?: boolean }, ctx.env), verbose: Boolean(flags.verbose) }));
      if (flags.out && format !== 'json') ctx.stderr.write(`Saved the plan to ${flags.out}; apply it with: kaidu apply ${flags.out}\n`);
      if (hasErrors(plan.diagnostics)) ctx.setExitCode(exitCodeFor(plan.diagnostics));
      else if (flags.detailedExitcode && hasChanges(plan)) ctx.setExitCode(2);
    });
}
