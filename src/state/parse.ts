import { isMap, isScalar, isSeq, type Node as YamlNode } from 'yaml';
import type { Diagnostic } from '../tosca/diagnostic.js';
import { parseFast } from '../tosca/yaml-fast.js';
import { checkYamlLines, parseLimited, STATE_LIMITS } from '../tosca/yaml-limits.js';
import { NODE_STATUSES, STATE_SCHEMA, type NodeState, type NodeStatus, type PlainValue, type ServiceState } from './model.js';

export interface ParsedState {
  state?: ServiceState;
  diagnostics: Diagnostic[];
}

/**
 * Reads and validates one state file. A hand-edited or corrupt file gives diagnostics naming the
 * file, line and column, and no state: the caller must then refuse to overwrite it.
 */
export function parseServiceState(text: string, file: string, expect?: { host?: string; service?: string }): ParsedState {
  // Our own linear reader for the plain YAML our writer produces; the library for anything else,
  // and to explain errors (the fast reader gives up on them, duplicate keys included).
  // Size and depth are checked before either reader sees the text; aliases when the library reads it.
  // The fast reader takes its line table from the same pass as the depth check.
  const checked = checkYamlLines(text, file, STATE_LIMITS);
  if (checked.refused) return { diagnostics: [checked.refused] };
  const fast = parseFast(text, undefined, checked.lines);
  const limited = fast ? undefined : parseLimited(text, file, STATE_LIMITS, { uniqueKeys: true, prettyErrors: false });
  if (limited && !limited.doc) return { diagnostics: limited.diagnostics };
  const lineCounter = fast?.lines ?? limited!.lines;
  const doc = limited?.doc;
  const diagnostics: Diagnostic[] = [...(limited?.diagnostics ?? []).map((d) => (d.code === 'E_TOSCA_YAML' ? { ...d, code: 'E_STATE_YAML' } : d))];
  const at = (node: YamlNode | null | undefined, offset?: number) => {
    const pos = lineCounter.linePos(offset ?? node?.range?.[0] ?? 0);
    return { line: pos.line, column: pos.col };
  };
  const problem = (code: string, message: string, node?: YamlNode | null, hint?: string) =>
    diagnostics.push({ severity: 'error', code, message, file, ...at(node), hint });

  for (const err of doc?.errors ?? []) {
    const pos = lineCounter.linePos(err.pos[0]);
    diagnostics.push({ severity: 'error', code: 'E_STATE_YAML', message: err.message.split('\n')[0]!, file, line: pos.line, column: pos.col });
  }
  if (diagnostics.length > 0) return { diagnostics };
  const root = fast ? fast.root : doc!.contents;
  if (!isMap(root)) {
    problem('E_STATE_SHAPE', 'a state file must be a map with schema, host, service, revision, updatedAt and nodes', root);
    return { diagnostics };
  }
  const field = (name: string) => root.items.find((p) => isScalar(p.key) && p.key.value === name);
  const str = (name: string): string | undefined => {
    const pair = field(name);
    if (!pair) {
      problem('E_STATE_MISSING', `missing field "${name}"`, root);
      return undefined;
    }
    const v = pair.value;
    if (!isScalar(v) || typeof v.value !== 'string') {
      problem('E_STATE_TYPE', `field "${name}" must be a string`, (v as YamlNode) ?? (pair.key as YamlNode));
      return undefined;
    }
    return v.value;
  };
  const schema = str('schema');
  if (schema !== undefined && schema !== STATE_SCHEMA) {
    problem('E_STATE_SCHEMA', `unknown state schema "${schema}"`, field('schema')?.value as YamlNode, `this Kaidu reads ${STATE_SCHEMA}`);
  }
  const host = str('host');
  const service = str('service');
  const revision = str('revision');
  const updatedAt = str('updatedAt');
  if (expect?.host && host !== undefined && host !== expect.host) {
    problem('E_STATE_HOST', `state file under host "${expect.host}" names host "${host}"`, field('host')?.value as YamlNode);
  }
  if (expect?.service && service !== undefined && service !== expect.service) {
    problem('E_STATE_SERVICE', `state file for service "${expect.service}" names service "${service}"`, field('service')?.value as YamlNode);
  }
  const nodesPair = field('nodes');
  const nodes: Record<string, NodeState> = {};
  if (!nodesPair) problem('E_STATE_MISSING', 'missing field "nodes"', root);
  else if (nodesPair.value !== null && !isMap(nodesPair.value) && !(isScalar(nodesPair.value) && nodesPair.value.value === null)) {
    problem('E_STATE_TYPE', 'field "nodes" must be a map of node name to node state', nodesPair.value as YamlNode);
  } else if (isMap(nodesPair.value)) {
    for (const pair of nodesPair.value.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (!key) {
        problem('E_STATE_TYPE', 'node keys must be plain names', pair.key as YamlNode);
        continue;
      }
      const node = parseNodeState(key, pair.value as YamlNode, problem);
      if (node) nodes[key] = node;
    }
  }
  if (diagnostics.length > 0) return { diagnostics };
  return {
    state: { schema: STATE_SCHEMA, host: host!, service: service!, revision: revision!, updatedAt: updatedAt!, nodes },
    diagnostics,
  };
}

