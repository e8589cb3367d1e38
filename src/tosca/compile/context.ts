/**
 * What every entity step of a compile shares: the loaded files and types, the diagnostics, the
 * nodes compiled so far, and the type-level tables (definitions merged along a chain, coerced
 * defaults) that are worked out once per type, not once per node.
 */
import type { Diagnostic, SourceLocation } from '../diagnostic.js';
import type { CompiledInput, CompiledNode, Value } from '../model.js';
import type { Family, Loader, Unit } from '../loader.js';
import { checkUntypedValue, type UntypedProblem } from '../functions/untyped-values.js';
import { containsCall, Label, type PropertyDef, type Problem, type ValueChecker, type What } from '../values.js';
import { didYouMean } from '../suggest.js';
import { copyValue } from './shared.js';
import type { ArtifactRecord, Assignment, CapabilityDefinitionRecord, InterfaceRecord, Offset } from '../document/records.js';
import { locationAt } from '../document/offsets.js';

export type TypeChain = { type: string; types: string[] };
export type TypedFamily = 'node' | 'capability' | 'relationship' | 'interface' | 'artifact' | 'group' | 'policy';

export class CompileContext {
  readonly nodes: Record<string, CompiledNode> = {};
  /** The same, in order: listing a 100,000-key record costs more than keeping this. */
  readonly nodeList: CompiledNode[] = [];
  inputs: Record<string, CompiledInput> = {};
  /** Every node template's name, compiled or not (for "did you mean"). */
  templateNames: string[] = [];

  constructor(
    readonly loader: Loader,
    readonly checker: ValueChecker,
    readonly unit: Unit,
    readonly entryPath: string,
    readonly diagnostics: Diagnostic[],
  ) {
    this.assignUnit = unit;
  }

  report(severity: Diagnostic['severity'], code: string, message: string, at: SourceLocation, hint?: string): void {
    this.diagnostics.push({ severity, code, message, file: at.file, line: at.line, column: at.column, ...(hint ? { hint } : {}) });
  }

  /** A type's records whose untyped values were checked: each of its templates meets them again. */
  private readonly untypedChecked = new WeakSet<object>();

  private readonly untypedProblem: UntypedProblem = (code, message, at, hint) => this.report('error', code, message, at, hint);

  /**
   * `values`, which no type governs, checked for misspelt calls (see functions/untyped-values.ts);
   * `typeRecord`, when they are a type's, has them checked once.
   */
  checkUntyped(values: readonly (readonly [string, Value])[], holder: Offset, unit = this.unit, typeRecord?: object): void {
    if (values.length === 0) return;
    if (typeRecord) {
      if (this.untypedChecked.has(typeRecord)) return;
      this.untypedChecked.add(typeRecord);
    }
    const where = () => this.loc(holder, unit);
    for (const [, v] of values) if (v !== null && typeof v === 'object') checkUntypedValue(v, where, unit.functions, this.untypedProblem);
  }

  problemAt(at: SourceLocation): Problem {
    return (code, message, severity = 'error', hint, where) => this.report(severity, code, message, where ?? at, hint);
  }

  /** Where an offset of a file is, as a message says it. */
  loc(at: Offset, unit = this.unit): SourceLocation {
    return locationAt(unit.src, at);
  }

  /** A location, or an offset into this compile's file as one. */
  private where(at: SourceLocation | Offset): SourceLocation {
    return typeof at === 'number' ? this.loc(at) : at;
  }

  /** A type name resolved to its chain, or an error at `at` (an offset into `unit`'s file, or a location). */
  typeChain(family: TypedFamily, ref: string | undefined, at: SourceLocation | Offset, unit = this.unit, severity: 'error' | 'warning' = 'error'): TypeChain | undefined {
    if (!ref) return undefined;
    const canonical = this.loader.resolve(unit, family, ref);
    if (!canonical) {
      const hint = didYouMean(ref, this.loader.typeNames(unit, family)) ?? this.loader.versionHint(unit, family, ref) ?? (ref.includes(':') ? 'check the namespace prefix and the import' : undefined);
      this.report(severity, 'E_TOSCA_UNKNOWN_TYPE', `unknown ${family} type "${ref}"`, typeof at === 'number' ? locationAt(unit.src, at) : at, hint);
      return undefined;
    }
    return { type: canonical, types: this.loader.chain(family, canonical) };
  }

  private readonly mergedCache = new Map<'capabilities' | 'interfaces' | 'artifacts', Map<string, Map<string, unknown>>>();

  /**
   * A node type's definitions of one kind (capabilities, interfaces, artifacts) merged along its
   * chain, the most-derived winning (in the order the root-most type first names them); once per type.
   */
  mergedDefs(types: readonly string[], key: 'capabilities'): Map<string, CapabilityDefinitionRecord & { unit: Unit }>;
  mergedDefs(types: readonly string[], key: 'interfaces'): Map<string, InterfaceRecord>;
  mergedDefs(types: readonly string[], key: 'artifacts'): Map<string, ArtifactRecord>;
  mergedDefs(types: readonly string[], key: 'capabilities' | 'interfaces' | 'artifacts'): Map<string, unknown> {
    let byType = this.mergedCache.get(key);
    if (!byType) this.mergedCache.set(key, (byType = new Map()));
    const type = types[0] ?? '';
    const cached = byType.get(type);
    if (cached) return cached;
    const out = new Map<string, unknown>();
    byType.set(type, out);
    for (let i = types.length - 1; i >= 0; i--) {
      const def = this.loader.def('node', types[i]!);
      if (!def) continue;
      if (key === 'capabilities') for (const c of def.rec.capabilities) out.set(c.name, { ...c, unit: def.unit });
      else for (const r of def.rec[key]) out.set(r.name, r);
    }
    return out;
  }

