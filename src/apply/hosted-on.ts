import type { HostedOn } from '../delegates/types.js';
import { isNestingHost } from '../delegates/nesting.js';
import { nodeStateOf } from '../plan/resolve.js';
import type { StateSnapshot } from '../state/model.js';
import { edgesFrom } from '../topology/build.js';
import type { NodeInstance, Topology } from '../topology/model.js';

/**
 * The workload a node runs inside: the target of its `host` requirement when that is a container
 * (or another workload a runner is registered for), with what its state recorded (its id). A node
 * hosted on a kaidu:Host, or on a node that hosts nothing itself, runs on the machine: undefined.
 */
export function hostedOnOf(instance: NodeInstance, topology: Pick<Topology, 'edges' | 'nodes'>, snapshot: StateSnapshot): HostedOn | undefined {
  const edge = edgesFrom(topology, instance.id).find((e) => e.kind === 'host');
  const target = edge ? topology.nodes[edge.target] : undefined;
  if (!target || target.isHost || !isNestingHost(target.template.types)) return undefined;
  const st = nodeStateOf(snapshot, target);
  return { node: target.id, type: target.template.type, types: target.template.types, properties: st?.properties ?? {}, attributes: st?.attributes ?? {} };
}