type Problem = (code: string, message: string, node?: YamlNode | null, hint?: string) => void;

function parseNodeState(key: string, value: YamlNode | null, problem: Problem): NodeState | undefined {
  if (!isMap(value)) {
    problem('E_STATE_TYPE', `node "${key}" must be a map`, value);
    return undefined;
  }
  const get = (name: string) => value.items.find((p) => isScalar(p.key) && p.key.value === name);
  const str = (name: string, required: boolean): string | undefined => {
    const pair = get(name);
    if (!pair) {
      if (required) problem('E_STATE_MISSING', `node "${key}": missing field "${name}"`, value);
      return undefined;
    }
    if (!isScalar(pair.value) || typeof pair.value.value !== 'string') {
      problem('E_STATE_TYPE', `node "${key}": field "${name}" must be a string`, (pair.value as YamlNode) ?? (pair.key as YamlNode));
      return undefined;
    }
    return pair.value.value;
  };
  const map = (name: string): Record<string, PlainValue> => {
    const pair = get(name);
    if (!pair || (isScalar(pair.value) && pair.value.value === null)) return {};
    if (!isMap(pair.value)) {
      problem('E_STATE_TYPE', `node "${key}": field "${name}" must be a map`, pair.value as YamlNode);
      return {};
    }
    return pair.value.toJSON() as Record<string, PlainValue>;
  };
  const type = str('type', true);
  const status = str('status', true);
  if (status !== undefined && !NODE_STATUSES.includes(status as NodeStatus)) {
    problem('E_STATE_STATUS', `node "${key}": unknown status "${status}"`, get('status')?.value as YamlNode, `one of: ${NODE_STATUSES.join(', ')}`);
  }
  const fingerprint = str('fingerprint', true);
  const revision = str('revision', true);
  const appliedAt = str('appliedAt', true);
  const error = str('error', false);
  const delegate = str('delegate', false);
  let dependsOn: string[] | undefined;
  const dep = get('dependsOn');
  if (dep) {
    if (isSeq(dep.value) && dep.value.items.every((i) => isScalar(i) && typeof i.value === 'string')) {
      dependsOn = dep.value.toJSON() as string[];
    } else problem('E_STATE_TYPE', `node "${key}": field "dependsOn" must be a list of node names`, dep.value as YamlNode);
  }
  const properties = map('properties');
  const attributes = map('attributes');
  const env = get('env') ? map('env') : undefined;
  if (type === undefined || status === undefined || fingerprint === undefined || revision === undefined || appliedAt === undefined) {
    return undefined;
  }
  const node: NodeState = { type, status: status as NodeStatus, fingerprint, revision, appliedAt, properties, attributes };
  if (error !== undefined) node.error = error;
  if (delegate !== undefined) node.delegate = delegate;
  if (dependsOn) node.dependsOn = dependsOn;
  if (env) node.env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  return node;
}
