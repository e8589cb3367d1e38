/**
 * How an event reaches every agent of a fleet that a forge can only call a few of (GitHub: at most
 * 20 webhooks). Each event that arrives (a forge webhook, `kaidu notify`, a CI trigger, or a copy
 * relayed by another agent) goes through here once:
 *  - deliver: a templates push starts a pass; a push to `kaidu/state/<h>` starts one only on the
 *    hosts whose nodes depend on <h> (an index built once per revision), the others drop it without
 *    fetching;
 *  - relay: along the relay tree of `fleet:` (src/events/relay-tree.ts) — the whole fleet for a
 *    templates push, only the dependents of <h> for a state push — signed with the webhook secret,
 *    after the sender has had its answer, with bounded concurrency, each copy retried with capped,
 *    jittered backoff, then logged and counted when the child stays unreachable (it catches up
 *    when it starts again).
 * An event id that is the same on every copy, kept in a bounded cache, drops the second parent's
 * copy, so a relayed event starts no second pass.
 */
import type { Logger } from 'pino';
import type { RepoEvent } from '../events/event.js';
import { eventId, relayHeaders, SeenEvents, DEFAULT_RELAY_MAX_AGE_MS } from '../events/relay-message.js';
import { buildRelayTree, relayTargets, type RelayTree } from '../events/relay-tree.js';
import { stateHostOfRef } from '../events/state-ref.js';
import type { RelayedEvent } from '../events/webhooks.js';
import { hostDependents } from '../plan/host-dependents.js';
import { resolveFleet, type Fleet } from '../repository/fleet.js';
import type { RepoSettings } from '../repository/settings.js';
import type { Topology } from '../topology/model.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { AgentMetrics } from './metrics.js';

/** What the relay needs from the last compile: the hosts, their dependencies and `fleet:`. */
export interface CompiledFleetSource {
  revision: string;
  topology: Topology;
  settings?: RepoSettings;
}

export interface EventRelayOptions {
  /** This host. */
  self: string;
  /** The HMAC key for relayed copies (the webhook secret); without one nothing is relayed. */
  secret?: string;
  /** The newest compile, or undefined before the first one. */
  compiled: () => CompiledFleetSource | undefined;
  /** Starts (or queues) a pass. */
  trigger: (e: RepoEvent) => void;
  logger: Logger;
  metrics: AgentMetrics;
  /** Copies sent at once; default 8. */
  concurrency?: number;
  /** Tries per copy before it is given up; default 6. */
  attempts?: number;
  /** Delays between tries; default 250 ms doubling up to 30 s, jittered. */
  retry?: BackoffOptions;
  /** Per try; default 10 s. */
  timeoutMs?: number;
  maxAgeMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

interface Job {
  host: string;
  url: string;
  id: string;
  path: string[];
  body: string;
  attempt: number;
}

/** The compiled fleet of one revision, with the trees built so far. */
interface FleetView {
  revision: string;
  fleet: Fleet;
  dependents: Map<string, string[]>;
  tree: RelayTree;
  stateTrees: Map<string, RelayTree>;
}

/** Events waiting for the first compile, to be relayed then; older ones are dropped (the pass catches up anyway). */
const MAX_WAITING = 32;
/** Copies waiting to be sent; beyond it the oldest are given up (counted as failed). */
const MAX_QUEUED = 10_000;
const STATE_TREE_CACHE = 256;

export class EventRelay {
  private readonly seen: SeenEvents;
  private view: FleetView | undefined;
  private readonly queue: Job[] = [];
  private active = 0;
  /** Accepted copies whose delivery and relaying are still to run (just after the reply). */
  private scheduled = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiting: { event: RepoEvent; id: string; path: string[] }[] = [];
  private closed = false;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly idleWaiters: (() => void)[] = [];
  private warnedNoSecret = false;

  constructor(private readonly opts: EventRelayOptions) {
    this.now = opts.now ?? Date.now;
    this.seen = new SeenEvents(10_000, opts.maxAgeMs ?? DEFAULT_RELAY_MAX_AGE_MS);
    this.log = opts.logger.child({ component: 'relay' });
  }

  /** An event from the forge, `kaidu notify`, CI or a hook: this host is the entry point. */
  fromSource(event: RepoEvent): void {
    const before = typeof event.detail?.before === 'string' ? event.detail.before : undefined;
    const id = eventId(event.ref ?? '', event.after, before, `${event.source}:${event.deliveryId ?? ''}:${event.receivedAt}:${Math.random()}`);
    if (event.ref && this.seen.checkAndAdd(id, this.now())) {
      this.log.debug({ id, source: event.source }, 'event already received through the relay tree');
      return;
    }
    this.deliver(event);
    if (event.ref) this.relay(event, id, [], true);
  }

