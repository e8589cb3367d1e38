/** Groups (members are node templates) and policies (targets are node templates or groups). */
import type { CompiledGroup, CompiledPolicy } from '../model.js';
import { didYouMean } from '../suggest.js';
import type { ServiceTemplate } from '../document/records.js';
import type { CompileContext } from './context.js';

export function compileGroups(ctx: CompileContext, service: ServiceTemplate): Record<string, CompiledGroup> {
  const out: Record<string, CompiledGroup> = {};
  for (const g of service.groups) {
    const tt = ctx.typeChain('group', g.type, g.typeAt);
    if (!tt) continue;
    const at = ctx.loc(g.at);
    for (const m of g.members) if (!ctx.nodes[m]) ctx.report('error', 'E_TOSCA_UNKNOWN_TEMPLATE', `group "${g.name}" names "${m}", which is not a node template`, at, didYouMean(m, ctx.templateNames));
    out[g.name] = { name: g.name, ...tt, members: g.members, properties: ctx.assignProperties(ctx.checker.definitions('group', tt.type, 'properties'), g.properties, `group "${g.name}"`, at), source: at };
  }
  return out;
}

export function compilePolicies(ctx: CompileContext, service: ServiceTemplate): CompiledPolicy[] {
  const out: CompiledPolicy[] = [];
  const groups = service.groups.map((g) => g.name);
  for (const p of service.policies) {
    const at = ctx.loc(p.at);
    const tt = ctx.typeChain('policy', p.type, p.typeAt);
    if (!tt) continue;
    // A target is a node template or a group (1.3 §3.8.6): a misspelt one applied the policy to nothing.
    for (const t of p.targets) {
      if (!ctx.nodes[t] && !groups.includes(t)) ctx.report('error', 'E_TOSCA_UNKNOWN_TEMPLATE', `policy "${p.name}" names "${t}", which is neither a node template nor a group`, at, didYouMean(t, [...ctx.templateNames, ...groups]));
    }
    out.push({ name: p.name, ...tt, targets: p.targets, properties: ctx.assignProperties(ctx.checker.definitions('policy', tt.type, 'properties'), p.properties, `policy "${p.name}"`, at), source: at });
  }
  return out;
}
