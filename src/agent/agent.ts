import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { applyPlan, type DelegateSelector } from '../apply/index.js';
import type { CommandRunner, ExitEvent } from '../delegates/types.js';
import { isKaiduError } from '../errors/kaidu-error.js';
import type { RepoEvent } from '../events/index.js';
import { PassQueue } from '../events/index.js';
import { openHub, phaseClock, readStateBranches, STATE_BRANCH_PREFIX, stateBranch, type GitAuth, type Hub, type Phases, type StateBranchTip } from '../git/index.js';
import { plan as makePlan, type Plan, type PlanOptions } from '../plan/index.js';
import { loadRepository, ServiceMemo, type RepoSettings } from '../repository/index.js';
import { reclaimAfterPass } from './heap.js';
import { serializeServiceState, stateFilePath } from '../state/serialize.js';
import type { NodeStatus, ServiceState, StateSnapshot } from '../state/model.js';
import { readFleetState } from '../state/fleet-state.js';
import { createCompileCache, type CompileCache } from '../tosca/index.js';
import type { SourceReader } from '../tosca/model.js';
import type { Diagnostic } from '../tosca/diagnostic.js';
import { RetryTimer, type BackoffOptions } from './backoff.js';
import type { Topology } from '../topology/model.js';
import { Journal } from './journal.js';
import { AgentMetrics } from './metrics.js';
import { repairDamagedServices, type StateRepair } from './state-repair.js';

export interface AgentOptions {
  /** Hub: a smart-HTTP URL, or a local path opened directly as a git directory. */
  repo: string;
  /** Give memory back after a pass that allocated much (the `kaidu agent` process does; tests sharing a process need not). */
  reclaimMemory?: boolean;
  host: string;
  branch: string;
  dataDir: string;
  profiles: SourceReader;
  delegates: DelegateSelector;
  runner: CommandRunner;
  logger: Logger;
  gitAuth?: GitAuth;
  author?: { name: string; email: string };
  concurrency?: number;
  actionTimeoutMs?: number;
  metrics?: AgentMetrics;
  /** Delays before a pass the hub interrupted runs again (capped exponential, jittered). */
  retry?: BackoffOptions;
}

/** At most this many template diagnostics are carried in `/status`. */
const MAX_STATUS_DIAGNOSTICS = 50;

export interface AgentStatus {
  host: string;
  branch: string;
  /** The revision whose templates this host last applied. */
  revision: string | null;
  /** Branch tip last seen. */
  seen: string | null;
  ready: boolean;
  hubReachable: boolean;
  lastPass: {
    at: string;
    result: string;
    durationMs: number;
    error?: string;
    /** Services left alone because their templates have errors (the pass is `failed`). */
    skippedServices?: string[];
    /** The errors found in the templates and state files at the revision planned. */
    diagnostics?: Diagnostic[];
    /** This host's damaged state files the pass rebuilt. */
    repairs?: StateRepair[];
  } | null;
  /** A pass the hub interrupted waits to run again: how many retries since it last answered. */
  hubRetry: { attempts: number; scheduled: boolean } | null;
  /** The last damaged state files of this host that were rebuilt (newest last). */
  stateRepairs: StateRepair[];
  pendingPush: boolean;
  nodes: { service: string; node: string; type: string; status: NodeStatus; attributes: Record<string, unknown>; error?: string }[];
}

/** One pass as it ended, for the UI's history and live updates. */
export interface PassRecord {
  at: string;
  event: string;
  /** The branch tip the pass looked at (null when the hub was never reached). */
  revision: string | null;
  result: string;
  durationMs: number;
  error?: string;
}

/** What the last compile saw: the UI draws it and re-plans this host from it against the current state. */
export interface LatestCompile {
  revision: string;
  topology: Topology;
  /** Every host's recorded state at that revision (this host's own is `localState()`). */
  snapshot: StateSnapshot;
  planOptions: PlanOptions;
  /** kaidu.yaml at that revision (the relay reads `fleet:` from it). */
  settings?: RepoSettings;
}

