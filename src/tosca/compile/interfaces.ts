/** A node's interfaces: its type's interface definitions, with the template's assignments over them. */
import type { CompiledInterface, CompiledOperation } from '../model.js';
import { joinPath } from '../loader.js';
import type { InterfaceRecord } from '../document/records.js';
import type { CompileContext } from './context.js';
import { copyValue, sharedPerType } from './shared.js';
import { closest, didYouMean } from '../suggest.js';
import { grammarFor } from '../grammar/index.js';

/** The keywords an interface type, definition or assignment takes in a version's grammar. */
const interfaceKeywords = new Map<string, string[]>();
function keywordsOf(versionText: string): string[] {
  let list = interfaceKeywords.get(versionText);
  if (!list) {
    const entities = grammarFor(versionText)?.entities ?? {};
    const names = ['interfaceType', 'interfaceDefinition', 'interfaceAssignment'].flatMap((e) => Object.keys(entities[e]?.keywords ?? {}));
    interfaceKeywords.set(versionText, (list = [...new Set(names)]));
  }
  return list;
}

export class InterfaceCompiler {
  /** Interfaces of a node type when the template assigns none: the same for each such node, shared frozen. */
  private readonly defaults = new Map<string, Record<string, CompiledInterface>>();

  constructor(private readonly ctx: CompileContext) {}

  compile(types: string[], assigned: InterfaceRecord[] | undefined, template: string): Record<string, CompiledInterface> {
    if (assigned !== undefined) return this.make(types, assigned, template);
    // Looked up before a closure is made for a miss: nearly every node finds it.
    return this.defaults.get(types[0] ?? '') ?? this.makeDefault(types, template);
  }

  private makeDefault(types: string[], template: string): Record<string, CompiledInterface> {
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
      // An assignment refines what the type declares (1.3 §3.8.3; Puccini refuses the undeclared):
      // a misspelt interface name would leave its operations unrun.
      if (!def && a) ctx.report('error', 'E_TOSCA_UNKNOWN_INTERFACE', `node "${template}" assigns interface "${name}", which its type does not declare`, ctx.loc(a.at), didYouMean(name, [...defs.keys()]) ?? (defs.size ? `its type declares: ${[...defs.keys()].join(', ')}` : 'its type declares no interfaces'));
      const typeRef = def?.type ?? a?.type;
      const resolved = typeRef ? ctx.loader.resolve(def?.unit ?? ctx.unit, 'interface', typeRef) : undefined;
      const tt = resolved ?? typeRef ?? name;
      // An interface definition naming an unknown interface type: once per definition, used or not by the template.
      const fromDef = def?.type !== undefined;
      const where = fromDef ? def : a;
      if (typeRef && !resolved && where && !this.reported.has(where)) {
        this.reported.add(where);
        if (fromDef) ctx.typeChain('interface', typeRef, def!.at, def!.unit);
        else ctx.typeChain('interface', typeRef, a!.at);
      }
      if (def && a) this.checkOperations(a, def, tt, template);
      const operations: Record<string, CompiledOperation> = {};
      // The type's operations, then the template's over them.
      for (const r of def && a ? [def, a] : def ? [def] : a ? [a] : []) {
        const typeRecord = r === def ? r : undefined;
        ctx.checkUntyped(r.inputs, r.at, r.unit, typeRecord);
        for (const op of r.operations) {
          ctx.checkUntyped(op.inputs, op.at, r.unit, typeRecord && op);
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

  /** Interface definitions (or assignments) whose unknown type was reported. */
  private readonly reported = new WeakSet<object>();

  /** Operation names an interface type declares, with its parents' (undefined: the type is unknown, nothing to check against). */
  private readonly typeOperations = new Map<string, ReadonlySet<string> | undefined>();

  private operationsOfType(tt: string): ReadonlySet<string> | undefined {
    if (this.typeOperations.has(tt)) return this.typeOperations.get(tt);
    const loader = this.ctx.loader;
    let out: Set<string> | undefined;
    if (loader.def('interface', tt)) {
      out = new Set();
      for (const t of loader.chain('interface', tt)) {
        const td = loader.def('interface', t);
        if (td) for (const op of td.rec.operations) out.add(op);
      }
    }
    this.typeOperations.set(tt, out);
    return out;
  }

  /**
   * A template assigns only operations its interface declares (in the interface type or the node
   * type's definition; Puccini refuses others): `craete:` would leave the create script unrun.
   */
  private checkOperations(a: InterfaceRecord, def: InterfaceRecord, tt: string, template: string): void {
    if (!a.operations.length) return;
    const ofType = this.operationsOfType(tt);
    if (!ofType) return;
    // 1.0–1.2 list operations directly: a misspelt keyword there (`inptus:`) is the grammar's to report, not an operation.
    const keywords = keywordsOf(a.unit.versionText);
    const keywordTypo = (n: string) => closest(n, keywords) !== undefined;
    const known = new Set([...ofType, ...def.operations.map((o) => o.name)].filter((n) => !keywordTypo(n)));
    for (const op of a.operations) {
      if (known.has(op.name) || keywordTypo(op.name)) continue;
      this.ctx.report('error', 'E_TOSCA_UNKNOWN_OPERATION', `node "${template}" assigns operation "${op.name}" of interface "${a.name}", which the interface does not declare`, this.ctx.loc(op.at), didYouMean(op.name, known) ?? `it declares: ${[...known].join(', ') || 'no operations'}`);
    }
  }
}