  /** A default is the same for every template: coerced and checked once (a call is kept per template). */
  private readonly defaults = new WeakMap<PropertyDef, Value>();

  private coercedDefault(d: PropertyDef, at: SourceLocation | Offset, what: What): Value {
    const known = this.defaults.get(d);
    if (known !== undefined) return copyValue(known);
    // A bad default is reported at the default itself when this definition wrote it.
    const v = this.checker.coerce(d.default!, d.spec, this.problemAt(d.defaultAt !== undefined ? locationAt(d.unit.src, d.defaultAt) : this.where(at)), what, 0, d.unit.version === 2);
    if (!containsCall(v)) this.defaults.set(d, v);
    return copyValue(v);
  }

  /** Each definitions map's values as an array (a type's maps are made once): walked per template without an iterator. */
  private readonly lists = new WeakMap<Map<string, PropertyDef>, PropertyDef[]>();

  private listOf(defs: Map<string, PropertyDef>): PropertyDef[] {
    let list = this.lists.get(defs);
    if (!list || list.length !== defs.size) this.lists.set(defs, (list = [...defs.values()]));
    return list;
  }

  /** Where the assignment being coerced is (see `assignProperties`). */
  private assignUnit: Unit;
  private assignAt: Offset = 0;
  private readonly assignmentProblem: Problem = (c, m, s, h, where) => this.report(s ?? 'error', c, m, where ?? locationAt(this.assignUnit.src, this.assignAt), h);
  /** How messages name the value being coerced: one label of each kind, set before each value (coerce reports synchronously). */
  private readonly propertyLabel = new Label((whose, name) => `${whose} property "${name}"`);
  private readonly attributeLabel = new Label((whose, name) => `${whose} attribute "${name}"`);

  /**
   * Property (or attribute) assignments checked against their definitions, with the definitions'
   * defaults. `fallback`, where a missing property is reported, may be an offset into this
   * compile's file: its line and column are then worked out only for a report.
   */
  assignProperties(defs: Map<string, PropertyDef>, assigned: readonly Assignment[] | undefined, whose: What, fallback: SourceLocation | Offset, unit = this.unit, attributes = false): Record<string, Value> {
    return this.assigned(defs, assigned, whose, fallback, unit, attributes) ?? {};
  }

  /**
   * `assignProperties`, but undefined when nothing was written: most templates get no attributes,
   * and a record made only to be found empty was garbage for each of them.
   */
  assigned(defs: Map<string, PropertyDef>, assigned: readonly Assignment[] | undefined, whose: What, fallback: SourceLocation | Offset, unit = this.unit, attributes = false): Record<string, Value> | undefined {
    let out: Record<string, Value> | undefined;
    const none = !assigned || assigned.length === 0;
    // Definitions that give nothing unassigned (no value, no default, nothing required) give every
    // template nothing: their list is not walked again for each one.
    if (none && (attributes ? this.emptyAttributes : this.emptyProperties).get(defs) === defs.size) return undefined;
    const label = attributes ? this.attributeLabel : this.propertyLabel;
    const kind = attributes ? 'attribute' : 'property';
    if (!none) {
      // One problem callback for every assignment of every template (coerce reports synchronously):
      // where it points is set before each value, and put back after (no closure per call).
      const outerUnit = this.assignUnit;
      const outerAt = this.assignAt;
      this.assignUnit = unit;
      out = {};
      for (let i = 0; i < assigned.length; i++) {
        const a = assigned[i]!;
        const d = defs.get(a.name);
        if (!d) {
          this.report(attributes ? 'warning' : 'error', attributes ? 'W_TOSCA_UNKNOWN_ATTRIBUTE' : 'E_TOSCA_UNKNOWN_PROPERTY', `${whose} has no ${kind} "${a.name}"`, locationAt(unit.src, a.at), defs.size ? `it has: ${[...defs.keys()].join(', ')}` : undefined);
          out[a.name] = a.value;
          continue;
        }
        this.assignAt = a.at;
        out[a.name] = this.checker.coerce(a.value, d.spec, this.assignmentProblem, label.set(whose, a.name), 0, unit.version === 2);
      }
      this.assignUnit = outerUnit;
      this.assignAt = outerAt;
    }
    const list = this.listOf(defs);
    for (let i = 0; i < list.length; i++) {
      const d = list[i]!;
      if (out !== undefined && Object.prototype.hasOwnProperty.call(out, d.name)) continue;
      if (d.value !== undefined) (out ??= {})[d.name] = d.value;
      else if (d.hasDefault) {
        const v = this.coercedDefault(d, fallback, label.set(whose, d.name));
        (out ??= {})[d.name] = v;
      } else if (d.required && !attributes) this.report('error', 'E_TOSCA_REQUIRED_PROPERTY', `${whose} is missing the required property "${d.name}"`, this.where(fallback), `add it under properties:`);
    }
    if (none && !this.gives(list, attributes)) (attributes ? this.emptyAttributes : this.emptyProperties).set(defs, list.length);
    return out;
  }

  /** Definitions maps known to give nothing to a template that assigns none, with their size then (see `assignProperties`). */
  private readonly emptyProperties = new WeakMap<Map<string, PropertyDef>, number>();
  private readonly emptyAttributes = new WeakMap<Map<string, PropertyDef>, number>();

  /** Whether some definition gives an unassigned template a value, or a report. */
  private gives(list: readonly PropertyDef[], attributes: boolean): boolean {
    for (let i = 0; i < list.length; i++) {
      const d = list[i]!;
      if (d.value !== undefined || d.hasDefault || (d.required && !attributes)) return true;
    }
    return false;
  }
}