/**
 * One host's agent: events decide *when*; each pass is fetch → compile → plan (this host) →
 * apply → record → commit+push. Nothing polls; a burst of events becomes one pass on the newest
 * revision (PassQueue).
 */
export class Agent {
  readonly metrics: AgentMetrics;
  private hub!: Hub;
  private readonly journal: Journal;
  private readonly queue: PassQueue;
  private readonly cache: CompileCache = createCompileCache();
  private readonly memo = new ServiceMemo();
  /** This host's own state as last applied (authoritative for this host). */
  private local: Record<string, ServiceState> = {};
  private lastTip: string | undefined;
  /** The last tree diff taken (by `relevant`), reused to tell the memo what changed. */
  private lastDiff: { from: string; to: string; paths: string[] } | undefined;
  private appliedRevision: string | null = null;
  private dependsOnHosts = new Set<string>();
  /** Tips of the state branches of the hosts this one depends on, as last planned with. */
  private stateTips = new Map<string, string>();
  /** This host's state branch as this agent last pushed or took it over (undefined: none yet). */
  private ownTip: string | undefined;
  private pendingPush = false;
  private hubReachable = false;
  private ready = false;
  private lastPass: AgentStatus['lastPass'] = null;
  private readonly retry: RetryTimer;
  /** The journal and what runs were taken over (the first pass that reached the hub did it). */
  private recovered = false;
  /** A catch-up pass (start, sync) was asked for and has not planned yet: a retry keeps it forced. */
  private forceNext = false;
  /** The running pass failed talking to the hub (fetch or push): it is retried with backoff. */
  private hubFailed = false;
  /** What the last compile found: services skipped, and every error. */
  private problems: { skipped: string[]; diagnostics: Diagnostic[] } = { skipped: [], diagnostics: [] };
  private repairs: StateRepair[] = [];
  private readonly stateRepairs: StateRepair[] = [];
  /** Per state file of this host, hashes of the last texts this agent pushed ('-': it removed the file). */
  private readonly written = new Map<string, string[]>();
  private readonly exits: ExitEvent[] = [];
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private stateDir = 'state';
  private latest: LatestCompile | undefined;
  private readonly passListeners = new Set<(p: PassRecord) => void>();

  constructor(private readonly opts: AgentOptions) {
    this.metrics = opts.metrics ?? new AgentMetrics();
    this.journal = new Journal(opts.dataDir);
    this.log = opts.logger.child({ host: opts.host });
    this.queue = new PassQueue((event, coalesced) => this.pass(event, coalesced), { logger: this.log });
    this.retry = new RetryTimer(opts.retry);
  }

  /** Clone or fetch, recover the journal, re-adopt what runs, then one catch-up pass. */
  async start(): Promise<void> {
    this.hub = await openHub({ url: this.opts.repo, dataDir: this.opts.dataDir, branch: this.opts.branch, ...(this.opts.gitAuth ? { auth: this.opts.gitAuth } : {}), logger: this.log });
    this.trigger({ source: 'start', receivedAt: new Date().toISOString() });
    await this.queue.idle();
  }

  /** An event from any source: a webhook, the watcher, a hook, an exit, `POST /sync`. */
  trigger(event: RepoEvent): void {
    this.metrics.events.inc({ source: event.source });
    this.queue.push(event);
  }

