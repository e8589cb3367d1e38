import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Option, type Command } from 'commander';
import { KaiduError } from '../../errors/kaidu-error.js';
import type { CommitSummary } from '../../review/git-revision.js';
import type { TriggerProvider } from '../../review/trigger.js';
import type { CommandContext } from '../context.js';

interface TriggerFlags {
  url: string;
  secretEnv: string;
  provider: TriggerProvider;
  ref?: string;
  after?: string;
  before?: string;
  repository?: string;
  json?: boolean;
}

/** `kaidu trigger`: CI tells an agent about a new revision, signed like a GitHub push webhook. */
export function register(program: Command, ctx: CommandContext): void {
  program
    .command('trigger')
    .description("send an agent a signed push webhook (from CI, after a push to the deployed branch)")
    .requiredOption('--url <url>', "the agent's hook URL, or its base URL (then /hooks/github or /hooks/generic)")
    .requiredOption('--secret-env <name>', 'environment variable holding the webhook secret (github) or bearer token (generic)')
    .addOption(new Option('--provider <provider>', 'webhook flavour').choices(['github', 'generic']).default('github'))
    .option('--ref <ref>', 'pushed ref (default: GITHUB_REF, else refs/heads/main)')
    .option('--after <sha>', 'pushed commit (default: GITHUB_SHA, else HEAD of the repository here)')
    .option('--before <sha>', 'previous tip (default: the parent of the pushed commit)')
    .option('--repository <owner/name>', 'repository full name in the payload (default: GITHUB_REPOSITORY)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: TriggerFlags) => {
      const secret = ctx.env[flags.secretEnv];
      if (!secret) throw new KaiduError('E_USAGE', `no secret: the environment variable ${flags.secretEnv} is empty`);
      const ref = fullRef(flags.ref ?? ctx.env.GITHUB_REF ?? 'refs/heads/main');
      const local = await localCommit(ctx.cwd, ctx.env, flags.after ?? ctx.env.GITHUB_SHA);
      const after = flags.after ?? ctx.env.GITHUB_SHA ?? local?.id;
      if (!after) throw new KaiduError('E_USAGE', 'which commit? give --after (GITHUB_SHA is not set and there is no git repository here)');
      const { sendTrigger } = await import('../../review/trigger.js');
      const result = await sendTrigger({
        url: flags.url,
        provider: flags.provider,
        secret,
        event: {
          ref,
          after,
          repository: flags.repository ?? ctx.env.GITHUB_REPOSITORY ?? basename(local?.root ?? ctx.cwd),
          ...(flags.before ? { before: flags.before } : {}),
          ...(local && local.id === after ? { headCommit: local } : {}),
          ...(ctx.env.GITHUB_SERVER_URL ? { serverUrl: ctx.env.GITHUB_SERVER_URL } : {}),
          ...(ctx.env.GITHUB_ACTOR ? { pusher: ctx.env.GITHUB_ACTOR } : {}),
        },
      });
      if (flags.json) ctx.stdout.write(JSON.stringify({ url: result.url, status: result.status, ref, after, ...(result.delivery ? { delivery: result.delivery } : {}) }) + '\n');
      else ctx.stdout.write(`Triggered ${result.url} for ${ref} at ${after.slice(0, 12)}: ${result.status}\n`);
    });
}

interface NotifyFlags {
  rev: string;
  ref?: string;
  before?: string;
  tokenEnv: string;
  json?: boolean;
}

/**
 * `kaidu notify`: the hub's post-receive hook tells the agents listed in kaidu.yaml. It never fails
 * the hook: the push is done, an unreachable agent catches up later.
 */
export function registerNotify(program: Command, ctx: CommandContext): void {
  program
    .command('notify')
    .description("tell the agents in kaidu.yaml about a pushed revision (a bare hub's post-receive hook)")
    .requiredOption('--rev <rev>', 'the pushed revision')
    .option('--ref <ref>', 'the updated ref (other refs than the deployed branch and the hosts\' state branches are ignored)')
    .option('--before <rev>', 'the ref\'s previous commit id (the hook\'s oldrev)')
    .option('--token-env <name>', 'environment variable holding the bearer token (else the file named by KAIDU_HOOK_TOKEN_FILE)', 'KAIDU_HOOK_TOKEN')
    .option('--json', 'print the result as JSON')
    .action(async (flags: NotifyFlags) => {
      try {
        const token = await hookToken(ctx.env, flags.tokenEnv);
        const [{ locateRepository }, { notifyAgents }, { profilesReader }] = await Promise.all([import('../../review/git-revision.js'), import('../../review/notify.js'), import('../fs-reader.js')]);
        const repo = await locateRepository(ctx.cwd, ctx.env);
        const result = await notifyAgents({ repo, rev: flags.rev, profiles: profilesReader(), ...(flags.ref ? { ref: fullRef(flags.ref) } : {}), ...(flags.before ? { before: flags.before } : {}), ...(token ? { token } : {}) });
        if (flags.json) {
          ctx.stdout.write(JSON.stringify(result) + '\n');
          return;
        }
        if (result.skipped) ctx.stdout.write(`kaidu notify: nobody notified: ${result.skipped}\n`);
        if (result.fleet) ctx.stdout.write(`kaidu notify: calling the relay tree's roots (${result.fleet.roots.join(', ')}); they pass it on to the fleet\n`);
        for (const a of result.agents) {
          ctx.stdout.write(a.ok ? `kaidu notify: ${a.host} (${a.url}): ${a.detail}\n` : `kaidu notify: could not notify ${a.host} (${a.url}): ${a.detail}\n`);
        }
      } catch (err) {
        ctx.stdout.write(`kaidu notify: ${(err as Error).message}\n`);
      }
    });
}

async function hookToken(env: NodeJS.ProcessEnv, tokenEnv: string): Promise<string | undefined> {
  if (env[tokenEnv]) return env[tokenEnv];
  if (!env.KAIDU_HOOK_TOKEN_FILE) return undefined;
  try {
    return (await readFile(env.KAIDU_HOOK_TOKEN_FILE, 'utf8')).trim() || undefined;
  } catch (err) {
    throw new KaiduError('E_IO', `cannot read the token file named by KAIDU_HOOK_TOKEN_FILE (${env.KAIDU_HOOK_TOKEN_FILE})`, { cause: err });
  }
}

function fullRef(ref: string): string {
  return ref.startsWith('refs/') ? ref : `refs/heads/${ref}`;
}

/** The commit to describe in the payload, when the command runs inside a git repository. */
async function localCommit(cwd: string, env: NodeJS.ProcessEnv, rev: string | undefined): Promise<(CommitSummary & { root: string }) | undefined> {
  try {
    const { locateRepository, readCommitSummary, resolveRevision } = await import('../../review/git-revision.js');
    const repo = await locateRepository(cwd, env);
    const oid = await resolveRevision(repo, rev ?? 'HEAD');
    return { ...(await readCommitSummary(repo, oid)), root: basename(repo.gitdir) === '.git' ? dirname(repo.gitdir) : repo.gitdir };
  } catch {
    // Not a repository, or the commit is not here (a shallow CI clone): the payload says less.
    return undefined;
  }
}
