import type { Logger } from 'pino';
import { watchRepository, type RepositoryWatch } from '../events/index.js';
import type { Hub } from '../git/index.js';
import { plan as makePlan } from '../plan/index.js';
import { createCompileCache } from '../tosca/index.js';
import type { SourceReader } from '../tosca/model.js';
import { loadRepository, ServiceMemo } from '../repository/index.js';
import type { LoadedState } from '../state/load.js';
import type { UiHostLag } from './snapshot.js';
import { Listeners, type FleetView } from './fleet-view.js';
import { buildSnapshot, type UiPass, type UiSnapshot } from './snapshot.js';

export interface RepositoryOpening {
  reader: SourceReader;
  /** Commit oid, or `working-tree`. */
  revision: string;
  /** The templates commit (the checkout's HEAD, the hub's tip). */
  head?: string;
  /** The hosts' state through their state branches (`cli/fleet-source.ts`); default `state/` in `reader`. */
  readState?: (stateDir: string) => Promise<LoadedState>;
  /** The tips of the hosts' state branches, whose histories hold the state commits (passes). */
  stateHeads?: string[];
  /** Per host: its last state commit and lag, from the state `readState` read. */
  lag?: (state: LoadedState) => Promise<UiHostLag[]>;
}

export interface RepositoryViewOptions {
  kind: 'checkout' | 'hub';
  /** Shown on the page: the checkout's path or the hub's URL (without credentials). */
  name: string;
  /** Reads the repository as it is now (a hub is fetched first): called for every snapshot. */
  open(): Promise<RepositoryOpening>;
  /** Git access for the history of state commits. */
  history?: Hub;
  profiles: SourceReader;
  /** A local repository whose branch ref is watched: each move tells the page to look again. */
  watch?: { path: string; branch: string };
  logger?: Logger;
}

/** How many passes the page lists, and how far back the history is searched for them. */
const PASSES = 20;
const MAX_WALK = 500;

/**
 * The fleet as a repository records it: templates and `state/` as they are now, the plan of every
 * host against that state, and the passes agents recorded as state commits. Nothing here asks an
 * agent; statuses are what the state files say.
 */
export class RepositoryFleetView implements FleetView {
  readonly live: boolean;
  private readonly listeners = new Listeners<string>();
  private readonly cache = createCompileCache();
  private readonly memo = new ServiceMemo();
  private watcher: RepositoryWatch | undefined;

  private constructor(private readonly opts: RepositoryViewOptions) {
    this.live = opts.watch !== undefined;
  }

  static async open(opts: RepositoryViewOptions): Promise<RepositoryFleetView> {
    const view = new RepositoryFleetView(opts);
    if (opts.watch) {
      view.watcher = await watchRepository({ path: opts.watch.path, branch: opts.watch.branch, onEvent: () => view.listeners.emit('ref moved'), ...(opts.logger ? { logger: opts.logger } : {}) });
    }
    return view;
  }

  subscribe(changed: (reason: string) => void): () => void {
    return this.listeners.add(changed);
  }

  async snapshot(): Promise<UiSnapshot> {
    const opened = await this.opts.open();
    const repo = await loadRepository(opened.reader, { profiles: this.opts.profiles, cache: this.cache, memo: this.memo, ...(opened.readState ? { readState: opened.readState } : {}) });
    const thePlan = makePlan(repo.topology, repo.state.snapshot, {
      revision: opened.revision,
      fileIds: repo.fileIds,
      diagnostics: repo.diagnostics,
      failedServices: repo.failedServices,
      frozen: repo.state.frozen,
    });
    const heads = [...(opened.head ? [opened.head] : []), ...(opened.stateHeads ?? [])];
    const passes = this.opts.history && heads.length > 0 ? await statePasses(this.opts.history, heads) : [];
    const lag = opened.lag ? await opened.lag(repo.state) : undefined;
    return buildSnapshot({
      source: { kind: this.opts.kind, name: this.opts.name, revision: opened.revision, live: this.live },
      topology: repo.topology,
      state: repo.state.snapshot,
      plan: thePlan,
      passes,
      ...(lag ? { lag } : {}),
    });
  }

  async close(): Promise<void> {
    await this.watcher?.close();
  }
}

/**
 * Passes as agents recorded them: the state commits (trailer `Kaidu-Host`) on the first-parent
 * histories of `heads` (the hosts' state branches, and the templates branch, which holds those
 * of a repository from before state branches), newest first. A state commit records no
 * duration, so none is claimed.
 */
export async function statePasses(hub: Hub, heads: string | string[], limit = PASSES, maxWalk = MAX_WALK): Promise<UiPass[]> {
  const all: UiPass[] = [];
  for (const head of typeof heads === 'string' ? [heads] : heads) all.push(...(await passesOn(hub, head, limit, maxWalk)));
  // Newest first; a stable sort keeps each branch's own order among equal times.
  return all.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, limit);
}

async function passesOn(hub: Hub, head: string, limit: number, maxWalk: number): Promise<UiPass[]> {
  const out: UiPass[] = [];
  const subjects = new Map<string, string | undefined>();
  const subjectOf = async (oid: string): Promise<string | undefined> => {
    if (!subjects.has(oid)) subjects.set(oid, await hub.commitMessage(oid).then((c) => c.message.split('\n')[0], () => undefined));
    return subjects.get(oid);
  };
  let oid: string | undefined = head;
  for (let walked = 0; oid && walked < maxWalk && out.length < limit; walked++) {
    const commit = await hub.commitMessage(oid);
    const host = commit.trailers['Kaidu-Host'];
    if (host) {
      const subject = commit.message.split('\n')[0]!;
      const summary = subject.replace(/^kaidu\([^)]*\):\s*/, '');
      const revision = commit.trailers['Kaidu-Revision'] ?? null;
      const message = revision ? await subjectOf(revision) : undefined;
      out.push({
        at: new Date(commit.author.timestamp * 1000).toISOString(),
        host,
        revision,
        ...(message !== undefined ? { message } : {}),
        result: /\bFAILED\b/.test(summary) ? 'failed' : summary.startsWith('apply ') ? 'applied' : 'recorded',
        durationMs: null,
        detail: summary,
      });
    }
    oid = commit.parents[0];
  }
  return out;
}