  /** Resolves when no pass runs or waits. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** SIGTERM: finish the current action, push what was done, stop. Managed processes keep running. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.retry.cancel();
    await this.queue.close();
    this.retry.cancel();
  }

  status(): AgentStatus {
    const nodes: AgentStatus['nodes'] = [];
    for (const [service, st] of Object.entries(this.local).sort(([a], [b]) => a.localeCompare(b))) {
      for (const [node, n] of Object.entries(st.nodes).sort(([a], [b]) => a.localeCompare(b))) {
        nodes.push({ service, node, type: n.type, status: n.status, attributes: n.attributes, ...(n.error ? { error: n.error } : {}) });
      }
    }
    return {
      host: this.opts.host,
      branch: this.opts.branch,
      revision: this.appliedRevision,
      seen: this.lastTip ?? null,
      ready: this.ready,
      hubReachable: this.hubReachable,
      lastPass: this.lastPass,
      hubRetry: this.retry.attempts > 0 || this.retry.armed ? { attempts: this.retry.attempts, scheduled: this.retry.armed } : null,
      stateRepairs: [...this.stateRepairs],
      pendingPush: this.pendingPush,
      nodes,
    };
  }

  /** Called after every pass with how it ended; returns the unsubscribe function. */
  onPassEnd(listener: (p: PassRecord) => void): () => void {
    this.passListeners.add(listener);
    return () => this.passListeners.delete(listener);
  }

  latestCompile(): LatestCompile | undefined {
    return this.latest;
  }

  /** This host's own state as last applied. */
  localState(): Readonly<Record<string, ServiceState>> {
    return this.local;
  }

  /** A commit's message from the local mirror (undefined before the first fetch or when unknown). */
  async commitMessage(oid: string): Promise<string | undefined> {
    if (!this.hub) return undefined;
    return (await this.hub.commitMessage(oid)).message;
  }

  isReady(): boolean {
    return this.ready;
  }

  /** Delegates report exits here; recorded and committed by the next pass, never dropped. */
  readonly onExit = (e: ExitEvent): void => {
    this.exits.push(e);
    this.trigger({ source: 'exit', receivedAt: e.at, detail: { node: e.nodeId, exitCode: e.exitCode, signal: e.signal } });
  };

