import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { isKaiduError, KaiduError } from '../../errors/kaidu-error.js';
import type { Plan } from '../../plan/index.js';
import type { ReviewContext } from '../../review/ci-environment.js';
import type { ReviewHost } from '../../review/publish.js';
import type { CommandContext } from '../context.js';
import { DIR_OPTION, repoDir } from '../repo-dir.js';

/** The review modules (and the plan renderers they pull in), loaded when the command runs, not at start-up. */
async function reviewModules() {
  const [plan, ci, body, github, gitlab, status, publish] = await Promise.all([
    import('../../plan/index.js'),
    import('../../review/ci-environment.js'),
    import('../../review/comment-body.js'),
    import('../../review/github.js'),
    import('../../review/gitlab.js'),
    import('../../review/plan-status.js'),
    import('../../review/publish.js'),
  ]);
  return { ...plan, ...ci, ...body, ...github, ...gitlab, ...status, ...publish };
}

interface PrCommentFlags {
  provider?: 'github' | 'gitlab';
  repo?: string;
  pr?: string;
  sha?: string;
  tokenEnv?: string;
  apiUrl?: string;
  gitlabAuth?: 'private-token' | 'bearer';
  base?: string;
  head?: string;
  planFile?: string;
  fullPlanUrl?: string;
  key?: string;
  dryRun?: boolean;
  json?: boolean;
  dir?: string;
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('pr-comment')
    .description('post the plan to a pull (merge) request as one sticky comment, and set the kaidu/plan commit status')
    .argument('[path]', 'deprecated: use -C')
    .option(...DIR_OPTION)
    .addOption(new Option('--provider <provider>', 'review host (default: gitlab inside GitLab CI, else github)').choices(['github', 'gitlab']))
    .option('--repo <owner/name>', 'GitHub OWNER/NAME or GitLab project id or path (default: GITHUB_REPOSITORY / CI_PROJECT_ID)')
    .option('--pr <number>', 'pull request number or merge request iid (default: from the CI event)')
    .option('--sha <sha>', 'commit to set the status on (default: the head of the pull request)')
    .option('--token-env <name>', 'environment variable holding the token (default: GITHUB_TOKEN / GITLAB_TOKEN)')
    .option('--api-url <url>', 'API root (default: https://api.github.com; GitHub Enterprise: https://HOST/api/v3; GitLab: https://HOST/api/v4)')
    .addOption(new Option('--gitlab-auth <kind>', 'how the GitLab token is sent').choices(['private-token', 'bearer']).default('private-token'))
    .option('--base <rev>', 'state (and the comparison point) at this git revision')
    .option('--head <rev>', 'templates at this git revision')
    .option('--plan-file <file>', 'a plan saved with `kaidu plan --out FILE`, instead of computing it')
    .option('--full-plan-url <url>', 'link to the full plan (default: the CI run)')
    .option('--key <name>', 'tells apart several kaidu comments on one pull request (one per repository or service)')
    .option('--dry-run', 'print the comment instead of posting it')
    .option('--json', 'print the result as JSON')
    .action(async (path: string | undefined, flags: PrCommentFlags) => {
      const { githubContext, gitlabContext, GITLAB_NOTE_LIMIT, GITHUB_COMMENT_LIMIT, failedPlanStatus, commentBody, planStatus, publishPlan } = await reviewModules();
      const provider = flags.provider ?? (ctx.env.GITLAB_CI ? 'gitlab' : 'github');
      const ci = provider === 'gitlab' ? gitlabContext(ctx.env) : await githubContext(ctx.env);
      const fullPlanUrl = flags.fullPlanUrl ?? ci.runUrl;
      const sha = flags.sha ?? (flags.head && /^[0-9a-f]{40}([0-9a-f]{24})?$/i.test(flags.head) ? flags.head : undefined) ?? ci.sha;
      const maxLength = provider === 'gitlab' ? GITLAB_NOTE_LIMIT : GITHUB_COMMENT_LIMIT;
      const host = flags.dryRun ? undefined : await reviewHost(provider, flags, ci, ctx.env);

      let plan: Plan;
      try {
        plan = await readOrComputePlan(repoDir(ctx, 'pr-comment', flags.dir, path), flags);
      } catch (err) {
        // Tell the reviewer why there is no plan; the command still fails with the real error.
        if (host && sha && isKaiduError(err) && err.code !== 'E_USAGE') {
          await host.setStatus(sha, failedPlanStatus(err.message, fullPlanUrl)).catch(() => undefined);
        }
        throw err;
      }

      if (!host) {
        const body = commentBody(plan, { maxLength, ...(flags.key ? { key: flags.key } : {}), ...(fullPlanUrl ? { fullPlanUrl } : {}) });
        if (flags.json) ctx.stdout.write(JSON.stringify({ provider, dryRun: true, body, status: planStatus(plan, fullPlanUrl) }, null, 2) + '\n');
        else ctx.stdout.write(body.endsWith('\n') ? body : body + '\n');
        return;
      }
      const result = await publishPlan(host, plan, {
        ...(sha ? { sha } : {}),
        ...(flags.key ? { key: flags.key } : {}),
        ...(fullPlanUrl ? { fullPlanUrl } : {}),
      });
      if (flags.json) {
        ctx.stdout.write(JSON.stringify({ provider, subject: host.subject, comment: result.comment, ...(result.status ? { status: { sha, ...result.status } } : {}) }, null, 2) + '\n');
        return;
      }
      const verb = { created: 'Posted', updated: 'Updated', unchanged: 'Kept' }[result.comment.action];
      ctx.stdout.write(`${verb} the plan comment on ${host.subject}${result.comment.url ? `: ${result.comment.url}` : ''}\n`);
      if (result.status) ctx.stdout.write(`Set status kaidu/plan to ${result.status.state} on ${sha!.slice(0, 12)}: ${result.status.description}\n`);
      else ctx.stderr.write('No commit status set: give --sha (or run in a pull request workflow)\n');
    });
}

