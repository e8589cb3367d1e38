/** `copy` (TOSCA 2.0 §8.3.1): a node template made from another one, its own keys deep-merged over the copied one's. */
import { isMap, isScalar, isSeq, toJS, type YamlNode } from '../yaml-source.js';
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
  let byName: Map<string, NodeTemplateEntry> | undefined;
  // The copied template (itself possibly a copy), deep-merged under this one's own keys.
  const effective = (entry: NodeTemplateEntry, seen: string[]): Record<string, unknown> => {
    const own = (toJS(ctx.unit.src, entry.own) ?? {}) as Record<string, unknown>;
    delete own.copy;
    const copy = entry.copy;
    if (!copy) return own;
    if (seen.includes(copy.name)) {
      ctx.report('error', 'E_TOSCA_COPY', `copy cycle: ${[...seen, copy.name].join(' → ')}`, ctx.loc(copy.at));
      return own;
    }
    const from = byName!.get(copy.name);
    if (!from) {
      ctx.report('error', 'E_TOSCA_UNKNOWN_TEMPLATE', `"${entry.name}" copies "${copy.name}", which is not a node template`, ctx.loc(copy.at), didYouMean(copy.name, byName!.keys()));
      return own;
    }
    return deepMerge(effective(from, [...seen, copy.name]), own) as Record<string, unknown>;
  };
  for (const entry of templates) {
    let node: YamlNode | null = entry.own;
    if (entry.copy) {
      byName ??= new Map(templates.map((e) => [e.name, e]));
      // A name written twice is the last template of that name, as everywhere else.
      node = ctx.unit.src.doc.createNode(effective(byName.get(entry.name)!, [entry.name])) as YamlNode;
      placeLike(node, entry.own, (entry.own as { range?: Range } | null)?.range);
    }
    out.set(entry.name, node === entry.own ? entry : { ...entry, node });
  }
  return out;
}

type Range = [number, number, number];

/**
 * A template merged from a copy is a new YAML tree without positions: each of its nodes takes the
 * position of the same key in the template as written, or else the template's own, so a problem
 * in it is reported there, not at the first line of the file.
 */
function placeLike(made: unknown, own: unknown, fallback: Range | undefined): void {
  if (!made || typeof made !== 'object') return;
  const m = made as { range?: Range };
  const o = own as { range?: Range } | null | undefined;
  m.range ??= o?.range ?? fallback;
  if (isMap(made)) {
    for (const p of made.items) {
      const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
      const op = isMap(own) ? own.items.find((q) => (isScalar(q.key) ? String(q.key.value) : String(q.key)) === k) : undefined;
      const at = (op?.key as { range?: Range } | undefined)?.range ?? m.range;
      if (p.key && typeof p.key === 'object') placeLike(p.key, op?.key, at);
      placeLike(p.value, op?.value, (op?.value as { range?: Range } | undefined)?.range ?? at);
    }
  } else if (isSeq(made)) {
    made.items.forEach((item, i) => placeLike(item, isSeq(own) ? own.items[i] : undefined, m.range));
  }
}
