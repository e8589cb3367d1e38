import type { Diagnostic, SourceLocation } from '../tosca/diagnostic.js';
import type { CompiledNode, CompiledPolicy, CompiledService, Value } from '../tosca/model.js';
import { edgeKind, HOST_TYPE, isA, PLACEMENT_POLICY, SPREAD_POLICY } from './kinds.js';
import type { HostInfo, NodeInstance, Topology, TopologyEdge } from './model.js';
import { rankHosts, spreadInstances } from './rendezvous.js';
import { podHostingProblems } from './pod-hosting.js';
import { portClashes } from './port-clash.js';
import { compareNames } from '../tosca/name-order.js';

function diag(code: string, message: string, at: SourceLocation, severity: Diagnostic['severity'] = 'error', hint?: string): Diagnostic {
  return { severity, code, message, file: at.file, line: at.line, column: at.column, ...(hint ? { hint } : {}) };
}

function asString(v: Value | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function asStringMap(v: Value | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v) && !('$fn' in v)) {
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
  }
  return out;
}

function asStringList(v: Value | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Hosts a Placement/Spread policy selects: by name, then narrowed by labels. */
function matchingHosts(policy: CompiledPolicy, hosts: Record<string, HostInfo>): string[] {
  const names = asStringList(policy.properties.hosts);
  const labels = asStringMap(policy.properties.labels);
  return Object.values(hosts)
    .filter((h) => names.length === 0 || names.includes(h.name))
    .filter((h) => Object.entries(labels).every(([k, v]) => h.labels[k] === v))
    .map((h) => h.name)
    .sort();
}

/** A service's part of the topology: its instances, the edges between them, its own problems. */
interface Fragment {
  /** The hosts it was placed against ('' when its placement does not depend on other services' hosts). */
  hostsKey: string;
  nodes: NodeInstance[];
  edges: TopologyEdge[];
  diagnostics: Diagnostic[];
  cycles: Diagnostic[];
}

/** A machine as one service declares it, before merging across services. */
export interface DeclaredHost {
  name: string;
  node: string;
  labels: Record<string, string>;
  address?: string;
  source: SourceLocation;
}

// Compiled services are never changed after compiling, so what is derived from one alone is kept
// with it: a commit that changes one service of 10,000 re-places only that one.
const fragments = new WeakMap<CompiledService, Fragment>();
const declaredHosts = new WeakMap<CompiledService, DeclaredHost[]>();

/**
 * Builds the placed graph from compiled services. Pure: the same services give the same topology
 * on every agent, which is what lets each host plan its own share without talking to the others.
 */
export function buildTopology(services: readonly CompiledService[], opts: { hosts?: Record<string, HostInfo> } = {}): Topology {
  const diagnostics: Diagnostic[] = [];
  const sorted = [...services].sort((a, b) => compareNames(a.name, b.name));
  // Given hosts: one service's share of a bigger topology (its machines merged with every other service's).
  const hosts = opts.hosts ?? mergeHosts(sorted, diagnostics);

  const nodes: Record<string, NodeInstance> = {};
  const edges: TopologyEdge[] = [];
  const cycles: Diagnostic[] = [];
  let hostsKey: string | undefined;
  for (const svc of sorted) {
    const key = svc.policies.some((p) => isA(p, PLACEMENT_POLICY) || isA(p, SPREAD_POLICY)) ? (hostsKey ??= JSON.stringify(hosts)) : '';
    let fragment = fragments.get(svc);
    if (!fragment || fragment.hostsKey !== key) {
      fragment = placeService(svc, hosts, key);
      fragments.set(svc, fragment);
    }
    for (const n of fragment.nodes) nodes[n.id] = n;
    for (const e of fragment.edges) edges.push(e);
    for (const d of fragment.diagnostics) diagnostics.push(d);
    for (const d of fragment.cycles) cycles.push(d);
  }
  for (const d of cycles) diagnostics.push(d);
  for (const d of portClashes(Object.values(nodes))) diagnostics.push(d);
  for (const d of podHostingProblems(nodes, edges)) diagnostics.push(d);
  return { services: Object.fromEntries(sorted.map((s) => [s.name, s])), hosts, nodes, edges, diagnostics };
}

/** A service's part of the topology, as kept with its compile result between runs. */
export type ServiceFragment = Fragment;

/** The fragment `buildTopology` last placed for this service (its instances, edges, own problems). */
export function placedFragment(svc: CompiledService): ServiceFragment | undefined {
  return fragments.get(svc);
}

/**
 * A service's placed instances and edges when they depend on the service alone (no Placement or
 * Spread policy, which choose among every service's hosts); undefined otherwise.
 */
export function ownFragment(svc: CompiledService): ServiceFragment | undefined {
  if (svc.policies.some((p) => isA(p, PLACEMENT_POLICY) || isA(p, SPREAD_POLICY))) return undefined;
  let fragment = fragments.get(svc);
  if (!fragment || fragment.hostsKey !== '') {
    fragment = placeService(svc, {}, '');
    fragments.set(svc, fragment);
  }
  return fragment;
}

/**
 * Takes back a fragment an earlier run of this build made for the same compiled service (read
 * with it, so its instances hold the very template objects): used only when it has that shape.
 */
export function rememberFragment(svc: CompiledService, fragment: unknown): void {
  const f = fragment as Partial<Fragment> | null;
  if (!f || f.hostsKey !== '' || !Array.isArray(f.nodes) || !Array.isArray(f.edges) || !Array.isArray(f.diagnostics) || !Array.isArray(f.cycles)) return;
  if (svc.policies.some((p) => isA(p, PLACEMENT_POLICY) || isA(p, SPREAD_POLICY))) return;
  for (const n of f.nodes) if (!n || n.service !== svc.name || svc.nodes[n.name] !== n.template) return;
  fragments.set(svc, f as Fragment);
}

/** 1. Machines: every kaidu:Host template, merged by name across services. */
function mergeHosts(sorted: readonly CompiledService[], diagnostics: Diagnostic[]): Record<string, HostInfo> {
  return mergeDeclaredHosts(sorted.map(hostsDeclaredIn), diagnostics);
}

/** Machines as services declare them (in service name order), merged by name: the first declaration wins. */
export function mergeDeclaredHosts(perService: readonly (readonly DeclaredHost[])[], diagnostics: Diagnostic[]): Record<string, HostInfo> {
  const hosts: Record<string, HostInfo> = {};
  for (const list of perService) {
    for (const declared of list) {
      const { name, labels, address } = declared;
      const existing = hosts[name];
      if (existing) {
        for (const [k, v] of Object.entries(labels)) {
          if (existing.labels[k] !== undefined && existing.labels[k] !== v) {
            diagnostics.push(diag('W_TOPOLOGY_HOST_LABEL', `host "${name}" has label ${k}=${v} here but ${k}=${existing.labels[k]} in another service; using the first`, declared.source, 'warning'));
          } else existing.labels[k] = v;
        }
        existing.address ??= address;
      } else {
        hosts[name] = { name, node: declared.node, labels: { ...labels }, ...(address ? { address } : {}) };
      }
    }
  }
  return hosts;
}

const templateLists = new WeakMap<CompiledService, CompiledNode[]>();

/** A service's templates in order, listed once: walking a 100,000-key record costs tens of ms each time. */
function templatesOf(svc: CompiledService): CompiledNode[] {
  let list = templateLists.get(svc);
  if (!list) templateLists.set(svc, (list = Object.values(svc.nodes)));
  return list;
}

/** The kaidu:Host templates of one service, as machines. */
export function hostsDeclaredIn(svc: CompiledService): DeclaredHost[] {
  let found = declaredHosts.get(svc);
  if (found) return found;
  found = [];
  for (const node of templatesOf(svc)) {
    if (!isA(node, HOST_TYPE)) continue;
    const address = asString(node.properties.address);
    found.push({ name: asString(node.properties.name) ?? node.name, node: `${svc.name}/${node.name}`, labels: asStringMap(node.properties.labels), ...(address ? { address } : {}), source: node.source });
  }
  declaredHosts.set(svc, found);
  return found;
}

/** 2. and 3. One service's instances placed on hosts, and the edges between them. */
function placeService(svc: CompiledService, hosts: Record<string, HostInfo>, hostsKey: string): Fragment {
  const diagnostics: Diagnostic[] = [];
  const list: NodeInstance[] = [];
  const byTemplate = new Map<string, NodeInstance[]>(); // template name → its instances
  const edges: TopologyEdge[] = [];
  const placement = new Map<string, string[]>(); // node → hosts chosen by policy (one per instance)
  const spread = new Set<string>();
  for (const policy of svc.policies) {
    const isPlacement = isA(policy, PLACEMENT_POLICY);
    const isSpread = isA(policy, SPREAD_POLICY);
    if (!isPlacement && !isSpread) continue;
    const candidates = matchingHosts(policy, hosts);
    const targets = policy.targets.flatMap((t) => svc.groups[t]?.members ?? [t]);
    if (candidates.length === 0) {
      diagnostics.push(diag('E_TOPOLOGY_NO_HOST', `policy "${policy.name}" matches no kaidu:Host`, policy.source, 'error', 'check its hosts and labels against the kaidu:Host templates'));
      continue;
    }
    for (const target of targets) {
      const key = `${svc.name}/${target}`;
      if (isSpread) {
        const count = typeof policy.properties.count === 'number' ? Math.floor(policy.properties.count) : 1;
        placement.set(target, spreadInstances(key, count, candidates));
        spread.add(target);
      } else {
        placement.set(target, [rankHosts(key, candidates)[0]!]);
      }
    }
  }

  // Where each template runs: its own policy, else the end of its HostedOn chain.
  const hostOf = new Map<string, string[] | null>();
  const resolving = new Set<string>();
  const placeTemplate = (name: string): string[] | null => {
    if (hostOf.has(name)) return hostOf.get(name)!;
    const node = svc.nodes[name];
    if (!node) return null;
    if (resolving.has(name)) return null; // a HostedOn cycle is reported by the ordering below
    resolving.add(name);
    let result: string[] | null = null;
    if (isA(node, HOST_TYPE)) result = [asString(node.properties.name) ?? node.name];
    else if (placement.has(name)) result = placement.get(name)!;
    else {
      const hostReq = node.requirements.find((r) => r.target && edgeKind(r.relationship) === 'host');
      if (hostReq?.target) result = placeTemplate(hostReq.target);
    }
    resolving.delete(name);
    hostOf.set(name, result);
    return result;
  };

  const templates = templatesOf(svc);
  for (const node of templates) {
    const isHost = isA(node, HOST_TYPE);
    const placed = placeTemplate(node.name);
    const spreadNode = spread.has(node.name);
    const hostsOf = spreadNode ? (placed ?? []) : [placed?.[0]];
    const instances = hostsOf.map((host, index) => instanceOf(spreadNode ? `${svc.name}/${node.name}#${index}` : `${svc.name}/${node.name}`, svc.name, node, isHost, host, spreadNode ? index : undefined));
    byTemplate.set(node.name, instances);
    for (const i of instances) list.push(i);
    if (!isHost && !placed) {
      diagnostics.push(diag('W_TOPOLOGY_UNPLACED', `node "${node.name}" is not placed on any kaidu:Host, so no agent will apply it`, node.source, 'warning', 'give it a host requirement or a kaidu:Placement policy'));
    }
  }

  // Edges between instances: a spread source reaches the target instance on its own host.
  for (const node of templates) {
    const sources = byTemplate.get(node.name) ?? [];
    for (const req of node.requirements) {
      if (!req.target) continue;
      const targets = byTemplate.get(req.target) ?? [];
      if (targets.length === 0) continue;
      for (const source of sources) {
        const target = targets.find((t) => t.host === source.host) ?? targets[source.index ?? 0] ?? targets[0]!;
        edges.push({ source: source.id, target: target.id, requirement: req.name, kind: edgeKind(req.relationship), relationship: req.relationship });
      }
    }
  }

  // Requirements stay inside a service, so its cycles are its own.
  const found = cyclesAmong(list.map((n) => n.id), edges);
  const byId = found.length > 0 ? new Map(list.map((n) => [n.id, n])) : undefined;
  const cycles = found.map((cycle) => {
    const first = byId!.get(cycle[0]!)!;
    return diag('E_TOPOLOGY_CYCLE', `dependency cycle: ${[...cycle, cycle[0]].join(' → ')}`, requirementSource(first.template, byId!.get(cycle[1] ?? cycle[0]!)!.name) ?? first.template.source, 'error', 'a node cannot (indirectly) need itself; remove one of these requirements');
  });
  return { hostsKey, nodes: list, edges, diagnostics, cycles };
}

/** Plain literals for each shape (no spread): 100,000 instances keep a compact layout. */
function instanceOf(id: string, service: string, template: CompiledNode, isHost: boolean, host: string | undefined, index: number | undefined): NodeInstance {
  if (index !== undefined) return host ? { id, service, name: template.name, index, template, host, isHost } : { id, service, name: template.name, index, template, isHost };
  return host ? { id, service, name: template.name, template, host, isHost } : { id, service, name: template.name, template, isHost };
}

function requirementSource(node: CompiledNode, target: string): SourceLocation | undefined {
  return node.requirements.find((r) => r.target === target)?.source;
}

export function instancesOf(nodes: Record<string, NodeInstance>, service: string, name: string): NodeInstance[] {
  const single = nodes[`${service}/${name}`];
  if (single) return [single];
  const out: NodeInstance[] = [];
  for (let i = 0; nodes[`${service}/${name}#${i}`]; i++) out.push(nodes[`${service}/${name}#${i}`]!);
  return out;
}

/** Elementary cycles found by depth-first search, each reported once (rotated to start at its smallest id). */
export function findCycles(topology: Pick<Topology, 'nodes' | 'edges'>): string[][] {
  return cyclesAmong(Object.keys(topology.nodes), topology.edges);
}

function cyclesAmong(ids: readonly string[], edges: readonly TopologyEdge[]): string[][] {
  const out = new Map<string, string[]>();
  const next = new Map<string, string[]>();
  for (const e of edges) (next.get(e.source) ?? next.set(e.source, []).get(e.source)!).push(e.target);
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (id: string) => {
    state.set(id, 1);
    stack.push(id);
    for (const t of next.get(id) ?? []) {
      if (state.get(t) === 1) {
        const cycle = stack.slice(stack.indexOf(t));
        const min = cycle.reduce((m, x, i) => (x < cycle[m]! ? i : m), 0);
        const rotated = [...cycle.slice(min), ...cycle.slice(0, min)];
        out.set(rotated.join('\0'), rotated);
      } else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(id, 2);
  };
  for (const id of ids) if (!state.has(id)) visit(id);
  return [...out.values()];
}

/**
 * Dependency order: every node after the nodes it needs. Nodes in a cycle are appended last
 * (the cycle itself is a diagnostic). Returns levels: level i only needs levels < i.
 */
export function dependencyLevels(ids: readonly string[], needs: (id: string) => readonly string[]): string[][] {
  const set = new Set(ids);
  const position = new Map(ids.map((id, i) => [id, i]));
  const remaining = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const id of ids) {
    const deps = [...new Set(needs(id).filter((d) => set.has(d) && d !== id))];
    remaining.set(id, deps.length);
    for (const d of deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(id);
  }
  const levels: string[][] = [];
  let current = ids.filter((id) => remaining.get(id) === 0);
  const done = new Set<string>();
  while (current.length > 0) {
    levels.push(current);
    const nextLevel: string[] = [];
    for (const id of current) {
      done.add(id);
      for (const dep of dependents.get(id) ?? []) {
        const left = remaining.get(dep)! - 1;
        remaining.set(dep, left);
        if (left === 0) nextLevel.push(dep);
      }
    }
    current = nextLevel.sort((a, b) => position.get(a)! - position.get(b)!);
  }
  const stuck = ids.filter((id) => !done.has(id));
  if (stuck.length > 0) levels.push(stuck);
  return levels;
}

const edgeIndex = new WeakMap<Topology['edges'], Map<string, TopologyEdge[]>>();

/** Edges leaving an instance, indexed once per topology (100,000 nodes must not scan every edge each). */
export function edgesFrom(topology: Pick<Topology, 'edges'>, id: string): TopologyEdge[] {
  let index = edgeIndex.get(topology.edges);
  if (!index) {
    index = new Map();
    for (const e of topology.edges) (index.get(e.source) ?? index.set(e.source, []).get(e.source)!).push(e);
    edgeIndex.set(topology.edges, index);
  }
  return index.get(id) ?? [];
}

const edgeToIndex = new WeakMap<Topology['edges'], Map<string, TopologyEdge[]>>();

/** Edges arriving at an instance, indexed once per topology like `edgesFrom`. */
export function edgesTo(topology: Pick<Topology, 'edges'>, id: string): TopologyEdge[] {
  let index = edgeToIndex.get(topology.edges);
  if (!index) {
    index = new Map();
    for (const e of topology.edges) (index.get(e.target) ?? index.set(e.target, []).get(e.target)!).push(e);
    edgeToIndex.set(topology.edges, index);
  }
  return index.get(id) ?? [];
}
