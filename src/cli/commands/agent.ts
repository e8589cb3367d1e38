import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { SAFE_NAME_RULE, unsafeNameReason } from '../../tosca/safe-name.js';
import { stateBranchProblem } from '../../git/state-refs.js';
import { KaiduError } from '../../errors/kaidu-error.js';
import type { CommandContext } from '../context.js';

interface AgentFlags {
  repo: string;
  host: string;
  branch: string;
  listen: string;
  address?: string;
  dataDir?: string;
  webhookSecretFile?: string;
  tokenFile?: string;
  apiTokenFile?: string;
  gitTokenEnv?: string;
  gitTokenFile?: string;
  watch: boolean;
  logLevel?: string;
  retryBaseMs?: string;
  retryMaxMs?: string;
  json?: boolean;
}

function milliseconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new KaiduError('E_USAGE', `${flag} expects a whole number of milliseconds, got "${value}"`);
  return n;
}

async function secretFrom(file: string | undefined, what: string): Promise<string | undefined> {
  if (!file) return undefined;
  try {
    const s = (await readFile(file, 'utf8')).trim();
    if (!s) throw new Error('the file is empty');
    return s;
  } catch (err) {
    throw new KaiduError('E_USAGE', `cannot read the ${what} from ${file}: ${(err as Error).message}`);
  }
}

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  if (!m) throw new KaiduError('E_USAGE', `--listen expects HOST:PORT, got "${value}"`);
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

