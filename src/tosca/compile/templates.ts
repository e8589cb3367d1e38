/** `copy` (TOSCA 2.0 §8.3.1): a node template made from another one, its own keys deep-merged over the copied one's. */
import { field, str, toJS, type YamlNode } from '../yaml-source.js';
import type { NodeTemplateEntry } from '../document/records.js';
import type { CompileContext } from './context.js';
import { deepMerge } from './shared.js';
import { didYouMean } from '../suggest.js';

/**
 * Every template by name (a name written twice: the last, in the place of the first), with
 * `copy` applied to the YAML each one is read from.
 */
export function applyCopies(ctx: CompileContext, templates: readonly NodeTemplateEntry[]): Map<string, NodeTemplateEntry> {
  const out = new Map<string, NodeTemplateEntry>();
  let byName: Map<string, YamlNode | null> | undefined;
  // The copied template (itself possibly a copy), deep-merged under this one's own keys.
  const effective = (name: string, seen: string[]): Record<string, unknown> | undefined => {
    byName ??= new Map(templates.map((e) => [e.name, e.own]));
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
      ctx.report('error', 'E_TOSCA_UNKNOWN_TEMPLATE', `"${name}" copies "${copy}", which is not a node template`, ctx.at(field(node, 'copy')), didYouMean(copy, byName!.keys()));
      return own;
    }
    return deepMerge(base, own) as Record<string, unknown>;
  };
  for (const entry of templates) {
    let node: YamlNode | null = entry.own;
    if (str(field(entry.own, 'copy'))) {
      const merged = effective(entry.name, [entry.name]);
      if (merged) node = ctx.unit.src.doc.createNode(merged) as YamlNode;
    }
    out.set(entry.name, node === entry.own ? entry : { ...entry, node });
  }
  return out;
}