  /** A copy another agent relayed (checked by the route). */
  fromRelay(m: RelayedEvent): 'accepted' | 'duplicate' | 'loop' {
    if (m.envelope.path.includes(this.opts.self)) {
      this.opts.metrics.relayReceived.inc({ result: 'loop' });
      return 'loop';
    }
    if (this.seen.checkAndAdd(m.envelope.id, this.now())) {
      this.opts.metrics.relayReceived.inc({ result: 'duplicate' });
      return 'duplicate';
    }
    this.opts.metrics.relayReceived.inc({ result: 'accepted' });
    // After the reply: the sender waits for nothing but the answer.
    this.scheduled++;
    setImmediate(() => {
      this.scheduled--;
      if (!this.closed) {
        this.deliver(m.event);
        this.relay(m.event, m.envelope.id, m.envelope.path, false);
      }
      this.checkIdle();
    });
    return 'accepted';
  }

  /** A relayed copy the route refused before it reached `fromRelay`. */
  refused(): void {
    this.opts.metrics.relayReceived.inc({ result: 'refused' });
  }

  /**
   * A pass ended (maybe on a new revision): build the fleet's view now, off the path of the next
   * event (the index of dependents and the tree cost ~0.1 s at 1,000 hosts), and relay what waited
   * for the fleet to be known.
   */
  compiledChanged(): void {
    const compiled = this.opts.compiled();
    if (compiled && !compiled.settings?.fleet) this.waiting.length = 0; // no `fleet:` after all
    if (!this.currentView() || this.waiting.length === 0) return;
    for (const w of this.waiting.splice(0)) this.relay(w.event, w.id, w.path, w.path.length === 0);
  }

  /** A copy is being sent, queued, waiting for a retry, or accepted and not yet passed on. */
  get busy(): boolean {
    return this.active > 0 || this.queue.length > 0 || this.timers.size > 0 || this.scheduled > 0;
  }

  /** Resolves when not busy. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops relaying: pending retries are dropped (the children catch up when they next hear of a push or start). */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.checkIdle();
  }

  /** Does a state push of `host` concern this host? Unknown before the first compile: yes. */
  concernsThisHost(host: string): boolean {
    const view = this.currentView();
    if (view) return view.dependents.get(host)?.includes(this.opts.self) ?? false;
    const compiled = this.opts.compiled();
    if (!compiled) return true;
    return hostDependents(compiled.topology).get(host)?.includes(this.opts.self) ?? false;
  }

  private deliver(event: RepoEvent): void {
    const stateHost = stateHostOfRef(event.ref);
    if (stateHost === this.opts.self) {
      this.opts.metrics.eventsDropped.inc({ reason: 'own-state' });
      return;
    }
    if (stateHost && !this.concernsThisHost(stateHost)) {
      this.opts.metrics.eventsDropped.inc({ reason: 'state' });
      this.log.debug({ ref: event.ref }, 'state push of a host this one does not depend on: dropped without fetching');
      return;
    }
    this.opts.trigger(event);
  }

  private relay(event: RepoEvent, id: string, path: string[], entry: boolean): void {
    if (this.closed) return;
    const compiled = this.opts.compiled();
    if (compiled && !compiled.settings?.fleet) return; // no `fleet:`: nothing to relay to
    if (!this.opts.secret) {
      if (!this.warnedNoSecret) this.log.warn('kaidu.yaml has a fleet section but this agent has no webhook secret: events are not relayed');
      this.warnedNoSecret = true;
      return;
    }
    const view = this.currentView();
    if (!view) {
      // Before the first compile the fleet is unknown: relay once it is.
      this.waiting.push({ event, id, path });
      if (this.waiting.length > MAX_WAITING) this.waiting.shift();
      return;
    }
    const stateHost = stateHostOfRef(event.ref);
    const tree = stateHost ? this.stateTree(view, stateHost) : view.tree;
    const targets = relayTargets(tree, this.opts.self, entry, path);
    if (targets.length === 0) return;
    const nextPath = [...path, this.opts.self];
    const source = event.source === 'relay' ? event.detail?.origin : event.source === 'hook' || event.source === 'github' || event.source === 'gitlab' || event.source === 'gitea' || event.source === 'generic' ? event.source : undefined;
    const body = JSON.stringify({
      ref: event.ref,
      ...(event.after ? { after: event.after } : {}),
      ...(typeof event.detail?.before === 'string' && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(event.detail.before) ? { before: event.detail.before } : {}),
      ...(typeof source === 'string' ? { source } : {}),
    });
    this.log.debug({ id, ref: event.ref, to: targets, hop: nextPath.length }, 'relaying');
    for (const host of targets) this.enqueue({ host, url: relayUrl(view.fleet.urls.get(host)!), id, path: nextPath, body, attempt: 0 });
  }