/** `--address`: an IP literal other hosts can reach; the unspecified address (0.0.0.0, ::) reaches nobody. */
export function parseAdvertisedAddress(value: string): string {
  const v = value.trim();
  if (isIP(v) === 0) throw new KaiduError('E_USAGE', `--address expects an IP address, got "${value}"`);
  if (v === '0.0.0.0' || /^[0:]+$/.test(v)) throw new KaiduError('E_USAGE', `--address ${v} is the unspecified address: give the address other hosts reach this one at`);
  return v;
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('agent')
    .description("run this host's agent: react to pushes, apply this host's share, push state back")
    .requiredOption('--repo <url|path>', 'hub repository: smart-HTTP URL, or a local/shared path')
    .requiredOption('--host <name>', 'this machine, as named by a kaidu:Host')
    .option('--branch <name>', 'branch to follow', 'main')
    .option('--listen <host:port>', 'HTTP API and webhooks', '127.0.0.1:7070')
    .option('--address <ip>', "this host's address as other hosts reach it: the discovered address of its Ports (default 127.0.0.1)")
    .option('--data-dir <dir>', 'clone, logs, journal (default ~/.local/state/kaidu/<host>)')
    .option('--webhook-secret-file <file>', 'secret for GitHub/Gitea signatures, the GitLab token and the generic bearer token')
    .option('--token-file <file>', 'bearer token for POST /sync (default: the webhook secret)')
    .option('--api-token-file <file>', 'bearer token for /status, /metrics and the page at / (default: open; keep --listen on 127.0.0.1 then)')
    .option('--git-token-env <name>', 'environment variable holding the git token')
    .option('--git-token-file <file>', 'file holding the git token')
    .option('--no-watch', 'do not watch a local hub for changes')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .option('--retry-base-ms <ms>', 'first delay before a pass the hub interrupted runs again (doubles each time)', '1000')
    .option('--retry-max-ms <ms>', 'longest delay between those retries', '300000')
    .option('--json', 'log JSON lines (the default when standard output is not a terminal)')
    .action(async (flags: AgentFlags) => {
      // Loaded here, not at the top: `kaidu --version` and the other commands do not pay for fastify, pino, isomorphic-git.
      const [{ Agent }, { buildHttpApi }, { cliLogger }, { createHostRuntime }, { watchRepository }, { profilesReader }, { tuneHeapForAgent }] = await Promise.all([
        import('../../agent/agent.js'),
        import('../../agent/http-api.js'),
        import('../log-output.js'),
        import('../../apply/runtime.js'),
        import('../../events/index.js'),
        import('../fs-reader.js'),
        import('../../agent/heap.js'),
      ]);
      tuneHeapForAgent();
      // The host name names state/<host>/ in the hub and the default data dir: never a path.
      const unsafeHost = unsafeNameReason(flags.host);
      if (unsafeHost) throw new KaiduError('E_USAGE', `--host ${JSON.stringify(flags.host)} is not a safe name: ${unsafeHost}`, { hint: `use ${SAFE_NAME_RULE}` });
      const branchProblem = stateBranchProblem(flags.host);
      if (branchProblem) throw new KaiduError('E_USAGE', `--host ${JSON.stringify(flags.host)} cannot have a state branch: ${branchProblem}`);
      const listen = parseListen(flags.listen);
      const advertiseAddress = flags.address === undefined ? undefined : parseAdvertisedAddress(flags.address);
      const retry = { baseMs: milliseconds(flags.retryBaseMs, '--retry-base-ms')!, maxMs: milliseconds(flags.retryMaxMs, '--retry-max-ms')! };
      const logger = cliLogger({ stream: ctx.stdout, env: ctx.env, json: Boolean(flags.json), ...(flags.logLevel ? { level: flags.logLevel } : {}), name: 'kaidu-agent' });
      const dataDir = resolve(ctx.cwd, flags.dataDir ?? join(ctx.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'kaidu', flags.host));
      const secret = await secretFrom(flags.webhookSecretFile, 'webhook secret');
      const syncToken = (await secretFrom(flags.tokenFile, 'sync token')) ?? secret;
      const apiToken = await secretFrom(flags.apiTokenFile, 'API token');
      const isLocal = !/^https?:\/\//.test(flags.repo);
      const repo = isLocal ? (isAbsolute(flags.repo) ? flags.repo : resolve(ctx.cwd, flags.repo)) : flags.repo;
      if (isLocal && !existsSync(repo)) throw new KaiduError('E_USAGE', `--repo ${repo} does not exist`);
      const runtime = await createHostRuntime({ dataDir, logger, ...(advertiseAddress ? { advertiseAddress } : {}) });
      const agent = new Agent({
        repo,
        host: flags.host,
        branch: flags.branch,
        dataDir,
        profiles: profilesReader(),
        delegates: runtime.delegates,
        runner: runtime.runner,
        logger,
        reclaimMemory: true,
        retry,
        ...(flags.gitTokenEnv || flags.gitTokenFile ? { gitAuth: { ...(flags.gitTokenEnv ? { tokenEnv: flags.gitTokenEnv } : {}), ...(flags.gitTokenFile ? { tokenFile: flags.gitTokenFile } : {}) } } : {}),
      });
      const app = await buildHttpApi({
        agent,
        branch: flags.branch,
        logger,
        secrets: secret ? { github: secret, gitlab: secret, gitea: secret, generic: secret } : {},
        ...(syncToken ? { syncToken } : {}),
        ...(apiToken ? { apiToken } : {}),
      });
      await app.listen({ host: listen.host, port: listen.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : listen.port;
      logger.info({ listen: `${listen.host}:${port}`, page: `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}/`, repo: isLocal ? repo : repo.replace(/\/\/[^@/]*@/, '//'), host: flags.host, dataDir, ...(advertiseAddress ? { address: advertiseAddress } : {}) }, 'agent listening');
      // The hosts' state branches move too: another host's state commit may be what this one waits for.
      const watcher = isLocal && flags.watch ? await watchRepository({ path: repo, branch: flags.branch, branchFolders: ['kaidu/state'], onEvent: (e) => agent.trigger(e), logger }) : undefined;

      let stopping: Promise<void> | undefined;
      const done = new Promise<void>((resolveDone) => {
        const stop = (signal: string) => {
          stopping ??= (async () => {
            logger.info({ signal }, 'stopping: finishing the current action, then pushing; managed processes keep running');
            await watcher?.close();
            await agent.stop();
            await app.close();
            resolveDone();
          })();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      await agent.start();
      logger.info({ status: agent.status().lastPass }, 'catch-up pass finished');
      await done;
    });
}
