/**
 * Interfaces and artifacts, as a node type defines them or a node template assigns them: one
 * record shape for both, so the compiler merges a template's over its type's.
 */
import type { Unit } from '../loader.js';
import type { Value } from '../model.js';
import { entries, field, seqItems, str, toJS, type YamlNode } from '../yaml-source.js';
import type { ArtifactRecord, InterfaceRecord, Offset, OperationRecord } from './records.js';
import { offsetOf } from './offsets.js';
import { readValue, readValues } from './read-values.js';

/** Keys of a 1.x interface that are not operations (1.0–1.2 list operations beside them). */
const NOT_OPERATIONS = ['type', 'inputs', 'description', 'notifications', 'derived_from'];

export function readInterface(name: string, node: YamlNode | null, at: Offset, unit: Unit): InterfaceRecord {
  const opsNode = field(node, 'operations');
  const list = opsNode !== undefined ? entries(opsNode) : entries(node).filter(([k]) => !NOT_OPERATIONS.includes(k));
  const type = str(field(node, 'type'));
  return {
    name,
    at,
    ...(type !== undefined ? { type } : {}),
    inputs: readValues(field(node, 'inputs'), unit),
    operations: list.map(([op, v, p]) => readOperation(op, v, offsetOf(p), unit)),
    unit,
  };
}

function readOperation(name: string, v: YamlNode | null, at: Offset, unit: Unit): OperationRecord {
  const impl = field(v, 'implementation');
  const implementation = str(v) ?? str(impl) ?? str(field(impl, 'primary')) ?? str(field(field(impl, 'primary'), 'file'));
  const dependencies = seqItems(field(impl, 'dependencies')).map((d) => str(d) ?? str(field(d, 'file'))).filter((d): d is string => !!d);
  const timeout = toJS(unit.src, field(impl, 'timeout'));
  const description = str(field(v, 'description'));
  return {
    name,
    at,
    ...(implementation ? { implementation } : {}),
    dependencies,
    ...(typeof timeout === 'number' ? { timeout } : {}),
    // An input definition (with a type) gives its default, or nothing yet.
    inputs: entries(field(v, 'inputs')).map(([k, x]): [string, Value] => [k, str(field(x, 'type')) && field(x, 'default') !== undefined ? readValue(field(x, 'default'), unit) : str(field(x, 'type')) ? null : readValue(x, unit)]),
    outputs: entries(field(v, 'outputs')).map(([k, x]): [string, string[]] => [k, (toJS(unit.src, x) as string[]) ?? []]),
    ...(description ? { description } : {}),
  };
}

export function readInterfaces(node: YamlNode | null | undefined, unit: Unit): InterfaceRecord[] {
  return entries(node).map(([k, v, p]) => readInterface(k, v, offsetOf(p), unit));
}

export function readArtifact(name: string, node: YamlNode | null, unit: Unit): ArtifactRecord {
  const file = str(node) ?? str(field(node, 'file'));
  const type = str(field(node, 'type'));
  const repository = str(field(node, 'repository'));
  const deployPath = str(field(node, 'deploy_path'));
  return {
    name,
    ...(file ? { file } : {}),
    ...(type ? { type } : {}),
    typeAt: offsetOf(field(node, 'type')),
    ...(repository ? { repository } : {}),
    ...(deployPath ? { deployPath } : {}),
    properties: file ? readValues(field(node, 'properties'), unit) : [],
    unit,
  };
}

export function readArtifacts(node: YamlNode | null | undefined, unit: Unit): ArtifactRecord[] {
  return entries(node).map(([k, v]) => readArtifact(k, v, unit));
}
