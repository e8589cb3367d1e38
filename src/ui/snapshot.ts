/**
 * The data model of the fleet page (`GET /ui/snapshot`): one JSON value built from a topology,
 * the recorded state, a plan and the pass history. Pure: the sources (agent, checkout, hub) do the
 * I/O; the page only draws what this says.
 */
import type { Plan } from '../plan/model.js';
import type { StateSnapshot } from '../state/model.js';
import type { Diagnostic } from '../tosca/diagnostic.js';
import type { Topology } from '../topology/model.js';

export const UI_SNAPSHOT_SCHEMA = 'kaidu/ui/v1';

/** A node the templates name but no state file records: nothing observed it, so no status is claimed. */
export const NOT_RECORDED = 'not recorded';

export interface UiNode {
  /** `service/node` or `service/node#i`. */
  id: string;
  service: string;
  /** Key in the state file (`node` or `node#i`). */
  key: string;
  /** Undefined when the node could not be placed. */
  host?: string;
  type: string;
  /** A recorded status (`running`, `failed`, …) or `not recorded`. */
  status: string;
  /** False for a node recorded in state whose template is gone (the next pass deletes it). */
  inTemplates: boolean;
  revision?: string;
  appliedAt?: string;
  attributes: Record<string, unknown>;
  error?: string;
  /** For a node the plan makes wait: the remote nodes not ready yet. */
  waitingFor?: string[];
}

export interface UiEdge {
  source: string;
  target: string;
  kind: string;
  /** The relationship type without its namespace, and the requirement: `ConnectsTo (database)`. */
  label: string;
}

export interface UiPass {
  at: string;
  host?: string;
  revision: string | null;
  /** First line of the revision's commit message, when known. */
  message?: string;
  result: string;
  /** Null when the source does not know it (a state commit records no duration). */
  durationMs: number | null;
  error?: string;
  /** What the pass did, in words (a state commit's summary). */
  detail?: string;
}

export interface UiPlanAction {
  kind: string;
  node: string;
  reason: string;
  waitingFor?: string[];
  changes?: { path: string; old?: unknown; new?: unknown }[];
}

export interface UiPlan {
  revision: string;
  hosts: { host: string; summary: Record<string, number>; actions: UiPlanAction[] }[];
}

export interface UiSource {
  kind: 'agent' | 'checkout' | 'hub';
  /** The agent's host, the checkout's path or the hub's URL (credentials removed). */
  name: string;
  /** Revision the topology was compiled from. */
  revision: string | null;
  /** Whether the page receives live updates (server-sent events). */
  live: boolean;
}

/** One host's last state commit and how far it lags behind the templates (a repository view; see `cli/fleet-source.ts`). */
export interface UiHostLag {
  host: string;
  source: 'branch' | 'templates';
  stateCommit: string | null;
  templatesRevision: string | null;
  /** Commits of the templates branch since `templatesRevision`; null: unknown. */
  behind: number | null;
}

export interface UiSnapshot {
  schema: typeof UI_SNAPSHOT_SCHEMA;
  source: UiSource;
  generatedAt: string;
  hosts: string[];
  /** Per host with state: its last state commit and lag (absent when the source cannot tell). */
  lag?: UiHostLag[];
  nodes: UiNode[];
  edges: UiEdge[];
  passes: UiPass[];
  plan: UiPlan | null;
  diagnostics: Diagnostic[];
  agent?: { host: string; ready: boolean; hubReachable: boolean; seen: string | null; pendingPush: boolean; lastPass: { at: string; result: string; durationMs: number; error?: string } | null };
}

export interface SnapshotInput {
  source: UiSource;
  topology?: Topology;
  state: StateSnapshot;
  plan?: Plan;
  passes?: UiPass[];
  diagnostics?: Diagnostic[];
  agent?: UiSnapshot['agent'];
  lag?: UiHostLag[];
  now?: Date;
}

const short = (type: string) => type.replace(/^.*[:.]/, '');

