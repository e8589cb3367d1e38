/** A node's capabilities: its type's capability definitions, with the template's assignments over them. */
import type { SourceLocation } from '../diagnostic.js';
import type { CompiledCapability } from '../model.js';
import type { CapabilityAssignment, CapabilityDefinitionRecord } from '../document/records.js';
import type { CompileContext, TypeChain } from './context.js';
import { copyValue, sharedPerType } from './shared.js';

const NONE_ASSIGNED: ReadonlyMap<string, CapabilityAssignment> = new Map();

export class CapabilityCompiler {
  /**
   * A capability the template leaves alone is the same for every node of a type: made once and
   * shared, frozen (100,000 copies of it were a third of a large compile's garbage).
   */
  private readonly defaults = new Map<string, Map<string, CompiledCapability>>();
  /** The capabilities record of a node that assigns none, when every one of them is a shared default: shared too. */
  private readonly records = new Map<string, Record<string, CompiledCapability>>();

  constructor(private readonly ctx: CompileContext) {}

  compile(template: string, tr: TypeChain, assigned: CapabilityAssignment[] | undefined, loc: SourceLocation, whose: string): Record<string, CompiledCapability> {
    const ctx = this.ctx;
    const capabilities: Record<string, CompiledCapability> = {};
    const capDefs = ctx.mergedDefs(tr.types, 'capabilities');
    // A name given twice: the last counts.
    const capAssigned = assigned?.length ? new Map(assigned.map((a) => [a.name, a])) : NONE_ASSIGNED;
    for (const [name, def] of capDefs) {
      const unit = def.unit;
      const capRef = def.type;
      const ct = capRef ? ctx.typeChain('capability', capRef, def.at, unit) : undefined;
      if (!ct) continue;
      const a = capAssigned.get(name);
      if (!a) {
        capabilities[name] = this.defaultCapability(tr.type, name, ct, def, template, loc);
        continue;
      }
      const defs = ctx.checker.definitions('capability', ct.type, 'properties');
      const merged = ctx.assignProperties(defs, a.properties, `capability "${name}" of node "${template}"`, ctx.loc(a.at));
      // The node type's own values for the capability's properties, where the template gives none.
      for (const [k, v] of def.properties) if (!a.properties?.some((p) => p.name === k)) merged[k] = copyValue(v);
      capabilities[name] = { ...ct, properties: merged, attributes: ctx.assignProperties(ctx.checker.definitions('capability', ct.type, 'attributes'), a.attributes, `capability "${name}"`, loc, ctx.unit, true) };
    }
    for (const [name, a] of capAssigned) if (!capDefs.has(name)) ctx.report('error', 'E_TOSCA_UNKNOWN_CAPABILITY', `${whose} has no capability "${name}"`, ctx.loc(a.at), capDefs.size ? `it has: ${[...capDefs.keys()].join(', ')}` : undefined);
    return this.shared(tr.type, capabilities, capAssigned.size === 0);
  }

  private defaultCapability(nodeType: string, name: string, ct: TypeChain, def: CapabilityDefinitionRecord, template: string, loc: SourceLocation): CompiledCapability {
    const ctx = this.ctx;
    let byName = this.defaults.get(nodeType);
    if (!byName) this.defaults.set(nodeType, (byName = new Map()));
    return sharedPerType(byName, name, () => {
      const properties = ctx.assignProperties(ctx.checker.definitions('capability', ct.type, 'properties'), undefined, `capability "${name}" of node "${template}"`, loc);
      for (const [k, v] of def.properties) properties[k] = copyValue(v);
      const attributes = ctx.assignProperties(ctx.checker.definitions('capability', ct.type, 'attributes'), undefined, `capability "${name}"`, loc, ctx.unit, true);
      return { ...ct, properties, attributes };
    });
  }

  private shared(nodeType: string, made: Record<string, CompiledCapability>, untouched: boolean): Record<string, CompiledCapability> {
    if (!untouched) return made;
    const known = this.records.get(nodeType);
    if (known) return known;
    for (const cap of Object.values(made)) if (!Object.isFrozen(cap)) return made; // one holds a call: made for this node
    const shared = Object.freeze(made);
    this.records.set(nodeType, shared);
    return shared;
  }
}
