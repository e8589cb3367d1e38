/** The service's node templates by name, in declaration order, each with `copy` applied. */
import type { SourceLocation } from '../diagnostic.js';
import { entries, field, str, toJS, type YamlNode } from '../yaml-source.js';
import type { CompileContext } from './context.js';
import { deepMerge } from './shared.js';

export interface RawTemplate {
  name: string;
  node: YamlNode | null;
  /** As written (`node` is the merged result when it copies another). */
  own: YamlNode | null;
  loc: SourceLocation;
}

export function readTemplates(ctx: CompileContext, tpl: YamlNode): Map<string, RawTemplate> {
  const out = new Map<string, RawTemplate>();
  const all = entries(field(tpl, 'node_templates'));
  const byName = new Map(all.map(([n, node]) => [n, node]));
  // `copy`: the copied template (itself possibly a copy), deep-merged under this one's own keys.
  const effective = (name: string, seen: string[]): Record<string, unknown> | undefined => {
    const node = byName.get(name);
    if (node === undefined) return undefined;
    const own = (toJS(ctx.unit.src, node) ?? {}) as Record<string, unknown>;
    const copy = typeof own.copy === 'string' ? own.copy : undefined;
    delete own.copy;
    if (!copy) return own;
    if (seen.includes(copy)) {
      ctx.report('error', 'E_TOSCA_COPY', `copy cycle: ${[...seen, copy].join(' → ')}`, ctx.at(field(node, 'copy')));
      return own;
    }
    const base = effective(copy, [...seen, copy]);
    if (!base) {
      ctx.report('error', 'E_TOSCA_UNKNOWN_TEMPLATE', `"${name}" copies "${copy}", which is not a node template`, ctx.at(field(node, 'copy')));
      return own;
    }
    return deepMerge(base, own) as Record<string, unknown>;
  };
  for (const [name, node, pair] of all) {
    let effectiveNode = node;
    if (str(field(node, 'copy'))) {
      const merged = effective(name, [name]);
      if (merged) effectiveNode = ctx.unit.src.doc.createNode(merged) as YamlNode;
    }
    out.set(name, { name, node: effectiveNode, own: node, loc: ctx.at(pair) });
  }
  return out;
}
