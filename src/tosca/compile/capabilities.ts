/** A node's capabilities: its type's capability definitions, with the template's assignments over them. */
import type { SourceLocation } from '../diagnostic.js';
import type { CompiledCapability, Value } from '../model.js';
import type { Unit } from '../loader.js';
import type { Assignment, CapabilityAssignment, CapabilityDefinitionRecord } from '../document/records.js';
import { Label, type PropertyDef, type What } from '../values.js';
import type { CompileContext, TypeChain } from './context.js';
import { copyValue, EMPTY_MAP, isEmptyRecord, shareable, sizedRecord } from './shared.js';

const NONE_ASSIGNED: ReadonlyMap<string, CapabilityAssignment> = new Map();

/** One capability a node type declares, with what is the same for every node of the type. */
interface CapabilitySlot {
  name: string;
  /** The definition, as its type's record gives it. */
  def: CapabilityDefinitionRecord;
  unit: Unit;
  /** Resolved when first needed, so an unknown type is reported where it was before: at the first node. */
  ct?: TypeChain | undefined;
  resolved: boolean;
  /** The type's own values for the capability's properties (`properties:` in its definition). */
  own: ReadonlyArray<[string, Value]>;
  /** The capability type's property and attribute definitions, once resolved (asked for every node that assigns it). */
  properties?: Map<string, PropertyDef>;
  attributes?: Map<string, PropertyDef>;
  /** `capability "name"`, as messages about its attributes name it: made once, not per node. */
  label?: string;
  /**
   * The capability as the type leaves it (every template that leaves it alone gets the same): made
   * once and shared, frozen, when it holds no call (100,000 copies of it were a third of a large
   * compile's garbage).
   */
  shared?: CompiledCapability;
}

/** Assignments this short are looked up by a scan: a Map per node cost more than it saved. */
const SCAN_MAX = 8;

export class CapabilityCompiler {
  /** The capabilities record of a node that assigns none, when every one of them is a shared default: shared too. */
  private readonly records = new Map<string, Record<string, CompiledCapability>>();
  /** Each node type's capabilities with their types resolved: once per type, not once per node. */
  private readonly slots = new Map<string, CapabilitySlot[]>();
  /** `capability "name" of node "template"`, as messages about an assigned capability name it: set for each one. */
  private readonly label = new Label((name, template) => `capability "${name}" of node "${template}"`);

  constructor(private readonly ctx: CompileContext) {}