async function reviewHost(provider: 'github' | 'gitlab', flags: PrCommentFlags, ci: ReviewContext, env: NodeJS.ProcessEnv): Promise<ReviewHost> {
  const { GitHubReview, GitLabReview } = await reviewModules();
  const repo = flags.repo ?? ci.repo;
  const prText = flags.pr ?? (ci.pr === undefined ? undefined : String(ci.pr));
  const kind = provider === 'gitlab' ? 'merge request' : 'pull request';
  if (!repo) throw new KaiduError('E_USAGE', `which repository? give --repo (${provider === 'gitlab' ? 'CI_PROJECT_ID' : 'GITHUB_REPOSITORY'} is not set)`);
  if (!prText) throw new KaiduError('E_USAGE', `which ${kind}? give --pr (the CI event does not name one)`);
  const pr = Number(prText);
  if (!Number.isInteger(pr) || pr <= 0) throw new KaiduError('E_USAGE', `--pr must be a ${kind} number, not "${prText}"`);
  const tokenEnv = flags.tokenEnv ?? (provider === 'gitlab' ? 'GITLAB_TOKEN' : 'GITHUB_TOKEN');
  const token = env[tokenEnv];
  if (!token) {
    throw new KaiduError('E_USAGE', `no token: the environment variable ${tokenEnv} is empty`, {
      hint: provider === 'gitlab' ? 'set GITLAB_TOKEN to a token with the api scope (a masked CI/CD variable)' : 'in GitHub Actions: env: { GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }} }',
    });
  }
  const apiUrl = flags.apiUrl ?? ci.apiUrl;
  if (apiUrl !== undefined && !/^https?:\/\//.test(apiUrl)) throw new KaiduError('E_USAGE', `--api-url must be an http(s) URL, not "${apiUrl}"`);
  if (provider === 'gitlab') {
    return new GitLabReview({ project: repo, mr: pr, token, tokenEnv, auth: flags.gitlabAuth ?? 'private-token', ...(apiUrl ? { apiUrl } : {}), ...(ci.webUrl ? { webUrl: ci.webUrl } : {}) });
  }
  return new GitHubReview({ repo, pr, token, tokenEnv, ...(apiUrl ? { apiUrl } : {}) });
}

async function readOrComputePlan(cwd: string, flags: PrCommentFlags): Promise<Plan> {
  if (flags.planFile) {
    if (flags.base || flags.head) throw new KaiduError('E_USAGE', '--plan-file and --base/--head exclude each other');
    const { parsePlanJson, PLAN_SCHEMA } = await reviewModules();
    let text: string;
    try {
      text = await readFile(flags.planFile, 'utf8');
    } catch (err) {
      throw new KaiduError('E_IO', `cannot read the plan file ${flags.planFile}`, { cause: err });
    }
    let plan: Plan;
    try {
      plan = parsePlanJson(text);
    } catch (err) {
      throw new KaiduError('E_PLAN_INVALID', `${flags.planFile} is not JSON`, { cause: err });
    }
    if (plan?.schema !== PLAN_SCHEMA) throw new KaiduError('E_PLAN_INVALID', `${flags.planFile} is not a saved plan (schema ${PLAN_SCHEMA})`, { hint: 'save one with `kaidu plan --out FILE`' });
    return plan;
  }
  if (flags.base && !flags.head) throw new KaiduError('E_USAGE', '--base needs --head');
  // The compiler is loaded only when the plan is computed here, not for a saved plan.
  const { loadPlan } = await import('../plan-source.js');
  return loadPlan({ cwd, ...(flags.base ? { base: flags.base } : {}), ...(flags.head ? { head: flags.head } : {}) });
}
