import type { Agent, PassRecord } from '../agent/agent.js';
import { plan as makePlan } from '../plan/index.js';
import { Listeners, type FleetView } from './fleet-view.js';
import { buildSnapshot, type UiPass, type UiSnapshot } from './snapshot.js';

/** How many passes the page lists. */
const HISTORY = 20;

/**
 * The fleet as one agent sees it: its own state as applied, the other hosts' state from the hub
 * at the revision it last compiled, the plan of that revision for this host against its current
 * state, and its last passes. Live: every pass end is an event.
 */
export class AgentFleetView implements FleetView {
  readonly live = true;
  private readonly passes: PassRecord[] = [];
  private readonly messages = new Map<string, string>();
  private readonly listeners = new Listeners<string>();
  private readonly unsubscribe: () => void;
  /** Built once per pass end: a page reload or many open pages do not re-plan each time. */
  private cached: Promise<UiSnapshot> | undefined;

  constructor(private readonly agent: Agent) {
    this.unsubscribe = agent.onPassEnd((p) => {
      this.passes.unshift(p);
      this.passes.length = Math.min(this.passes.length, HISTORY);
      this.cached = undefined;
      this.listeners.emit(`pass ${p.result}`);
    });
  }

  subscribe(changed: (reason: string) => void): () => void {
    return this.listeners.add(changed);
  }

  snapshot(): Promise<UiSnapshot> {
    // A pass running now changes nothing the snapshot shows until it ends (then the cache is dropped).
    if (!this.cached) {
      const building = this.build();
      this.cached = building;
      building.catch(() => {
        if (this.cached === building) this.cached = undefined;
      });
    }
    return this.cached;
  }

  private async build(): Promise<UiSnapshot> {
    const status = this.agent.status();
    const latest = this.agent.latestCompile();
    const local = structuredClone(this.agent.localState()) as Record<string, NonNullable<ReturnType<Agent['localState']>[string]>>;
    const state = { ...(latest?.snapshot ?? {}), [status.host]: local };
    const thePlan = latest ? makePlan(latest.topology, state, latest.planOptions) : undefined;
    const passes: UiPass[] = [];
    for (const p of this.passes) passes.push({ at: p.at, host: status.host, revision: p.revision, ...(await this.message(p.revision)), result: p.result, durationMs: p.durationMs, ...(p.error ? { error: p.error } : {}) });
    return buildSnapshot({
      source: { kind: 'agent', name: status.host, revision: latest?.revision ?? null, live: true },
      ...(latest ? { topology: latest.topology } : {}),
      state,
      ...(thePlan ? { plan: thePlan } : {}),
      passes,
      agent: { host: status.host, ready: status.ready, hubReachable: status.hubReachable, seen: status.seen, pendingPush: status.pendingPush, lastPass: status.lastPass },
    });
  }

  private async message(oid: string | null): Promise<{ message?: string }> {
    if (!oid) return {};
    let m = this.messages.get(oid);
    if (m === undefined) {
      try {
        m = (await this.agent.commitMessage(oid))?.split('\n')[0];
      } catch {
        m = undefined; // the mirror may not hold it (yet): say nothing rather than guess
      }
      if (m === undefined) return {};
      if (this.messages.size > 200) this.messages.clear();
      this.messages.set(oid, m);
    }
    return { message: m };
  }

  async close(): Promise<void> {
    this.unsubscribe();
  }
}
