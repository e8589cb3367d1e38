/**
 * Where each function call was written. Values lose their YAML positions when they become plain
 * data, yet a wrong call must be reported at its own line and column, not at the node holding it:
 * calls are remembered by identity (a weak map, so nothing is kept alive by it). So is a one-key
 * map that is a misspelt call (`{ get_atribute: [...] }`, see bare-calls.ts), at its key.
 */
import type { SourceLocation } from '../diagnostic.js';
import type { Value } from '../model.js';
import { isFunctionCall } from '../model.js';
import { deref, entries, locate, seqItems, type YamlNode, type YamlSource } from '../yaml-source.js';
import { isMap, isSeq } from 'yaml';
import { misspeltCall } from './bare-calls.js';

const sites = new WeakMap<object, SourceLocation>();

export function callSite(v: Value): SourceLocation | undefined {
  return v !== null && typeof v === 'object' ? sites.get(v) : undefined;
}

/** `v` was written at `at` (a record read back from its serialized form, see record-codec.ts). */
export function rememberCallSite(v: Value, at: SourceLocation): void {
  if (v !== null && typeof v === 'object') sites.set(v, at);
}

/** `to` is a copy (or the evaluated form) of the call `from`: it was written at the same place. */
export function keepCallSite(from: Value, to: Value): Value {
  const at = callSite(from);
  if (at && to !== null && typeof to === 'object' && !sites.has(to)) sites.set(to, at);
  return to;
}

/**
 * Walks a value and the YAML it was read from side by side, remembering where each call is.
 * Plain values cost one type check; only maps and lists are walked.
 */
export function recordCallSites(value: Value, node: YamlNode | null | undefined, src: YamlSource, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 100) return;
  const yaml = deref(src, node);
  if (isFunctionCall(value)) {
    if (!isMap(yaml)) return;
    sites.set(value, locate(src, yaml));
    const [first] = entries(yaml);
    if (!first) return;
    const argNode = deref(src, first[1]);
    if (isSeq(argNode)) {
      const items = seqItems(argNode);
      for (let i = 0; i < value.args.length; i++) recordCallSites(value.args[i]!, items[i], src, depth + 1);
    } else if (value.args.length === 1) recordCallSites(value.args[0]!, argNode, src, depth + 1);
    return;
  }
  if (Array.isArray(value)) {
    if (!isSeq(yaml)) return;
    const items = seqItems(yaml);
    for (let i = 0; i < value.length; i++) recordCallSites(value[i]!, items[i], src, depth + 1);
    return;
  }
  if (!isMap(yaml)) return;
  const record = value as Record<string, Value>;
  const pairs = entries(yaml);
  for (const [k, v] of pairs) {
    const key = k.startsWith('$$') ? k.slice(1) : k;
    if (Object.prototype.hasOwnProperty.call(record, key)) recordCallSites(record[key]!, v, src, depth + 1);
  }
  if (pairs.length === 1 && misspeltCall(value)) sites.set(value, locate(src, pairs[0]![2]));
}
