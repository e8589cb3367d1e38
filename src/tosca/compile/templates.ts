/** `copy` (TOSCA 2.0 §8.3.1): a node template made from another one, its own keys deep-merged over the copied one's. */
import { Pair, YAMLMap } from 'yaml';
import { isMap, toJS, type YamlNode } from '../yaml-source.js';
import { scalarKey } from '../yaml-fast.js';
import type { YamlSource } from '../yaml-source.js';
import type { NodeTemplateEntry } from '../document/records.js';
import type { CompileContext } from './context.js';
import { didYouMean } from '../suggest.js';

/**
 * The node templates to compile, in order, and by name when asked: a service whose templates
 * name no other (no requirement target, no node filter) never needs the table of 100,000 names.
 */
export class TemplateTable {
  private table: Map<string, NodeTemplateEntry> | undefined;

  /** `list` holds one template per name; `table`, when given, is it by name. */
  constructor(
    readonly list: readonly NodeTemplateEntry[],
    table?: Map<string, NodeTemplateEntry>,
  ) {
    this.table = table;
  }

  get byName(): ReadonlyMap<string, NodeTemplateEntry> {
    return (this.table ??= new Map(this.list.map((e) => [e.name, e])));
  }
}

/**
 * Every template by name (a name written twice: the last, in the place of the first), with
 * `copy` applied to the YAML each one is read from. `namesDistinct`: no name is written twice.
 */
export function applyCopies(ctx: CompileContext, templates: readonly NodeTemplateEntry[], namesDistinct = false): TemplateTable {
  // Nothing to merge and no name to keep the last of: the templates as read are the table's.
  if (namesDistinct && !templates.some((e) => e.copy)) return new TemplateTable(templates);
  const out = new Map<string, NodeTemplateEntry>();
  let byName: Map<string, NodeTemplateEntry> | undefined;
  const src = ctx.unit.src;
  // The copied template (itself possibly a copy), merged under this one's own keys.
  const effective = (entry: NodeTemplateEntry, seen: string[]): YamlNode | null => {
    const own = withoutCopy(src, entry.own);
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
    return merge(src, effective(from, [...seen, copy.name]), own);
  };
  for (const entry of templates) {
    let node: YamlNode | null = entry.own;
    if (entry.copy) {
      byName ??= new Map(templates.map((e) => [e.name, e]));
      // A name written twice is the last template of that name, as everywhere else.
      node = effective(byName.get(entry.name)!, [entry.name]);
    }
    out.set(entry.name, node === entry.own ? entry : { ...entry, node });
  }
  return new TemplateTable([...out.values()], out);
}

/**
 * The merged template is made of the nodes as written, not of a copy of their values: whatever
 * comes from the copied template keeps its place there, whatever the copying one writes keeps
 * its own, so every problem is reported where it is written. A map made here takes the place of
 * the copying template's map it stands for.
 */
function merge(src: YamlSource, base: YamlNode | null, over: YamlNode | null): YamlNode | null {
  // As a merge of plain values (the copying template's value wins; maps merge key by key).
  if (!isMap(base) || !isMap(over)) return over;
  const pairs = keyed(src, base);
  for (const [k, p] of keyed(src, over)) {
    const under = pairs.get(k);
    pairs.set(k, under ? new Pair(p.key, merge(src, (under.value as YamlNode | null) ?? null, (p.value as YamlNode | null) ?? null)) : p);
  }
  return mapLike(over, [...pairs.values()]);
}

/** A template's map without its `copy` (applied, not read as a keyword of the result). */
function withoutCopy(src: YamlSource, node: YamlNode | null): YamlNode | null {
  if (!isMap(node)) return node;
  const pairs = keyed(src, node);
  pairs.delete('copy');
  return mapLike(node, [...pairs.values()]);
}

/**
 * The pairs of a map by key, as its plain value reads them (`toJS`): a key written twice keeps its
 * first place and its last value.
 */
function keyed(src: YamlSource, map: YamlNode): Map<string, Pair> {
  const out = new Map<string, Pair>();
  for (const item of (map as YAMLMap).items) {
    const p = item as Pair;
    const k = scalarKey(p) ?? keyText(src, p);
    out.set(k, p);
  }
  return out;
}

/** A key that is not a scalar, named as `toJS` names it. */
function keyText(src: YamlSource, p: Pair): string {
  const key = toJS(src, p.key as YamlNode | null);
  return key === null || key === undefined ? '' : typeof key === 'object' ? JSON.stringify(key) : String(key);
}

function mapLike(like: YamlNode, items: Pair[]): YAMLMap {
  const m = new YAMLMap();
  m.items = items;
  const r = like.range;
  if (r) m.range = [r[0], r[1], r[2]];
  return m;
}