export function buildSnapshot(input: SnapshotInput): UiSnapshot {
  const { topology, state } = input;
  const nodes: UiNode[] = [];
  const seen = new Set<string>();
  const waits = new Map<string, string[]>();
  for (const h of input.plan?.hosts ?? []) for (const a of h.waves.flat()) if (a.kind === 'wait') waits.set(a.node, a.waitingFor ?? []);

  for (const inst of Object.values(topology?.nodes ?? {})) {
    if (inst.isHost) continue;
    const key = inst.id.slice(inst.service.length + 1);
    const recorded = inst.host ? state[inst.host]?.[inst.service]?.nodes[key] : undefined;
    seen.add(`${inst.host}\u0000${inst.id}`);
    nodes.push({
      id: inst.id,
      service: inst.service,
      key,
      ...(inst.host ? { host: inst.host } : {}),
      type: recorded?.type ?? inst.template.type,
      status: recorded?.status ?? NOT_RECORDED,
      inTemplates: true,
      ...(recorded ? { revision: recorded.revision, appliedAt: recorded.appliedAt } : {}),
      attributes: recorded?.attributes ?? {},
      ...(recorded?.error ? { error: recorded.error } : {}),
      ...(waits.has(inst.id) ? { waitingFor: waits.get(inst.id)! } : {}),
    });
  }
  // What state records but the templates no longer name (or a service that failed to compile).
  for (const host of Object.keys(state).sort()) {
    for (const service of Object.keys(state[host]!).sort()) {
      for (const [key, n] of Object.entries(state[host]![service]!.nodes)) {
        const id = `${service}/${key}`;
        if (seen.has(`${host}\u0000${id}`)) continue;
        nodes.push({ id, service, key, host, type: n.type, status: n.status, inTemplates: false, revision: n.revision, appliedAt: n.appliedAt, attributes: n.attributes, ...(n.error ? { error: n.error } : {}) });
      }
    }
  }

  const edges: UiEdge[] = [];
  for (const e of topology?.edges ?? []) {
    // Placement on a machine is drawn as grouping; hosting on another node (a process in a container) is an edge.
    if (e.kind === 'host' && topology!.nodes[e.target]?.isHost) continue;
    if (topology!.nodes[e.source]?.isHost || topology!.nodes[e.target]?.isHost) continue;
    edges.push({ source: e.source, target: e.target, kind: e.kind, label: `${short(e.relationship.type)} (${e.requirement})` });
  }

  const hosts = [...new Set([...Object.keys(topology?.hosts ?? {}), ...Object.keys(state), ...nodes.flatMap((n) => (n.host ? [n.host] : []))])].sort();
  return {
    schema: UI_SNAPSHOT_SCHEMA,
    source: input.source,
    generatedAt: (input.now ?? new Date()).toISOString(),
    hosts,
    ...(input.lag ? { lag: input.lag } : {}),
    nodes,
    edges,
    passes: input.passes ?? [],
    plan: input.plan ? summarisePlan(input.plan) : null,
    diagnostics: input.diagnostics ?? input.plan?.diagnostics ?? topology?.diagnostics ?? [],
    ...(input.agent ? { agent: input.agent } : {}),
  };
}

function summarisePlan(p: Plan): UiPlan {
  return {
    revision: p.revision,
    hosts: p.hosts.map((h) => ({
      host: h.host,
      summary: { ...h.summary },
      actions: h.waves
        .flat()
        .filter((a) => a.kind !== 'noop')
        .map((a) => ({
          kind: a.kind,
          node: a.node,
          reason: a.reason,
          ...(a.waitingFor ? { waitingFor: a.waitingFor } : {}),
          ...(a.changes.length ? { changes: a.changes.map((c) => ({ path: c.path, ...('old' in c ? { old: c.old } : {}), ...('new' in c ? { new: c.new } : {}) })) } : {}),
        })),
    })),
  };
}
