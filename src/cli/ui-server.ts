/** `kaidu ui`: the fleet page for a checkout or a hub (loaded only when that command runs). */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createLogger } from '../agent/logger.js';
import { KaiduError } from '../errors/kaidu-error.js';
import { resolveGitDirs } from '../events/index.js';
import { openHub, type Hub } from '../git/index.js';
import { ApiToken } from '../ui/api-token.js';
import { RepositoryFleetView, type RepositoryViewOptions } from '../ui/repository-view.js';
import { registerUiRoutes } from '../ui/routes.js';
import type { CommandContext } from './context.js';
import { profilesReader } from './fs-reader.js';
import { findRepoRoot, workingTree } from './plan-source.js';
import { fleetLag, localStateBranches, type FleetSource } from './fleet-source.js';
import { readStateBranches } from '../git/index.js';
import { readFleetState, type FleetState } from '../state/fleet-state.js';
import type { RepositoryOpening } from '../ui/repository-view.js';

/** The page reads the hosts' state through their state branches, lists their state commits as passes, and shows each host's lag. */
async function withFleetState(opening: RepositoryOpening, source: FleetSource | undefined): Promise<RepositoryOpening> {
  if (!source) return opening;
  const branches = source.remote ? await readStateBranches(source.hub) : await localStateBranches(source.hub);
  const readState = (stateDir: string) => readFleetState({ templates: opening.reader, stateDir, branches });
  return {
    ...opening,
    readState,
    stateHeads: branches.map((b) => b.commit),
    lag: (state) => fleetLag(state as FleetState, source.hub, opening.head),
  };
}
import { parseListen } from './commands/agent.js';

export interface UiFlags {
  repo?: string;
  branch: string;
  listen: string;
  apiTokenFile?: string;
  json?: boolean;
}

function gitRootOf(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return undefined;
  }
}

/** The branch HEAD names, or `HEAD` when detached (then only HEAD itself moves). */
function currentBranch(gitRoot: string): string {
  const { gitDir } = resolveGitDirs(gitRoot);
  return /^ref:\s*refs\/heads\/(.+?)\s*$/m.exec(readFileSync(join(gitDir, 'HEAD'), 'utf8'))?.[1] ?? 'HEAD';
}

export async function serveUi(path: string | undefined, flags: UiFlags, ctx: CommandContext): Promise<void> {
    const listen = parseListen(flags.listen);
    const logger = createLogger({ level: 'warn', name: 'kaidu-ui' });
    let token: ApiToken | undefined;
    if (flags.apiTokenFile) {
      const text = (await readFile(resolve(ctx.cwd, flags.apiTokenFile), 'utf8').catch((err: Error) => {
        throw new KaiduError('E_USAGE', `cannot read the API token from ${flags.apiTokenFile}: ${err.message}`);
      })).trim();
      if (!text) throw new KaiduError('E_USAGE', `cannot read the API token from ${flags.apiTokenFile}: the file is empty`);
      token = new ApiToken(text);
    }

    const cleanups: Array<() => Promise<void>> = [];
    let options: RepositoryViewOptions;
    if (flags.repo) {
      if (path) throw new KaiduError('E_USAGE', 'give either a checkout path or --repo, not both');
      const isUrl = /^https?:\/\//i.test(flags.repo);
      const repo = isUrl || isAbsolute(flags.repo) ? flags.repo : resolve(ctx.cwd, flags.repo);
      if (!isUrl && !existsSync(repo)) throw new KaiduError('E_USAGE', `--repo ${repo} does not exist`);
      const dataDir = await mkdtemp(join(tmpdir(), 'kaidu-ui-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const tokenEnv = ctx.env.KAIDU_GIT_TOKEN ? 'KAIDU_GIT_TOKEN' : undefined;
      const hub: Hub = await openHub({ url: repo, dataDir, branch: flags.branch, ...(tokenEnv ? { auth: { tokenEnv } } : {}), logger });
      options = {
        kind: 'hub',
        name: repo.replace(/\/\/[^@/]*@/, '//'),
        // A URL is fetched again for every snapshot: reloading the page looks again.
        open: async () => {
          const tip = await hub.fetch();
          return withFleetState({ reader: hub.reader(tip), revision: tip, head: tip }, { hub, remote: isUrl });
        },
        history: hub,
        profiles: profilesReader(),
        ...(isUrl ? {} : { watch: { path: repo, branch: flags.branch } }),
        logger,
      };
    } else {
      const dir = resolve(ctx.cwd, path ?? '.');
      if (!existsSync(dir)) throw new KaiduError('E_USAGE', `${dir} does not exist`);
      const gitRoot = gitRootOf(findRepoRoot(dir));
      // Without readable git history (no commit yet, a linked worktree) the page shows no passes.
      const hub = gitRoot ? await openHub({ url: gitRoot, dataDir: join(tmpdir(), 'kaidu-cli'), branch: 'HEAD', logger }).catch(() => undefined) : undefined;
      options = {
        kind: 'checkout',
        name: findRepoRoot(dir),
        open: async () => {
          const view = await workingTree(dir);
          const head = hub ? await hub.resolve('HEAD').catch(() => undefined) : undefined;
          return withFleetState({ reader: view.reader, revision: view.revision, ...(head ? { head } : {}) }, hub ? { hub, remote: false } : undefined);
        },
        ...(hub ? { history: hub } : {}),
        profiles: profilesReader(),
        ...(gitRoot ? { watch: { path: gitRoot, branch: currentBranch(gitRoot) } } : {}),
        logger,
      };
    }

    const view = await RepositoryFleetView.open(options);
    cleanups.unshift(() => view.close());
    let app: FastifyInstance | undefined;
    try {
      // Fail here, before printing a URL, when the repository cannot be read at all.
      const first = await view.snapshot();
      app = Fastify({ loggerInstance: logger as unknown as FastifyBaseLogger }) as unknown as FastifyInstance;
      registerUiRoutes(app, { view, ...(token ? { token } : {}) });
      await app.listen({ host: listen.host, port: listen.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : listen.port;
      const url = `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}/`;
      if (flags.json) ctx.stdout.write(JSON.stringify({ url, source: first.source, nodes: first.nodes.length, hosts: first.hosts.length }) + '\n');
      else ctx.stdout.write(`kaidu ui: ${url}\n  ${options.kind} ${options.name} at ${first.source.revision ?? '?'}, ${first.nodes.length} nodes on ${first.hosts.length} hosts; ${view.live ? 'live: the page updates when the branch moves' : 'reload the page to fetch again'}${token ? '; open it once with ?token=<token>' : ''}\n  Ctrl-C to stop\n`);
      await new Promise<void>((done) => {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      });
    } finally {
      await app?.close();
      for (const c of cleanups) await c();
    }
}
