/** Values as the model keeps them: plain data with their calls' positions remembered (see call-sites.ts). */
import type { Value } from '../model.js';
import type { Unit } from '../loader.js';
import { toValue } from '../values.js';
import { recordCallSites } from '../functions/call-sites.js';
import type { Pair, YAMLMap } from 'yaml';
import { entries, field, isMap, toJS, type YamlNode } from '../yaml-source.js';
import { scalarKey } from '../yaml-fast.js';
import type { Assignment } from './records.js';
import { offsetOf } from './offsets.js';

export function readValue(node: YamlNode | null | undefined, unit: Unit): Value {
  const v = toValue(toJS(unit.src, node), unit);
  if (v !== null && typeof v === 'object') recordCallSites(v, node, unit.src);
  return v;
}

/** `properties:` or `attributes:` of a template: each assignment, the long notation unwrapped. */
export function readAssignments(node: YamlNode | null | undefined, unit: Unit): Assignment[] {
  if (!isMap(node)) return [];
  // The pairs directly, into an array of the final size: once per properties map of every template.
  const items = (node as YAMLMap).items as Pair[];
  const out = new Array<Assignment>(items.length);
  for (let i = 0; i < items.length; i++) {
    const pair = items[i]!;
    const raw = (pair.value as YamlNode | null) ?? null;
    const long = longValue(raw);
    out[i] = { name: scalarKey(pair) ?? String(pair.key), value: readValue(long !== undefined ? long : raw, unit), at: offsetOf(pair) };
  }
  return out;
}

/** The `value` of an assignment in long notation ({ description, value }); undefined for any other value. */
function longValue(raw: YamlNode | null): YamlNode | null | undefined {
  if (!isMap(raw)) return undefined;
  const items = (raw as YAMLMap).items as Pair[];
  let value: YamlNode | null | undefined;
  for (let i = 0; i < items.length; i++) {
    const p = items[i]!;
    const own = scalarKey(p);
    // The first `value` counts (the YAML reader reports a duplicate).
    if (own === 'value') {
      if (value === undefined) value = (p.value as YamlNode | null) ?? null;
      continue;
    }
    const k = own ?? String(p.key);
    if (k !== 'value' && k !== 'description') return undefined;
  }
  return value;
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
