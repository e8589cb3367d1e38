import type { Diagnostic } from '../tosca/diagnostic.js';
import { isA } from './kinds.js';
import type { NodeInstance } from './model.js';

const PORT_TYPE = 'kaidu:Port';

/**
 * Two kaidu:Port nodes on one host asking for the same fixed port and protocol: the second
 * apply would fail with "already in use". Found here, so validate and plan name both nodes.
 * (The port delegate proves a port free on 0.0.0.0, so the `address` property does not matter.)
 */
export function portClashes(nodes: Iterable<NodeInstance>): Diagnostic[] {
  const first = new Map<string, NodeInstance>();
  const out: Diagnostic[] = [];
  for (const n of nodes) {
    if (n.isHost || !n.host || !isA(n.template, PORT_TYPE)) continue;
    const port = n.template.properties.port;
    if (typeof port !== 'number') continue;
    const protocol = typeof n.template.properties.protocol === 'string' ? n.template.properties.protocol : 'tcp';
    const key = `${n.host}\0${protocol}\0${port}`;
    const other = first.get(key);
    if (!other) {
      first.set(key, n);
      continue;
    }
    const at = other.template.source;
    out.push({
      severity: 'error',
      code: 'E_TOPOLOGY_PORT_CLASH',
      message: `port ${port}/${protocol} on host ${n.host} is also asked for by ${other.id} (${at.file}:${at.line}:${at.column}); only one of them can have it`,
      file: n.template.source.file,
      line: n.template.source.line,
      column: n.template.source.column,
      hint: 'give one of them another port, or leave out `port` to have one allocated from `range`',
    });
  }
  return out;
}