  private async pass(event: RepoEvent, coalesced: number): Promise<void> {
    const started = Date.now();
    const end = this.metrics.passDuration.startTimer();
    if (coalesced > 0) this.metrics.coalesced.inc(coalesced);
    let result = 'skipped';
    let error: string | undefined;
    if (event.source === 'start' || event.source === 'sync') this.forceNext = true;
    this.hubFailed = false;
    this.repairs = [];
    try {
      result = await this.runPass(event);
      // Templates that did not compile leave their services behind: this host is not where the tip says.
      if (this.problems.skipped.length > 0 && result !== 'error') {
        result = 'failed';
        this.log.error({ services: this.problems.skipped, diagnostics: this.problems.diagnostics.slice(0, 10) }, 'services left alone: their templates have errors');
      }
      this.retry.succeeded();
    } catch (err) {
      result = 'error';
      error = isKaiduError(err) ? err.message : (err as Error).message;
      this.log.error({ err: error, code: isKaiduError(err) ? err.code : undefined, event: event.source }, 'pass failed');
      if (this.hubFailed) this.scheduleRetry(event);
    } finally {
      end();
      this.metrics.passes.inc({ result });
      const failedTemplates = result === 'failed' && this.problems.skipped.length > 0;
      this.lastPass = {
        at: new Date().toISOString(),
        result,
        durationMs: Date.now() - started,
        ...(error ? { error } : {}),
        ...(failedTemplates ? { skippedServices: this.problems.skipped } : {}),
        ...(this.problems.diagnostics.length > 0 ? { diagnostics: this.problems.diagnostics } : {}),
        ...(this.repairs.length > 0 ? { repairs: this.repairs } : {}),
      };
      this.updateNodeGauge();
      // Readiness follows the last pass: ready once a pass reached the hub and finished, not before, not while it fails.
      this.ready = result !== 'error';
      // after the state is pushed, so no event waits for it
      const record: PassRecord = { at: this.lastPass.at, event: event.source, revision: this.lastTip ?? null, result, durationMs: this.lastPass.durationMs, ...(error ? { error } : {}) };
      for (const listener of this.passListeners) {
        try {
          listener(record);
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'a pass listener failed');
        }
      }
      if (this.opts.reclaimMemory && reclaimAfterPass()) this.log.debug({ heapUsed: process.memoryUsage().heapUsed }, 'memory reclaimed after the pass');
    }
  }

  /** The hub did not answer (or kept refusing the push): run the interrupted pass again later. */
  private scheduleRetry(event: RepoEvent): void {
    const delay = this.retry.schedule(() => {
      this.metrics.hubRetries.inc();
      this.trigger({ source: 'retry', receivedAt: new Date().toISOString(), detail: { after: event.source, attempt: this.retry.attempts } });
    });
    if (delay !== undefined) this.log.warn({ inMs: delay, attempt: this.retry.attempts, interrupted: event.source }, 'the hub did not answer: the pass runs again after a delay');
  }

  /** A fetch or push: a failure here is the hub's, retried with backoff. */
  private async atHub<T>(work: () => Promise<T>): Promise<T> {
    try {
      const value = await work();
      this.hubReachable = true;
      return value;
    } catch (err) {
      this.hubReachable = false;
      this.hubFailed = true;
      throw err;
    }
  }

  private async runPass(event: RepoEvent): Promise<string> {
    // Wall and CPU time of each step, in the debug log (the benches read them).
    const phases: Phases = {};
    const phase = phaseClock(phases);
    // The templates branch is fetched while the state branches are listed: two round trips to
    // the hub at once instead of one after the other (neither reads what the other writes).
    const [tip, listed] = await this.atHub(() => Promise.all([this.hub.fetch(), this.hub.listBranches(STATE_BRANCH_PREFIX)]));
    phase('fetch');
    // Only the state branches this host reads: its own and those of the hosts it depends on.
    let readHosts = new Set([this.opts.host, ...this.dependsOnHosts]);
    let branches = await this.atHub(() => readStateBranches(this.hub, { hosts: readHosts, listed }));
    const own = branches.find((b) => b.host === this.opts.host);

    phase('state-branches');
    if (!this.recovered) {
      await this.recover(tip, own);
      this.recovered = true;
      phase('recover');
    }
    // Someone else's commit on this host's branch (before this pass writes on top of it).
    const ownEdited = own !== undefined && own.commit !== this.ownTip && (await this.editedByOthers(this.ownTip, own.commit));
    if (own) this.ownTip = own.commit;
    if (this.pendingPush) await this.pushLocal(this.appliedRevision ?? tip, 'record state that was not pushed yet');
    if (this.exits.length > 0) await this.recordExits(tip);

    const force = this.forceNext || ownEdited;
    const tips = tipsOf(branches, this.opts.host);
    if (!force && tip === this.lastTip && sameTips(tips, this.stateTips)) return 'unchanged';
    if (!force && this.lastTip && sameTips(tips, this.stateTips) && !(await this.relevant(this.lastTip, tip))) {
      this.lastTip = tip;
      return 'irrelevant';
    }

    const reader = this.hub.reader(tip);
    const readState = (stateDir: string) => readFleetState({ templates: reader, stateDir, branches, hosts: readHosts });
    const repo = await loadRepository(reader, { profiles: this.opts.profiles, cache: this.cache, memo: this.memo, revision: tip, readState, ...(await this.changesSinceLoad(tip)) });
    this.stateDir = repo.settings.stateDir;
    phase('load-and-compile');
    const errors = repo.diagnostics.filter((x) => x.severity === 'error');
    for (const d of errors.slice(0, MAX_STATUS_DIAGNOSTICS)) this.log.error({ diagnostic: d }, 'template problem');
    this.problems = { skipped: [...repo.failedServices], diagnostics: errors.slice(0, MAX_STATUS_DIAGNOSTICS) };
    this.metrics.skippedServices.set(repo.failedServices.length);
    await this.repairOwnState(repo, tip);
    let snapshot: StateSnapshot = { ...repo.state.snapshot, [this.opts.host]: structuredClone(this.local) };
    // This host's damaged files were rebuilt above: only other hosts' stay frozen.
    let { [this.opts.host]: _mine, ...frozen } = repo.state.frozen;
    let thePlan = makePlan(repo.topology, snapshot, { revision: tip, host: this.opts.host, fileIds: repo.fileIds, diagnostics: repo.diagnostics, failedServices: repo.failedServices, frozen });
    // The templates name hosts this one now depends on whose state was not read: read it and plan again.
    const needed = remoteHosts(thePlan, this.opts.host);
    if ([...needed].some((h) => !readHosts.has(h))) {
      readHosts = new Set([...readHosts, ...needed]);
      branches = await this.atHub(() => readStateBranches(this.hub, { hosts: readHosts }));
      const stale = new Set(repo.state.diagnostics);
      repo.state = await readState(this.stateDir);
      repo.diagnostics = [...repo.diagnostics.filter((d) => !stale.has(d)), ...repo.state.diagnostics];
      snapshot = { ...repo.state.snapshot, [this.opts.host]: structuredClone(this.local) };
      ({ [this.opts.host]: _mine, ...frozen } = repo.state.frozen);
      thePlan = makePlan(repo.topology, snapshot, { revision: tip, host: this.opts.host, fileIds: repo.fileIds, diagnostics: repo.diagnostics, failedServices: repo.failedServices, frozen });
    }
    this.stateTips = tipsOf(branches, this.opts.host);
    phase('plan');
    this.latest = { revision: tip, topology: repo.topology, snapshot: repo.state.snapshot, planOptions: { revision: tip, host: this.opts.host, fileIds: repo.fileIds, diagnostics: repo.diagnostics, failedServices: repo.failedServices, frozen } };
    this.latest.settings = repo.settings;
    this.dependsOnHosts = remoteHosts(thePlan, this.opts.host);
    this.lastTip = tip;
    this.forceNext = false;
    const hostPlan = thePlan.hosts[0]!;
    const work = hostPlan.summary.create + hostPlan.summary.update + hostPlan.summary.delete + hostPlan.summary.wait;
    if (work === 0) {
      this.appliedRevision = tip;
      this.log.debug({ revision: tip, phases }, 'pass phases');
      return 'noop';
    }
    this.log.info({ revision: tip, summary: hostPlan.summary, event: event.source }, 'applying');
    const applied = await applyPlan({
      plan: thePlan,
      host: this.opts.host,
      topology: repo.topology,
      snapshot,
      revision: tip,
      delegates: this.opts.delegates,
      runner: this.opts.runner,
      dataDir: this.opts.dataDir,
      protectedPaths: [this.hub.gitdir],
      readRepoFile: async (path) => {
        const blob = await this.hub.readBlob(tip, path);
        return blob ? Buffer.from(blob) : undefined;
      },
      logger: this.log,
      fileIds: repo.fileIds,
      signal: this.abort.signal,
      concurrency: this.opts.concurrency ?? repo.settings.agent.concurrency,
      actionTimeoutMs: this.opts.actionTimeoutMs ?? repo.settings.agent.actionTimeout * 1000,
      persist: (states) => this.journal.write(states, tip),
      onExit: this.onExit,
    });
    for (const r of applied.results) this.metrics.actions.inc({ kind: r.kind, outcome: r.outcome });
    phase('apply');
    const before = this.local;
    this.local = Object.fromEntries(Object.entries(applied.states).filter((e): e is [string, ServiceState] => e[1] !== null));
    for (const service of Object.keys(before)) if (!(service in this.local) && !(service in applied.states)) this.local[service] = before[service]!;
    this.appliedRevision = tip;
    await this.journal.write(applied.states, tip);
    this.pendingPush = true;
    const s = hostPlan.summary;
    const failed = applied.results.filter((r) => r.outcome === 'failed').length;
    await this.pushLocal(tip, `apply ${tip.slice(0, 12)}: ${s.create} created, ${s.update} updated, ${s.delete} deleted${s.wait ? `, ${s.wait} waiting` : ''}${failed ? `, ${failed} FAILED` : ''}`, applied.states);
    phase('record-and-push');
    this.log.debug({ revision: tip, phases }, 'pass phases');
    return applied.ok ? 'applied' : 'failed';
  }

  /**
   * This host's state files that cannot be read are rebuilt from what runs (each node inspected
   * through its delegate) and committed with a message naming the damage, before anything is
   * planned: otherwise the service would be frozen, its later changes never applied.
   */
  private async repairOwnState(repo: Awaited<ReturnType<typeof loadRepository>>, tip: string): Promise<void> {
    const damaged = repo.state.frozen[this.opts.host] ?? [];
    if (damaged.length === 0) return;
    const { rebuilt, repairs } = await repairDamagedServices({
      host: this.opts.host,
      services: damaged,
      fileOf: (service) => stateFilePath(this.stateDir, this.opts.host, service),
      diagnostics: repo.state.diagnostics,
      known: this.local,
      revision: tip,
      topology: repo.topology,
      snapshot: { ...repo.state.snapshot, [this.opts.host]: structuredClone(this.local) },
      delegates: this.opts.delegates,
      runner: this.opts.runner,
      dataDir: this.opts.dataDir,
      logger: this.log,
      signal: this.abort.signal,
      onExit: this.onExit,
    });
    for (const r of repairs) {
      this.metrics.stateRepairs.inc({ service: r.service });
      this.log.error({ file: r.file, damage: r.error, nodes: r.nodes }, "this host's state file is damaged: rebuilt from what runs");
    }
    for (const [service, st] of Object.entries(rebuilt)) {
      if (st) this.local[service] = st;
      else delete this.local[service];
    }
    this.repairs.push(...repairs);
    this.stateRepairs.push(...repairs);
    this.stateRepairs.splice(0, Math.max(0, this.stateRepairs.length - 20));
    // Journaled first: a push that fails now is retried with the repaired files, not lost.
    await this.journal.write(rebuilt, tip);
    this.pendingPush = true;
    await this.pushLocal(tip, `rebuild damaged state from what runs: ${repairs.map((r) => `${r.file} (${r.error})`).join('; ')}`, rebuilt);
  }

  /**
   * On start: this host's state is taken from its state branch (or, before it has one, from the
   * templates tree: migration), unpushed state from a crash is taken over, then what runs is re-adopted.
   */
  private async recover(tip: string, own: StateBranchTip | undefined): Promise<void> {
    const reader = this.hub.reader(tip);
    const readState = (stateDir: string) => readFleetState({ templates: reader, stateDir, branches: own ? [own] : [], hosts: new Set([this.opts.host]) });
    const repo = await loadRepository(reader, { profiles: this.opts.profiles, cache: this.cache, memo: this.memo, readState, revision: tip, ...(await this.changesSinceLoad(tip)) });
    this.stateDir = repo.settings.stateDir;
    this.local = structuredClone(repo.state.snapshot[this.opts.host] ?? {});
    this.ownTip = own?.commit;
    // Before migration this host's state is on the templates branch: the first push writes all of it to the host's own branch.
    if (!own && Object.keys(this.local).length > 0) this.pendingPush = true;
    const journaled = await this.journal.read(this.opts.host);
    if (journaled) {
      this.log.warn({ revision: journaled.revision }, 'found state that was not pushed before the agent stopped; taking it over');
      for (const [service, st] of Object.entries(journaled.states)) {
        if (st) this.local[service] = st;
        else delete this.local[service];
      }
      this.appliedRevision = journaled.revision;
      this.pendingPush = true;
    }
    // Re-adopt: ask each delegate whether what the state says runs still does.
    let changed = false;
    for (const st of Object.values(this.local)) {
      for (const [key, node] of Object.entries(st.nodes)) {
        const delegate = node.delegate ? this.opts.delegates.byName(node.delegate) : undefined;
        if (!delegate || node.status === 'pending') continue;
        try {
          const seen = await delegate.inspect({
            node: { id: `${st.service}/${key}`, service: st.service, key, name: key.replace(/#\d+$/, ''), host: this.opts.host, type: node.type, types: [node.type], properties: node.properties, env: node.env ?? {}, interfaces: {}, artifacts: {}, fingerprint: node.fingerprint },
            previous: node,
            host: this.opts.host,
            dataDir: this.opts.dataDir,
            readRepoFile: async () => undefined,
            reservedPorts: new Set(),
            runner: this.opts.runner,
            signal: this.abort.signal,
            logger: this.log,
            onExit: this.onExit,
          });
          const status: NodeStatus = seen.exists ? seen.status : 'stopped';
          if (status !== node.status && !(node.status === 'creating' || node.status === 'deleting')) {
            this.log.info({ node: `${st.service}/${key}`, was: node.status, now: status }, 're-adopt: status differs from state');
            node.status = status;
            node.attributes = { ...node.attributes, ...seen.attributes };
            changed = true;
          }
        } catch (err) {
          this.log.warn({ node: `${st.service}/${key}`, err: (err as Error).message }, 're-adopt: cannot inspect');
        }
      }
    }
    if (changed) this.pendingPush = true;
    this.appliedRevision ??= Object.values(this.local)[0]?.revision ?? null;
  }

  private async recordExits(tip: string): Promise<void> {
    const exits = this.exits.splice(0);
    let changed = false;
    for (const e of exits) {
      const [service, key] = splitId(e.nodeId);
      const node = this.local[service]?.nodes[key];
      if (!node || node.status !== 'running') continue;
      node.status = e.exitCode === 0 ? 'stopped' : 'failed';
      node.attributes = { ...node.attributes, exit_code: e.exitCode, status: 'exited', ...(e.signal ? { signal: e.signal } : {}) };
      node.error = e.exitCode === 0 ? undefined : `exited with ${e.signal ? `signal ${e.signal}` : `code ${e.exitCode}`} at ${e.at}`;
      if (node.error === undefined) delete node.error;
      changed = true;
    }
    if (!changed) return;
    this.pendingPush = true;
    await this.journal.write(this.local, this.appliedRevision ?? tip);
    await this.pushLocal(this.appliedRevision ?? tip, `record exit of ${exits.map((e) => e.nodeId).join(', ')}`);
  }

  /**
   * Commits this host's state files to its own state branch (`kaidu/state/<host>`: every file of
   * `this.local`, and the removal of each service `states` ends) and pushes. Only this agent writes
   * that branch, so a rejection means a crash left it behind or someone else wrote it: the change
   * is rebuilt on the branch's new tip. When the hub keeps refusing, the error ends the pass and
   * the pass runs again with backoff, the state waiting in the journal: never dropped.
   */
  private async pushLocal(revision: string, summary: string, states: Record<string, ServiceState | null> = this.local): Promise<void> {
    const files: Record<string, string | null> = {};
    const all: Record<string, ServiceState | null> = { ...this.local };
    for (const [service, st] of Object.entries(states)) if (st === null) all[service] = null;
    for (const [service, st] of Object.entries(all)) {
      const path = stateFilePath(this.stateDir, this.opts.host, service);
      files[path] = st ? serializeServiceState({ ...st, host: this.opts.host, service }) : null;
      // Remembered before the push: its webhook may arrive before the push call returns.
      const seen = this.written.get(path) ?? [];
      seen.push(textHash(files[path]));
      this.written.set(path, seen.slice(-16));
    }
    const res = await this.atHub(() => this.hub.commitAndPush(
      {
        files,
        message: `kaidu(${this.opts.host}): ${summary}`,
        author: this.opts.author ?? { name: `kaidu agent ${this.opts.host}`, email: `kaidu@${this.opts.host}` },
        trailers: { 'Kaidu-Host': this.opts.host, 'Kaidu-Revision': revision },
      },
      { maxRetries: 8, branch: stateBranch(this.opts.host) },
    ));
    if (res.retries > 0) this.metrics.pushRetries.inc(res.retries);
    this.ownTip = res.oid ?? (await this.hub.branchTip(stateBranch(this.opts.host)));
    this.pendingPush = false;
    await this.journal.clear();
    this.log.info({ commit: res.oid ?? null, retries: res.retries }, res.oid ? 'state pushed' : 'state unchanged');
  }

  /** What changed since the revision the compile memo last loaded: one tree diff instead of a file-id lookup per template. */
  private async changesSinceLoad(tip: string): Promise<{ changedSince?: { revision: string; paths: readonly string[] } }> {
    const from = this.memo.revision;
    if (!from) return {};
    if (from === tip) return { changedSince: { revision: from, paths: [] } };
    const paths = this.lastDiff?.from === from && this.lastDiff.to === tip ? this.lastDiff.paths : await this.hub.changedPaths(from, tip);
    return { changedSince: { revision: from, paths } };
  }

  /** Did a commit other than this agent's change its own state files between two tips of its state branch? */
  private async editedByOthers(from: string | undefined, to: string): Promise<boolean> {
    const prefix = `${this.stateDir}/${this.opts.host}/`;
    for (const p of await this.hub.changedPaths(from, to)) {
      if (p.startsWith(prefix) && !(await this.isOwnWrite(to, p))) return true;
    }
    return false;
  }

  /** Does moving from `from` to `to` touch anything this host runs or depends on? */
  private async relevant(from: string, to: string): Promise<boolean> {
    const paths = await this.hub.changedPaths(from, to);
    this.lastDiff = { from, to, paths };
    const prefix = `${this.stateDir}/`;
    for (const p of paths) {
      if (!p.startsWith(prefix)) return true; // templates, settings, profiles, artifacts
      const host = p.slice(prefix.length).split('/')[0]!;
      if (host !== this.opts.host && this.dependsOnHosts.has(host)) return true;
      if (host === this.opts.host && !(await this.isOwnWrite(to, p))) return true;
    }
    return false;
  }

  /**
   * Is this file of our own host, as of `commit`, one this agent wrote? (Compared with the texts it
   * pushed, not with its state now: `commit` may be older than its last write.) Anyone else's edit,
   * or damage, is news.
   */
  private async isOwnWrite(commit: string, path: string): Promise<boolean> {
    const name = path.slice(`${this.stateDir}/${this.opts.host}/`.length);
    if (name.includes('/') || !name.endsWith('.yaml')) return true; // not a state file: nothing to keep
    const blob = await this.hub.readBlob(commit, path);
    return this.written.get(path)?.includes(textHash(blob ? Buffer.from(blob).toString('utf8') : null)) ?? false;
  }

  private updateNodeGauge(): void {
    const counts = new Map<string, number>();
    for (const st of Object.values(this.local)) for (const n of Object.values(st.nodes)) counts.set(n.status, (counts.get(n.status) ?? 0) + 1);
    this.metrics.nodes.reset();
    for (const [status, n] of counts) this.metrics.nodes.set({ status }, n);
  }
}

/** State branch tips of the other hosts read. */
function tipsOf(branches: readonly StateBranchTip[], me: string): Map<string, string> {
  return new Map(branches.filter((b) => b.host !== me).map((b) => [b.host, b.commit]));
}

function sameTips(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function textHash(text: string | null): string {
  return text === null ? '-' : createHash('sha256').update(text).digest('hex');
}

function splitId(id: string): [string, string] {
  const i = id.indexOf('/');
  return [id.slice(0, i), id.slice(i + 1)];
}

/** Hosts whose state this host's nodes read or wait for. */
function remoteHosts(p: Plan, me: string): Set<string> {
  const out = new Set<string>();
  for (const a of p.hosts.flatMap((h) => h.waves.flat())) {
    for (const d of a.dependsOn) {
      const h = p.placement[d];
      if (h && h !== me) out.add(h);
    }
  }
  return out;
}
