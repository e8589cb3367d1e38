/** A node's interfaces: its type's interface definitions, with the template's assignments over them. */
import type { CompiledInterface, CompiledOperation } from '../model.js';
import { joinPath } from '../loader.js';
import type { InterfaceRecord } from '../document/records.js';
import type { CompileContext } from './context.js';
import { copyValue, sharedPerType } from './shared.js';

export class InterfaceCompiler {
  /** Interfaces of a node type when the template assigns none: the same for each such node, shared frozen. */
  private readonly defaults = new Map<string, Record<string, CompiledInterface>>();

  constructor(private readonly ctx: CompileContext) {}

  compile(types: string[], assigned: InterfaceRecord[] | undefined, template: string): Record<string, CompiledInterface> {
    if (assigned !== undefined) return this.make(types, assigned, template);
    return sharedPerType(this.defaults, types[0] ?? '', () => this.make(types, [], template));
  }

  private make(types: string[], assigned: InterfaceRecord[], template: string): Record<string, CompiledInterface> {
    const ctx = this.ctx;
    const out: Record<string, CompiledInterface> = {};
    const defs = ctx.mergedDefs(types, 'interfaces');
    // A name given twice: the last counts.
    const given = new Map(assigned.map((a) => [a.name, a]));
    for (const name of new Set([...defs.keys(), ...given.keys()])) {
      const def = defs.get(name);
      const a = given.get(name);
      if (!def && a) ctx.report('warning', 'W_TOSCA_UNKNOWN_INTERFACE', `node "${template}" assigns interface "${name}", which its type does not declare`, ctx.loc(a.at));
      const typeRef = def?.type ?? a?.type;
      const tt = typeRef ? (ctx.loader.resolve(def?.unit ?? ctx.unit, 'interface', typeRef) ?? typeRef) : name;
      const operations: Record<string, CompiledOperation> = {};
      // The type's operations, then the template's over them.
      for (const r of def && a ? [def, a] : def ? [def] : a ? [a] : []) {
        for (const op of r.operations) {
          const prev = operations[op.name];
          const primary = op.implementation;
          operations[op.name] = {
            ...(primary ? { implementation: /^[a-z]+:\/\//i.test(primary) ? primary : joinPath(r.unit.dir, primary) } : prev?.implementation ? { implementation: prev.implementation } : {}),
            dependencies: op.dependencies.length ? op.dependencies.map((d) => joinPath(r.unit.dir, d)) : (prev?.dependencies ?? []),
            ...(op.timeout !== undefined ? { timeout: op.timeout } : prev?.timeout !== undefined ? { timeout: prev.timeout } : {}),
            // The type's values are its record's: each node gets its own copy.
            inputs: { ...(prev?.inputs ?? {}), ...Object.fromEntries(r === def ? op.inputs.map(([k, v]) => [k, copyValue(v)]) : op.inputs) },
            outputs: { ...(prev?.outputs ?? {}), ...Object.fromEntries(op.outputs) },
            ...(op.description ? { description: op.description } : {}),
          };
        }
      }
      out[name] = { type: tt, types: ctx.loader.def('interface', tt) ? ctx.loader.chain('interface', tt) : [tt], inputs: Object.fromEntries(a?.inputs ?? []), operations };
    }
    return out;
  }
}
