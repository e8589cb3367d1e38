import type { ServedPort } from '../delegates/readiness.js';
import { nodeStateOf } from '../plan/resolve.js';
import type { StateSnapshot } from '../state/model.js';
import { edgesFrom } from '../topology/build.js';
import type { NodeInstance, Topology } from '../topology/model.js';

/**
 * The ports a node serves: `kaidu:Port` nodes on its own host that it depends on (`dependency`,
 * not `ConnectsTo`, which makes it a client of the port), with the port their state recorded.
 */
export function servedPorts(instance: NodeInstance, topology: Pick<Topology, 'edges' | 'nodes'>, snapshot: StateSnapshot): ServedPort[] {
  const out: ServedPort[] = [];
  for (const e of edgesFrom(topology, instance.id)) {
    if (e.kind !== 'depends') continue;
    const target = topology.nodes[e.target];
    if (!target || target.host !== instance.host || !target.template.types.includes('kaidu:Port')) continue;
    const attrs = nodeStateOf(snapshot, target)?.attributes;
    if (typeof attrs?.port !== 'number') continue;
    out.push({ node: target.id, port: attrs.port, address: typeof attrs.address === 'string' ? attrs.address : '127.0.0.1', protocol: attrs.protocol === 'udp' ? 'udp' : 'tcp' });
  }
  return out;
}
