import type { Diagnostic } from '../tosca/diagnostic.js';
import type { NodeState, StateSnapshot } from '../state/model.js';
import { fingerprint } from '../state/fingerprint.js';
import { dependencyLevels, edgesFrom } from '../topology/build.js';
import { isA } from '../topology/kinds.js';
import { nodesOnHost, placementOf } from '../topology/lookup.js';
import type { NodeInstance, Topology } from '../topology/model.js';
import type { CompiledNode } from '../tosca/model.js';
import { diffProperties } from './diff.js';
import { emptySummary, PLAN_SCHEMA, type Action, type ActionKind, type HostPlan, type Plan } from './model.js';
import { nodeStateOf, resolveNode, stateKey, type ResolvedNode } from './resolve.js';
import { compareNames } from '../tosca/name-order.js';

export interface PlanOptions {
  /** Revision of templates and state planned from (commit oid, or `working-tree`). */
  revision: string;
  baseRevision?: string;
  /** Plan only this host (an agent); default: every host in the topology or the state. */
  host?: string;
  /** Content ids of repository files (path → blob id), so an edited script or config template counts as a change. */
  fileIds?: Record<string, string>;
  /** Compile diagnostics, carried into the plan for review. */
  diagnostics?: Diagnostic[];
  /** Services whose templates did not compile: their nodes are left alone, never deleted because of it. */
  failedServices?: readonly string[];
  /** host → services whose state file there is damaged: no action for them on that host until it is fixed. */
  frozen?: Readonly<Record<string, readonly string[]>>;
}

/** Updates of these only rewrite something in place; any other update restarts or recreates. */
const IN_PLACE_TYPES = ['kaidu:ConfigFile', 'kaidu:Port', 'kaidu:Directory'];

