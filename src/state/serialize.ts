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

const YAML_OPTIONS = { lineWidth: 0, minContentWidth: 0, indent: 2, defaultStringType: 'PLAIN', nullStr: 'null' } as const;

// A node's block of YAML by its content: an agent writes its state after every action and again to
// push it, and the nodes an action did not touch (nearly all) are not formatted again.
const nodeBlocks = new Map<string, string>();

function nodeBlock(key: string, ordered: Record<string, unknown>): string {
  const id = JSON.stringify([key, ordered]);
  let block = nodeBlocks.get(id);
  if (block === undefined) {
    // the entry as it appears under `nodes:` in the whole document: the same text, indented once
    block = stringify({ [key]: ordered }, YAML_OPTIONS).replace(/^(?=.)/gm, '  ');
    if (nodeBlocks.size >= 20_000) nodeBlocks.clear();
    nodeBlocks.set(id, block);
  }
  return block;
}

/**
 * Deterministic YAML for a state file: fixed field order, sorted maps, no line folding, so that
 * a state commit's diff shows exactly what changed.
 */
export function serializeServiceState(state: ServiceState): string {
  const head = stringify({ schema: STATE_SCHEMA, host: state.host, service: state.service, revision: state.revision, updatedAt: state.updatedAt }, YAML_OPTIONS);
  const keys = Object.keys(state.nodes).sort();
  let body = 'nodes: {}\n';
  if (keys.length > 0) {
    body = 'nodes:\n';
    for (const key of keys) {
      const node = state.nodes[key]!;
      const ordered: Record<string, unknown> = {};
      for (const field of NODE_FIELDS) {
        const v = node[field];
        if (v === undefined) continue;
        ordered[field] = field === 'properties' || field === 'attributes' || field === 'env' ? sortDeep(v) : v;
      }
      body += nodeBlock(key, ordered);
    }
  }
  return '# Written by the Kaidu agent of this host. Do not edit: the next pass overwrites it.\n' + head + body;
}

/** Repository path of a state file. */
export function stateFilePath(stateDir: string, host: string, service: string): string {
  return `${stateDir.replace(/\/+$/, '')}/${host}/${service}.yaml`;
}
