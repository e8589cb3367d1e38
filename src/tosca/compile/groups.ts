/** Groups (members are node templates) and policies (targets are node templates or groups). */
import type { CompiledGroup, CompiledPolicy } from '../model.js';
import { didYouMean } from '../suggest.js';
import { entries, field, seqItems, str, type YamlNode } from '../yaml-source.js';
import type { CompileContext } from './context.js';

export function compileGroups(ctx: CompileContext, tpl: YamlNode): Record<string, CompiledGroup> {
  const out: Record<string, CompiledGroup> = {};
  for (const [name, node, pair] of entries(field(tpl, 'groups'))) {
    const tt = ctx.typeChain('group', str(field(node, 'type')), ctx.at(field(node, 'type') ?? pair));
    if (!tt) continue;
    const members = seqItems(field(node, 'members')).map((m) => str(m) ?? '').filter(Boolean);
    for (const m of members) if (!ctx.nodes[m]) ctx.report('error', 'E_TOSCA_UNKNOWN_TEMPLATE', `group "${name}" names "${m}", which is not a node template`, ctx.at(pair), didYouMean(m, ctx.templateNames));
    out[name] = { name, ...tt, members, properties: ctx.assignProperties(ctx.checker.definitions('group', tt.type, 'properties'), field(node, 'properties'), `group "${name}"`, ctx.at(pair)), source: ctx.at(pair) };
  }
  return out;
}

export function compilePolicies(ctx: CompileContext, tpl: YamlNode): CompiledPolicy[] {
  const p = field(tpl, 'policies');
  // 2.0 and 1.x write a list of single-key maps; a map is read too.
  const list: Array<[string, YamlNode | null, unknown]> = seqItems(p).length ? seqItems(p).flatMap((i) => entries(i)) : entries(p);
  const out: CompiledPolicy[] = [];
  for (const [name, node, pair] of list) {
    const loc = ctx.at(pair as YamlNode);
    const tt = ctx.typeChain('policy', str(field(node, 'type')), ctx.at(field(node, 'type') ?? (pair as YamlNode)));
    if (!tt) continue;
    const targets = seqItems(field(node, 'targets')).map((m) => str(m) ?? '').filter(Boolean);
    out.push({ name, ...tt, targets, properties: ctx.assignProperties(ctx.checker.definitions('policy', tt.type, 'properties'), field(node, 'properties'), `policy "${name}"`, loc), source: loc });
  }
  return out;
}