  compile(template: string, tr: TypeChain, assigned: CapabilityAssignment[] | undefined, loc: SourceLocation, whose: What): Record<string, CompiledCapability> {
    const ctx = this.ctx;
    const n = assigned?.length ?? 0;
    if (n === 0) {
      const known = this.records.get(tr.type);
      if (known) return known;
    }
    const capabilities = sizedRecord<CompiledCapability>();
    const slots = this.slotsOf(tr);
    // A name given twice: the last counts.
    const byName = n > SCAN_MAX ? new Map(assigned!.map((a) => [a.name, a])) : undefined;
    // Index loops, not iterators: once per capability of every node.
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const ct = slot.resolved ? slot.ct : this.resolve(slot);
      if (!ct) continue;
      const name = slot.name;
      const a = n === 0 ? undefined : byName ? byName.get(name) : lastNamed(assigned!, name);
      if (!a) {
        capabilities[name] = slot.shared ?? this.defaultCapability(slot, template, loc);
        continue;
      }
      const merged = ctx.assignProperties((slot.properties ??= ctx.checker.definitions('capability', ct.type, 'properties')), a.properties, this.label.set(name, template), a.at);
      // The node type's own values for the capability's properties, where the template gives none.
      const own = slot.own;
      for (let j = 0; j < own.length; j++) {
        const k = own[j]![0];
        if (!assigns(a.properties, k)) merged[k] = copyValue(own[j]![1]);
      }
      const attributes = ctx.assigned((slot.attributes ??= ctx.checker.definitions('capability', ct.type, 'attributes')), a.attributes, (slot.label ??= `capability "${name}"`), loc, ctx.unit, true);
      // Nothing writes a capability's attributes: an empty one is the shared empty record.
      capabilities[name] = { type: ct.type, types: ct.types, properties: merged, attributes: attributes === undefined || isEmptyRecord(attributes) ? (EMPTY_MAP as Record<string, Value>) : attributes };
    }
    if (n > 0) this.reportUnknown(assigned!, byName, tr, whose);
    return this.shared(tr.type, capabilities, n === 0);
  }

  /** Assigned capabilities the node type does not have, each name once, in the order first written. */
  private reportUnknown(assigned: CapabilityAssignment[], byName: Map<string, CapabilityAssignment> | undefined, tr: TypeChain, whose: What): void {
    const capDefs = this.ctx.mergedDefs(tr.types, 'capabilities');
    if (byName) {
      for (const [name, a] of byName) if (!capDefs.has(name)) this.unknown(capDefs, name, a, whose);
      return;
    }
    for (let i = 0; i < assigned.length; i++) {
      const name = assigned[i]!.name;
      if (!capDefs.has(name) && firstNamed(assigned, name) === i) this.unknown(capDefs, name, lastNamed(assigned, name)!, whose);
    }
  }

  /** A method, not a closure in `reportUnknown`: that allocated a context for every node that assigns a capability. */
  private unknown(capDefs: Map<string, unknown>, name: string, a: CapabilityAssignment, whose: What): void {
    const ctx = this.ctx;
    ctx.report('error', 'E_TOSCA_UNKNOWN_CAPABILITY', `${whose} has no capability "${name}"`, ctx.loc(a.at), capDefs.size ? `it has: ${[...capDefs.keys()].join(', ')}` : undefined);
  }

  private slotsOf(tr: TypeChain): CapabilitySlot[] {
    let slots = this.slots.get(tr.type);
    if (slots) return slots;
    slots = [];
    for (const [name, def] of this.ctx.mergedDefs(tr.types, 'capabilities')) slots.push({ name, def, unit: def.unit, resolved: false, own: def.properties });
    this.slots.set(tr.type, slots);
    return slots;
  }

  /** The capability's type chain; an unknown type is reported at its definition (once: later nodes would only repeat it). */
  private resolve(slot: CapabilitySlot): TypeChain | undefined {
    const capRef = slot.def.type;
    slot.ct = capRef ? this.ctx.typeChain('capability', capRef, slot.def.at, slot.unit) : undefined;
    slot.resolved = true;
    return slot.ct;
  }

  /** The capability as the node type leaves it: kept on its slot (the type's) when it can be shared. */
  private defaultCapability(slot: CapabilitySlot, template: string, loc: SourceLocation): CompiledCapability {
    const ctx = this.ctx;
    const { name } = slot;
    const ct = slot.ct!;
    const properties = ctx.assignProperties(ctx.checker.definitions('capability', ct.type, 'properties'), undefined, `capability "${name}" of node "${template}"`, loc);
    for (const [k, v] of slot.own) properties[k] = copyValue(v);
    const attributes = ctx.assignProperties(ctx.checker.definitions('capability', ct.type, 'attributes'), undefined, `capability "${name}"`, loc, ctx.unit, true);
    const made = shareable<CompiledCapability>({ type: ct.type, types: ct.types, properties, attributes });
    if (Object.isFrozen(made)) slot.shared = made;
    return made;
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

/** Whether an assignment list (maybe absent) names `name`. */
function assigns(list: readonly Assignment[] | undefined, name: string): boolean {
  if (list) for (let i = 0; i < list.length; i++) if (list[i]!.name === name) return true;
  return false;
}

function lastNamed(assigned: readonly CapabilityAssignment[], name: string): CapabilityAssignment | undefined {
  for (let i = assigned.length - 1; i >= 0; i--) if (assigned[i]!.name === name) return assigned[i];
  return undefined;
}

function firstNamed(assigned: readonly CapabilityAssignment[], name: string): number {
  for (let i = 0; i < assigned.length; i++) if (assigned[i]!.name === name) return i;
  return -1;
}
