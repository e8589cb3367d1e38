import { stringify } from 'yaml';
import { STATE_SCHEMA, type NodeState, type ServiceState } from './model.js';

/** Field order inside a node entry: the order a reader scans in, not alphabetical. */
const NODE_FIELDS: (keyof NodeState)[] = [
  'type',
  'status',
  'fingerprint',
  'revision',
  'appliedAt',
  'error',
  'delegate',
  'dependsOn',
  'properties',
  'env',
  'attributes',
];

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortDeep(v);
    }
    return out;
  }
  return value;
}

/**
 * Deterministic YAML for a state file: fixed field order, sorted maps, no line folding, so that
 * a state commit's diff shows exactly what changed.
 */
export function serializeServiceState(state: ServiceState): string {
  const nodes: Record<string, unknown> = {};
  for (const key of Object.keys(state.nodes).sort()) {
    const node = state.nodes[key]!;
    const ordered: Record<string, unknown> = {};
    for (const field of NODE_FIELDS) {
      const v = node[field];
      if (v === undefined) continue;
      ordered[field] = field === 'properties' || field === 'attributes' || field === 'env' ? sortDeep(v) : v;
    }
    nodes[key] = ordered;
  }
  const doc = {
    schema: STATE_SCHEMA,
    host: state.host,
    service: state.service,
    revision: state.revision,
    updatedAt: state.updatedAt,
    nodes,
  };
  return (
    '# Written by the Kaidu agent of this host. Do not edit: the next pass overwrites it.\n' +
    stringify(doc, { lineWidth: 0, minContentWidth: 0, indent: 2, defaultStringType: 'PLAIN', nullStr: 'null' })
  );
}

/** Repository path of a state file. */
export function stateFilePath(stateDir: string, host: string, service: string): string {
  return `${stateDir.replace(/\/+$/, '')}/${host}/${service}.yaml`;
}
