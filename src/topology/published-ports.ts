import { edgesTo } from './build.js';
import type { NodeInstance, Topology } from './model.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * What a container (or pod) must publish for the `kaidu:Port` nodes hosted on it, as `-p` specs: a port
 * inside is published on the same port of the outer host, on loopback unless the Port is reached
 * at another address or exposed. A container's published ports are fixed when it is created, so
 * these become part of its desired configuration (property `publish`): a Port added, changed or
 * removed recreates the container. Ports without a fixed `port` are left out (their delegate
 * explains why they cannot be published).
 */
export function hostedPortSpecs(instance: NodeInstance, topology: Pick<Topology, 'edges' | 'nodes'>): string[] {
  // A pod owns its containers' network: the Ports hosted on it are the pod's published ports.
  if (!instance.template.types.includes('kaidu:Container') && !instance.template.types.includes('kaidu:Pod')) return [];
  const out: string[] = [];
  for (const e of edgesTo(topology, instance.id)) {
    if (e.kind !== 'host') continue;
    const port = topology.nodes[e.source];
    if (!port || !port.template.types.includes('kaidu:Port')) continue;
    const p = port.template.properties;
    if (typeof p.port !== 'number') continue;
    const proto = p.protocol === 'udp' ? 'udp' : 'tcp';
    const everywhere = p.expose === true || (typeof p.address === 'string' && !LOOPBACK.has(p.address));
    out.push(`${everywhere ? '' : '127.0.0.1:'}${p.port}:${p.port}/${proto}`);
  }
  return out.sort();
}
