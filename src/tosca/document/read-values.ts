/** Values as the model keeps them: plain data with their calls' positions remembered (see call-sites.ts). */
import type { Value } from '../model.js';
import type { Unit } from '../loader.js';
import { toValue } from '../values.js';
import { recordCallSites } from '../functions/call-sites.js';
import { entries, field, toJS, type YamlNode } from '../yaml-source.js';
import type { Assignment } from './records.js';
import { offsetOf } from './offsets.js';

export function readValue(node: YamlNode | null | undefined, unit: Unit): Value {
  const v = toValue(toJS(unit.src, node), unit);
  if (v !== null && typeof v === 'object') recordCallSites(v, node, unit.src);
  return v;
}

/** `properties:` or `attributes:` of a template: each assignment, the long notation unwrapped. */
export function readAssignments(node: YamlNode | null | undefined, unit: Unit): Assignment[] {
  const out: Assignment[] = [];
  for (const [name, raw, pair] of entries(node)) {
    // Long notation of an assignment: { description, value }.
    const long = field(raw, 'value') !== undefined && entries(raw).every(([x]) => x === 'value' || x === 'description');
    out.push({ name, value: readValue(long ? field(raw, 'value')! : raw, unit), at: offsetOf(pair) });
  }
  return out;
}

/** Undefined when the key is not written at all; the assignments (maybe none) otherwise. */
export function readOptionalAssignments(parent: YamlNode | null | undefined, key: string, unit: Unit): Assignment[] | undefined {
  const node = field(parent, key);
  return node === undefined ? undefined : readAssignments(node, unit);
}

/** Values keyed by name, in order (`inputs:` of an interface, `properties:` of an artifact). */
export function readValues(node: YamlNode | null | undefined, unit: Unit): Array<[string, Value]> {
  return entries(node).map(([k, x]) => [k, readValue(x, unit)]);
}

/** `metadata`: a map of strings (what is not a string is kept as its JSON). */
export function readStringMap(node: YamlNode | null | undefined, unit: Unit): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of entries(node)) {
    const js = toJS(unit.src, v);
    out[k] = typeof js === 'string' ? js : JSON.stringify(js);
  }
  return out;
}
