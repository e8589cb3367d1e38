import type { Diagnostic } from '../tosca/diagnostic.js';
import { isA } from './kinds.js';
import type { NodeInstance, TopologyEdge } from './model.js';

const POD = 'kaidu:Pod';
/** Run or written inside what hosts them: inside a pod, that is its workload container (the pod's `image`). */
const RUN_INSIDE = ['kaidu:Process', 'kaidu:ConfigFile', 'kaidu:Directory'];

/**
 * Nodes hosted on a kaidu:Pod that cannot be placed in it: a Process, ConfigFile or Directory
 * needs the pod's workload container (its `image`), and a Container joins a pod through its
 * `pod` requirement, not by being hosted on it (it would run beside the pod, not in it). Found
 * here, so validate and plan say so where the node is, before anything is applied.
 */
export function podHostingProblems(nodes: Record<string, NodeInstance>, edges: readonly TopologyEdge[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of edges) {
    if (e.kind !== 'host') continue;
    const pod = nodes[e.target];
    const node = nodes[e.source];
    if (!pod || !node || !isA(pod.template, POD)) continue;
    const at = node.template.source;
    const image = pod.template.properties.image;
    if (isA(node.template, 'kaidu:Container')) {
      out.push({ severity: 'error', code: 'E_TOPOLOGY_POD_HOSTING', message: `${node.id} is a kaidu:Container hosted on the kaidu:Pod ${pod.id}: a container joins a pod, it is not hosted on it`, file: at.file, line: at.line, column: at.column, hint: `host it on the pod's kaidu:Host and give it the \`pod\` requirement (${pod.name}) and \`pod\` property ({ $get_attribute: [ ${pod.name}, pod_name ] })` });
    } else if (RUN_INSIDE.some((t) => isA(node.template, t)) && (image === undefined || image === null || image === '')) {
      out.push({ severity: 'error', code: 'E_TOPOLOGY_POD_HOSTING', message: `${node.id} is hosted on the kaidu:Pod ${pod.id}, which has no \`image\`: nothing in the pod can run it`, file: at.file, line: at.line, column: at.column, hint: `give the pod an \`image\` (Kaidu then runs a workload container in it for the nodes hosted on the pod), or host the node on a kaidu:Container that joins the pod` });
    }
  }
  return out;
}
