/**
 * Indexes over a topology, built once per topology on first use. A topology is never changed
 * after `buildTopology`, and walking a 100,000-key record (`Object.values`) costs tens of
 * milliseconds each time: an agent planning its own host must not pay that per plan.
 */
import type { HostInfo, NodeInstance, Topology } from './model.js';

interface Lookup {
  list: NodeInstance[];
  /** host name → the instances placed there (not the Host nodes themselves), in topology order. */
  onHost: Map<string, NodeInstance[]>;
  /** instance id → host, for every placed instance that is not a Host node. */
  placement: Readonly<Record<string, string>>;
  /** Host node instance id → its machine. */
  hostByNode: Map<string, HostInfo>;
}

const lookups = new WeakMap<Topology['nodes'], Lookup>();

function lookup(topology: Pick<Topology, 'nodes' | 'hosts'>): Lookup {
  let found = lookups.get(topology.nodes);
  if (found) return found;
  const list = Object.values(topology.nodes);
  const onHost = new Map<string, NodeInstance[]>();
  const placement: Record<string, string> = {};
  for (const n of list) {
    if (n.isHost || !n.host) continue;
    (onHost.get(n.host) ?? onHost.set(n.host, []).get(n.host)!).push(n);
    placement[n.id] = n.host;
  }
  const hostByNode = new Map<string, HostInfo>();
  for (const h of Object.values(topology.hosts)) if (!hostByNode.has(h.node)) hostByNode.set(h.node, h);
  found = { list, onHost, placement: Object.freeze(placement), hostByNode };
  lookups.set(topology.nodes, found);
  return found;
}

/** Every instance, in topology order. */
export function nodeList(topology: Pick<Topology, 'nodes' | 'hosts'>): readonly NodeInstance[] {
  return lookup(topology).list;
}

/** The instances a host runs (Host nodes excluded), in topology order. */
export function nodesOnHost(topology: Pick<Topology, 'nodes' | 'hosts'>, host: string): readonly NodeInstance[] {
  return lookup(topology).onHost.get(host) ?? [];
}

/** Where each placed instance runs (frozen: shared by every plan of this topology). */
export function placementOf(topology: Pick<Topology, 'nodes' | 'hosts'>): Readonly<Record<string, string>> {
  return lookup(topology).placement;
}

/** The machine a `kaidu:Host` instance describes. */
export function hostOfNode(topology: Pick<Topology, 'nodes' | 'hosts'>, id: string): HostInfo | undefined {
  return lookup(topology).hostByNode.get(id);
}
