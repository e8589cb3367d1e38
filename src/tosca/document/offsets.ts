/** Offsets for the model's records, and line:column from them only when a message is made. */
import type { SourceLocation } from '../diagnostic.js';
import { lightOffset, pairStart } from '../yaml-fast.js';
import { entries, isMap, isSeq, seqItems, type YamlNode, type YamlSource } from '../yaml-source.js';
import type { Pair } from 'yaml';
import type { Offset } from './records.js';

/** Where a node or pair starts (as `locate` finds it); 0 when it has no position. */
export function offsetOf(node: YamlNode | Pair | null | undefined): Offset {
  if (!node) return 0;
  // Our nodes and pairs keep their start as a number: asking their `range` makes an array. Pairs
  // are asked most (a template's, its assignments'), so they are told apart first.
  const light = lightOffset(node);
  if (light !== undefined) return light;
  if ('range' in node && node.range) return node.range[0];
  if ('value' in node && !('range' in node)) return pairStart(node as Pair) ?? 0;
  return 0;
}

export function locationAt(src: YamlSource, offset: Offset): SourceLocation {
  const p = src.lines.linePos(offset);
  return { file: src.path, line: p.line, column: p.col };
}

/**
 * Where each node of a clause (`constraints`, `validation`) starts, in pre-order (a map's values
 * in order, a list's items in order): the n-th node of the plain data read from it (see
 * validation/operands.ts) is at the n-th offset. Bounded: a clause is small, a hostile one is cut.
 */
export function preorderOffsets(node: YamlNode | null | undefined, out: Offset[] = [], depth = 0): Offset[] {
  if (out.length >= 10_000 || depth > 64) return out;
  out.push(offsetOf(node));
  if (isMap(node)) for (const [, v, pair] of entries(node)) preorderOffsets(v ?? (pair as unknown as YamlNode), out, depth + 1);
  else if (isSeq(node)) for (const item of seqItems(node)) preorderOffsets(item, out, depth + 1);
  return out;
}
