/**
 * Which hosts depend on which: host A depends on host B when a node on A needs a node on B (a
 * requirement, or an attribute it reads). Built once per revision; a state event about B then
 * concerns only the hosts listed for B, found without looking at the other 999.
 */
import type { Topology } from '../topology/model.js';
import { needsOf } from './plan.js';
import { resolveNode } from './resolve.js';

export function hostDependents(topology: Topology): Map<string, string[]> {
  const sets = new Map<string, Set<string>>();
  for (const inst of Object.values(topology.nodes)) {
    if (inst.isHost || !inst.host) continue;
    // Calls are read, not evaluated against state: which nodes are named does not depend on it.
    for (const dep of needsOf(inst, topology, resolveNode(inst, topology, {}))) {
      const on = topology.nodes[dep]?.host;
      if (!on || on === inst.host) continue;
      let s = sets.get(on);
      if (!s) sets.set(on, (s = new Set()));
      s.add(inst.host);
    }
  }
  return new Map([...sets].map(([h, s]) => [h, [...s].sort()]));
}