  private currentView(): FleetView | undefined {
    const compiled = this.opts.compiled();
    if (!compiled?.settings?.fleet) return undefined;
    if (this.view?.revision === compiled.revision) return this.view;
    const fleet = resolveFleet(compiled.topology.hosts, compiled.settings);
    if (!fleet) return undefined;
    for (const u of fleet.unreachable) this.log.warn({ host: u.host, reason: u.reason }, 'host without an agent URL: it gets no relayed events');
    if (fleet.unknownRoots.length > 0) this.log.warn({ roots: fleet.unknownRoots }, 'fleet.roots names hosts that are not in the fleet');
    this.view = {
      revision: compiled.revision,
      fleet,
      dependents: hostDependents(compiled.topology),
      tree: buildRelayTree(fleet.hosts, fleet.roots, { fanout: fleet.fanout }),
      stateTrees: new Map(),
    };
    return this.view;
  }

  /** The tree over the hosts that depend on `host` (its own roots: the first of them by name). */
  private stateTree(view: FleetView, host: string): RelayTree {
    let tree = view.stateTrees.get(host);
    if (!tree) {
      const members = (view.dependents.get(host) ?? []).filter((h) => view.fleet.urls.has(h));
      tree = buildRelayTree(members, view.fleet.roots.filter((r) => members.includes(r)), { fanout: view.fleet.fanout });
      if (view.stateTrees.size >= STATE_TREE_CACHE) view.stateTrees.delete(view.stateTrees.keys().next().value!);
      view.stateTrees.set(host, tree);
    }
    return tree;
  }

  private enqueue(job: Job): void {
    this.queue.push(job);
    if (this.queue.length > MAX_QUEUED) {
      const dropped = this.queue.shift()!;
      this.opts.metrics.relaySent.inc({ result: 'failed' });
      this.log.error({ to: dropped.host, id: dropped.id }, 'relay queue full: a copy was given up');
    }
    this.pump();
  }

  private pump(): void {
    const limit = this.opts.concurrency ?? 8;
    while (!this.closed && this.active < limit && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.active++;
      void this.send(job).finally(() => {
        this.active--;
        this.pump();
        this.checkIdle();
      });
    }
  }

  private async send(job: Job): Promise<void> {
    const headers = relayHeaders({ id: job.id, path: job.path, timestamp: this.now() }, job.body, this.opts.secret!);
    let outcome: 'ok' | 'retry' | 'refused';
    let detail: string;
    try {
      const res = await (this.opts.fetch ?? fetch)(job.url, { method: 'POST', headers, body: job.body, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000), redirect: 'manual' });
      await res.body?.cancel().catch(() => undefined);
      detail = String(res.status);
      // 409: the child saw it on its way (a loop); 4xx otherwise will not change by trying again.
      outcome = res.ok || res.status === 409 ? 'ok' : res.status >= 500 || res.status === 429 || res.status === 408 ? 'retry' : 'refused';
    } catch (err) {
      outcome = 'retry';
      detail = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    }
    if (outcome === 'ok') {
      this.opts.metrics.relaySent.inc({ result: 'delivered' });
      return;
    }
    if (outcome === 'refused') {
      this.opts.metrics.relaySent.inc({ result: 'refused' });
      this.log.error({ to: job.host, url: job.url, status: detail, id: job.id }, 'a relayed event was refused (is the webhook secret the same on both hosts?)');
      return;
    }
    const attempts = this.opts.attempts ?? 6;
    if (job.attempt + 1 >= attempts || this.closed) {
      this.opts.metrics.relaySent.inc({ result: 'failed' });
      this.log.error({ to: job.host, url: job.url, error: detail, tries: job.attempt + 1, id: job.id }, 'could not relay an event: the host catches up when it next starts or hears of a push');
      return;
    }
    this.opts.metrics.relaySent.inc({ result: 'retried' });
    const delay = backoffDelay(job.attempt, { baseMs: 250, maxMs: 30_000, ...this.opts.retry });
    this.log.warn({ to: job.host, error: detail, inMs: delay, attempt: job.attempt + 1 }, 'relay failed; trying again');
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) this.enqueue({ ...job, attempt: job.attempt + 1 });
      this.checkIdle();
    }, delay);
    this.timers.add(timer);
  }

  private checkIdle(): void {
    if (this.busy) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

/** `<agent URL>/hooks/relay`, keeping a path prefix the agent is served under (and replacing a hook path given as the URL). */
export function relayUrl(agentUrl: string): string {
  const base = agentUrl.replace(/\/+$/, '').replace(/\/hooks\/[a-z]+$/, '');
  return `${base}/hooks/relay`;
}
