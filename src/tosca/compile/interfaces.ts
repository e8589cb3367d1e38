/** A node's interfaces: its type's interface definitions, with the template's assignments over them. */
import type { CompiledInterface, CompiledOperation } from '../model.js';
import { joinPath, type Unit } from '../loader.js';
import { entries, field, seqItems, str, toJS, type YamlNode } from '../yaml-source.js';
import type { CompileContext } from './context.js';
import { sharedPerType } from './shared.js';

export class InterfaceCompiler {
  /** Interfaces of a node type when the template assigns none: the same for each such node, shared frozen. */
  private readonly defaults = new Map<string, Record<string, CompiledInterface>>();

  constructor(private readonly ctx: CompileContext) {}

  compile(types: string[], assigned: YamlNode | null | undefined, template: string): Record<string, CompiledInterface> {
    if (assigned !== undefined && assigned !== null) return this.make(types, assigned, template);
    return sharedPerType(this.defaults, types[0] ?? '', () => this.make(types, assigned, template));
  }

  private make(types: string[], assigned: YamlNode | null | undefined, template: string): Record<string, CompiledInterface> {
    const ctx = this.ctx;
    const out: Record<string, CompiledInterface> = {};
    const defs = ctx.mergedDefs(types, 'interfaces');
    const given = new Map(entries(assigned).map(([k, v, p]) => [k, { v, p }]));
    for (const name of new Set([...defs.keys(), ...given.keys()])) {
      const def = defs.get(name);
      const a = given.get(name);
      if (!def && a) ctx.report('warning', 'W_TOSCA_UNKNOWN_INTERFACE', `node "${template}" assigns interface "${name}", which its type does not declare`, ctx.at(a.p));
      const typeRef = str(field(def?.node, 'type')) ?? str(field(a?.v, 'type'));
      const tt = typeRef ? (ctx.loader.resolve(def?.unit ?? ctx.unit, 'interface', typeRef) ?? typeRef) : name;
      const operations: Record<string, CompiledOperation> = {};
      const collect = (node: YamlNode | null | undefined, unit: Unit) => {
        const opsNode = field(node, 'operations');
        const list = opsNode !== undefined ? entries(opsNode) : entries(node).filter(([k]) => !['type', 'inputs', 'description', 'notifications', 'derived_from'].includes(k));
        for (const [op, v] of list) {
          const impl = field(v, 'implementation');
          const primary = str(v) ?? str(impl) ?? str(field(impl, 'primary')) ?? str(field(field(impl, 'primary'), 'file'));
          const prev = operations[op];
          const deps = seqItems(field(impl, 'dependencies')).map((d) => str(d) ?? str(field(d, 'file'))).filter((d): d is string => !!d);
          const timeout = toJS(unit.src, field(impl, 'timeout'));
          operations[op] = {
            ...(primary ? { implementation: /^[a-z]+:\/\//i.test(primary) ? primary : joinPath(unit.dir, primary) } : prev?.implementation ? { implementation: prev.implementation } : {}),
            dependencies: deps.length ? deps.map((d) => joinPath(unit.dir, d)) : (prev?.dependencies ?? []),
            ...(typeof timeout === 'number' ? { timeout } : prev?.timeout !== undefined ? { timeout: prev.timeout } : {}),
            inputs: { ...(prev?.inputs ?? {}), ...Object.fromEntries(entries(field(v, 'inputs')).map(([k, x]) => [k, str(field(x, 'type')) && field(x, 'default') !== undefined ? ctx.value(field(x, 'default'), unit) : str(field(x, 'type')) ? null : ctx.value(x, unit)])) },
            outputs: { ...(prev?.outputs ?? {}), ...Object.fromEntries(entries(field(v, 'outputs')).map(([k, x]) => [k, (toJS(unit.src, x) as string[]) ?? []])) },
            ...(str(field(v, 'description')) ? { description: str(field(v, 'description'))! } : {}),
          };
        }
      };
      if (def) collect(def.node, def.unit);
      if (a) collect(a.v, ctx.unit);
      out[name] = { type: tt, types: ctx.loader.def('interface', tt) ? ctx.loader.chain('interface', tt) : [tt], inputs: Object.fromEntries(entries(field(a?.v, 'inputs')).map(([k, x]) => [k, ctx.value(x)])), operations };
    }
    return out;
  }
}