/** Repository files a node's behaviour depends on: scripts, artifacts, config templates. */
export function filesOf(instance: NodeInstance): string[] {
  const t = instance.template;
  if (isEmpty(t.interfaces) && isEmpty(t.artifacts) && t.properties.template === undefined) return [];
  const files = new Set<string>();
  for (const iface of Object.values(t.interfaces)) {
    for (const op of Object.values(iface.operations)) {
      if (op.implementation) files.add(op.implementation);
      for (const d of op.dependencies) files.add(d);
    }
  }
  for (const a of Object.values(t.artifacts)) if (a.file && !/^[a-z]+:\/\//i.test(a.file)) files.add(a.file);
  if (isA(t, 'kaidu:ConfigFile') && typeof t.properties.template === 'string') files.add(t.properties.template);
  return [...files].sort();
}

// Fingerprints of templates that depend on nothing but themselves (no calls, no wiring, no files):
// a compiled template never changes, so planning 100,000 of them again hashes none.
const ownFingerprints = new WeakMap<object, string>();

/** The fingerprint a node's state records: everything that, when changed, must reach the host. */
export function desiredFingerprint(instance: NodeInstance, resolved: Pick<ResolvedNode, 'display' | 'env'> & { plain?: boolean }, fileIds: Record<string, string> = {}): string {
  const files = filesOf(instance);
  if (resolved.plain && files.length === 0) return ownFingerprint(instance.template);
  return fingerprint({ type: instance.template.type, properties: resolved.display, env: resolved.env, files: Object.fromEntries(files.map((f) => [f, fileIds[f] ?? null])) });
}

/**
 * The fingerprint of a template used as it is (its properties are its display form: no calls, no
 * wiring, no files), which is all a plain node's desired fingerprint depends on.
 */
export function ownFingerprint(template: CompiledNode): string {
  let fp = ownFingerprints.get(template);
  if (!fp) {
    fp = fingerprint({ type: template.type, properties: { ...template.properties }, env: {}, files: {} });
    ownFingerprints.set(template, fp);
  }
  return fp;
}

/**
 * Own fingerprints computed by an earlier run of this same build (kept with the compile result on
 * disk), so a warm plan hashes no unchanged template. Only well-formed ones are taken.
 */
export function rememberOwnFingerprint(template: CompiledNode, fp: unknown): void {
  if (typeof fp === 'string' && /^sha256:[0-9a-f]{32}$/.test(fp)) ownFingerprints.set(template, fp);
}

/** What each instance needs before it can be applied: its requirements' targets and the nodes whose attributes it reads. */
export function needsOf(instance: NodeInstance, topology: Topology, resolved?: ResolvedNode): string[] {
  const out = new Set<string>();
  for (const e of edgesFrom(topology, instance.id)) {
    if (topology.nodes[e.target]?.isHost) continue;
    out.add(e.target);
  }
  for (const r of resolved?.refs ?? []) if (r !== instance.id && !topology.nodes[r]?.isHost) out.add(r);
  return [...out].sort();
}

/**
 * Diff of desired (topology) against recorded (state) for one host or all, as waves of actions.
 * Pure and deterministic: the same inputs give the same plan, byte for byte once rendered.
 */
export function plan(topology: Topology, snapshot: StateSnapshot, options: PlanOptions): Plan {
  const hostNames = options.host
    ? [options.host]
    : [...new Set([...Object.keys(topology.hosts), ...Object.keys(snapshot)])].sort();
  const failed = new Set(options.failedServices ?? []);
  const hosts = hostNames.map((h) => planHost(h, nodesOnHost(topology, h), topology, snapshot, options, failed));
  const summary = emptySummary();
  for (const h of hosts) for (const k of Object.keys(summary) as ActionKind[]) summary[k] += h.summary[k];
  return {
    schema: PLAN_SCHEMA,
    revision: options.revision,
    ...(options.baseRevision ? { baseRevision: options.baseRevision } : {}),
    hosts,
    diagnostics: [...(options.diagnostics ?? []), ...topology.diagnostics],
    summary,
    placement: placementOf(topology),
  };
}

function planHost(host: string, onHost: readonly NodeInstance[], topology: Topology, snapshot: StateSnapshot, options: PlanOptions, failed: ReadonlySet<string>): HostPlan {
  const frozen = new Set(options.frozen?.[host] ?? []);
  const desired = frozen.size ? onHost.filter((n) => !frozen.has(n.service)) : onHost;
  const actions = new Map<string, Action>();
  const needs = new Map<string, string[]>();

  for (const inst of desired) {
    const resolved = resolveNode(inst, topology, snapshot);
    const current = nodeStateOf(snapshot, inst);
    const deps = needsOf(inst, topology, resolved);
    needs.set(inst.id, deps.filter((d) => topology.nodes[d]?.host === host));
    const remote = deps.filter((d) => topology.nodes[d]?.host !== host);
    const notReady = remote.filter((d) => nodeStateOf(snapshot, topology.nodes[d]!)?.status !== 'running');
    const fp = desiredFingerprint(inst, resolved, options.fileIds);
    // An up-to-date node (most of them) needs no property diff: its changes are never shown.
    const upToDate = notReady.length === 0 && current?.status === 'running' && current.fingerprint === fp;
    const changes = upToDate
      ? []
      : [...diffProperties(current?.properties, resolved.display), ...diffProperties(current?.env, resolved.env, 'env')];
    let kind: ActionKind;
    let reason: string;
    let waitingFor: string[] | undefined;
    if (notReady.length > 0) {
      kind = 'wait';
      waitingFor = notReady.map((d) => `${d}@${topology.nodes[d]!.host ?? '?'}`);
      reason = `waits for ${waitingFor.join(', ')} to be running`;
    } else if (!current || current.status === 'pending') {
      kind = 'create';
      reason = current ? 'new node (it was waiting)' : 'new node';
    } else if (current.status === 'failed') {
      kind = 'update';
      reason = `the last apply failed${current.error ? `: ${firstLine(current.error)}` : ''}; trying again`;
    } else if (current.status === 'creating' || current.status === 'deleting') {
      kind = 'update';
      reason = `an earlier apply was interrupted (status ${current.status}); finishing it`;
    } else if (current.status === 'stopped') {
      kind = 'update';
      reason = 'it stopped; starting it again';
    } else if (!upToDate) {
      kind = 'update';
      reason = changes.length > 0 ? `configuration changed (${changes.map((c) => c.path).join(', ')})` : 'a file it uses changed';
    } else {
      kind = 'noop';
      reason = 'up to date';
    }
    actions.set(inst.id, {
      kind,
      node: inst.id,
      service: inst.service,
      key: stateKey(inst),
      host,
      type: inst.template.type,
      types: inst.template.types,
      reason,
      changes,
      dependsOn: deps,
      ...(waitingFor ? { waitingFor } : {}),
      destructive: kind === 'update' && !IN_PLACE_TYPES.some((t) => isA(inst.template, t)),
      desired: { fingerprint: fp, properties: resolved.properties, env: resolved.env },
      ...(current ? { currentStatus: current.status } : {}),
    });
  }

  // What a dependency does reaches its dependents: a waiting one holds them back, a changed one
  // restarts them (so a process picks up a re-rendered config or a moved database).
  const levels = dependencyLevels(desired.map((d) => d.id), (id) => needs.get(id) ?? []);
  for (const level of levels) {
    for (const id of level) {
      const a = actions.get(id)!;
      for (const dep of needs.get(id) ?? []) {
        const d = actions.get(dep);
        if (!d) continue;
        if (d.kind === 'wait' && a.kind !== 'wait') {
          a.kind = 'wait';
          a.waitingFor = [...(a.waitingFor ?? []), `${dep}@${host}`];
          a.reason = `waits for ${dep}, which is waiting`;
          a.destructive = false;
        } else if ((d.kind === 'create' || d.kind === 'update') && a.kind === 'noop') {
          a.kind = 'update';
          a.reason = `${dep}, which it needs, changes`;
          a.destructive = !IN_PLACE_TYPES.some((t) => a.types.includes(t) || a.type === t);
        }
      }
    }
  }

  // Deletes: recorded on this host, no longer desired here.
  const deletes: Action[] = [];
  const deleteNeeds = new Map<string, string[]>();
  for (const [service, svcState] of Object.entries(snapshot[host] ?? {}).sort(([a], [b]) => compareNames(a, b))) {
    if (failed.has(service) || frozen.has(service)) continue;
    for (const [key, st] of Object.entries(svcState.nodes).sort(([a], [b]) => compareNames(a, b))) {
      const id = `${service}/${key}`;
      if (actions.has(id)) continue;
      const elsewhere = topology.nodes[id]?.host;
      deletes.push(deleteAction(id, service, key, host, st, elsewhere && elsewhere !== host ? `moved to ${elsewhere}` : topology.services[service] ? 'removed from the templates' : `service ${service} was removed`));
      deleteNeeds.set(id, (st.dependsOn ?? []).map((k) => `${service}/${k}`));
    }
  }
  // A node is deleted before what it needed: order by "who needs me", reversed.
  const dependents = new Map<string, string[]>();
  for (const [id, deps] of deleteNeeds) for (const d of deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(id);
  const deleteLevels = dependencyLevels(deletes.map((d) => d.node), (id) => dependents.get(id) ?? []);
  const byId = new Map(deletes.map((d) => [d.node, d]));

  const waves: Action[][] = [
    ...deleteLevels.map((l) => l.map((id) => byId.get(id)!)),
    ...levels.map((l) => l.map((id) => actions.get(id)!)),
  ].map((w) => w.sort((a, b) => compareNames(a.node, b.node)));
  const summary = emptySummary();
  for (const w of waves) for (const a of w) summary[a.kind]++;
  return { host, waves: waves.filter((w) => w.length > 0), summary };
}

function deleteAction(id: string, service: string, key: string, host: string, st: NodeState, reason: string): Action {
  return {
    kind: 'delete',
    node: id,
    service,
    key,
    host,
    type: st.type,
    types: [st.type],
    reason,
    changes: Object.keys(st.properties).sort().map((path) => ({ path, old: st.properties[path]! })),
    dependsOn: (st.dependsOn ?? []).map((k) => `${service}/${k}`),
    destructive: true,
    currentStatus: st.status,
  };
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 200);
}
