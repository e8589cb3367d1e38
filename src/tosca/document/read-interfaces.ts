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

/**
 * A definition's keywords by name (the value of the first pair of a key written twice; undefined
 * when not written): looked up in its map, or as the grammar walk handed them over.
 */
export type Keyword = (key: string) => YamlNode | null | undefined;

/** `operation` reads one operation; by default from its value at once (a type reads them as the walk enters them). */
export function readInterface(name: string, node: YamlNode | null, at: Offset, unit: Unit, operation = (op: string, v: YamlNode | null, at: Offset) => readOperation(op, v, at, unit)): InterfaceRecord {
  const opsNode = field(node, 'operations');
  const list = opsNode !== undefined ? entries(opsNode) : entries(node).filter(([k]) => !NOT_OPERATIONS.includes(k));
  const type = str(field(node, 'type'));
  return {
    name,
    at,
    ...(type !== undefined ? { type } : {}),
    inputs: readValues(field(node, 'inputs'), unit),
    operations: list.map(([op, v, p]) => operation(op, v, offsetOf(p))),
    unit,
  };
}

export function readOperation(name: string, v: YamlNode | null, at: Offset, unit: Unit): OperationRecord {
  const out = { name, at } as OperationRecord;
  operationInto(out, v, (k) => field(v, k), unit);
  return out;
}

/** An operation's keywords into its record (made with its name): the short notation's `v` is its implementation. */
export function operationInto(out: OperationRecord, v: YamlNode | null, keyword: Keyword, unit: Unit): void {
  const impl = keyword('implementation');
  const implementation = str(v) ?? str(impl) ?? str(field(impl, 'primary')) ?? str(field(field(impl, 'primary'), 'file'));
  const timeout = toJS(unit.src, field(impl, 'timeout'));
  const description = str(keyword('description'));
  // Set in this order whichever way it is read: one shape for every operation record.
  if (implementation) out.implementation = implementation;
  out.dependencies = seqItems(field(impl, 'dependencies')).map((d) => str(d) ?? str(field(d, 'file'))).filter((d): d is string => !!d);
  if (typeof timeout === 'number') out.timeout = timeout;
  // An input definition (with a type) gives its default, or nothing yet.
  out.inputs = entries(keyword('inputs')).map(([k, x]): [string, Value] => [k, str(field(x, 'type')) && field(x, 'default') !== undefined ? readValue(field(x, 'default'), unit) : str(field(x, 'type')) ? null : readValue(x, unit)]);
  out.outputs = entries(keyword('outputs')).map(([k, x]): [string, string[]] => [k, (toJS(unit.src, x) as string[]) ?? []]);
  if (description) out.description = description;
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
