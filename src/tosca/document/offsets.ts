/** Offsets for the model's records, and line:column from them only when a message is made. */
import type { SourceLocation } from '../diagnostic.js';
import { lightStart, pairStart } from '../yaml-fast.js';
import type { YamlNode, YamlSource } from '../yaml-source.js';
import type { Pair } from 'yaml';
import type { Offset } from './records.js';

/** Where a node or pair starts (as `locate` finds it); 0 when it has no position. */
export function offsetOf(node: YamlNode | Pair | null | undefined): Offset {
  if (!node) return 0;
  // Our nodes keep their start as a number: asking their `range` makes an array.
  const light = lightStart(node);
  if (light !== undefined) return light;
  if ('range' in node && node.range) return node.range[0];
  if ('value' in node && !('range' in node)) return pairStart(node as Pair) ?? 0;
  return 0;
}

export function locationAt(src: YamlSource, offset: Offset): SourceLocation {
  const p = src.lines.linePos(offset);
  return { file: src.path, line: p.line, column: p.col };
}
