/** Definitions a node type makes for its templates, as records (what a type declares, not yet merged along its chain). */
import type { Unit } from '../loader.js';
import { entries, field, seqItems, str, toJS, type YamlNode } from '../yaml-source.js';
import type { NodeFilterRecord, Offset } from './records.js';
import { offsetOf } from './offsets.js';

export interface RequirementDefinition {
  name: string;
  at: Offset;
  /** A capability type or (with `node`) a capability name. */
  capability?: string;
  node?: string;
  relationship?: string;
  /** `occurrences` (2.0 `count_range`) as written: [min, max] when well formed. */
  occurrences?: unknown;
  nodeFilter?: NodeFilterRecord;
  unit: Unit;
}

/** The `requirements:` of a node type (a list of single-key maps). */
export function readRequirementDefinitions(typeNode: YamlNode | null | undefined, unit: Unit): RequirementDefinition[] {
  const out: RequirementDefinition[] = [];
  for (const item of seqItems(field(typeNode, 'requirements'))) {
    for (const [name, node] of entries(item)) {
      const capability = str(node) ?? str(field(node, 'capability'));
      const target = str(field(node, 'node'));
      const relationship = str(field(node, 'relationship')) ?? str(field(field(node, 'relationship'), 'type'));
      const occurrences = field(node, 'occurrences') ?? field(node, 'count_range');
      const filter = field(node, 'node_filter');
      out.push({
        name,
        at: offsetOf(node),
        ...(capability !== undefined ? { capability } : {}),
        ...(target !== undefined ? { node: target } : {}),
        ...(relationship !== undefined ? { relationship } : {}),
        ...(occurrences !== undefined ? { occurrences: toJS(unit.src, occurrences) } : {}),
        ...(filter !== undefined ? { nodeFilter: { filter: toJS(unit.src, filter), at: offsetOf(filter) } } : {}),
        unit,
      });
    }
  }
  return out;
}
