/**
 * Values: function calls recognised in raw YAML, coercion to TOSCA types (primitives, scalar
 * units, lists and maps with schemas, user data types), and validation clauses (2.0 `validation`,
 * 1.3 `constraints`).
 */
import { COLLECTION_TESTS, collectionTest, valuePart } from './validation/operators.js';
import { parse as parseYamlText } from 'yaml';
import type { FunctionCall, Value } from './model.js';
import { isFunctionCall } from './model.js';
import { evaluateStandard } from './functions-standard.js';
import { BARE_FUNCTIONS } from './functions/bare-names.js';
import { misspeltCall, misspeltCallText, type MisspeltCall } from './functions/bare-calls.js';
import { callSite } from './functions/call-sites.js';
import type { SourceLocation } from './diagnostic.js';
import { PRIMITIVES, type Family, type Loader, type Unit } from './loader.js';
import { primitiveInVersion } from './grammar/tosca-1.js';
import { compareVersions, parseCustomScalar, parseScalar, SCALAR_KINDS, type ScalarKind } from './scalars.js';
import type { Offset, PropertyDefinitionRecord, SchemaRecord } from './document/records.js';

export const KNOWN_FUNCTIONS = new Set([
  ...BARE_FUNCTIONS, 'value', 'length', 'sum', 'difference', 'product', 'quotient', 'remainder', 'round', 'floor', 'ceil', 'node_index', 'relationship_index',
  'and', 'or', 'not', 'xor', 'equal', 'greater_than', 'greater_or_equal', 'less_than', 'less_or_equal', 'in_range', 'valid_values', 'min_length', 'max_length', 'matches', 'pattern', 'has_suffix', 'has_prefix', 'contains', 'has_entry', 'has_key', 'has_all_entries', 'has_all_keys', 'has_any_entry', 'has_any_key',
]);

/** Raw YAML data (plain JS) → Value, with function calls recognised and `$$` keys unescaped. */
export function toValue(raw: unknown, unit: Unit): Value {
  if (Array.isArray(raw)) return toValues(raw, unit);
  if (raw instanceof Date) return raw.toISOString();
  if (raw && typeof raw === 'object') {
    const keys = Object.keys(raw);
    if (keys.length === 1) {
      const k = keys[0]!;
      const name = k.startsWith('$$') ? undefined : k.startsWith('$') ? k.slice(1) : BARE_FUNCTIONS.has(k) ? k : undefined;
      if (name !== undefined) {
        const arg = (raw as Record<string, unknown>)[k];
        const args = Array.isArray(arg) ? arg : [arg];
        return { $fn: name, args: toValues(args, unit) };
      }
    }
    const out: Record<string, Value> = {};
    for (const k of keys) out[mapKey(k, unit)] = toValue((raw as Record<string, unknown>)[k], unit);
    return out;
  }
  if (raw === undefined) return null;
  return raw as Value;
}

/** `toValue` of each item: a loop of its own, since a closure in `toValue` would allocate a context per value. */
function toValues(raw: unknown[], unit: Unit): Value[] {
  const out = new Array<Value>(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = toValue(raw[i], unit);
  return out;
}

/** A map key: `$$x` is a literal `$x`; a key that is a function call of literals is evaluated. */
function mapKey(k: string, unit: Unit): string {
  if (k.startsWith('$$')) return k.slice(1);
  if (/^\{.*\}$/.test(k.trim())) {
    try {
      const v = toValue(parseYamlText(k), unit);
      if (isFunctionCall(v) && !v.args.some(containsCall)) {
        const r = evaluateStandard(v.$fn, v.args);
        if (typeof r === 'string' || typeof r === 'number') return String(r);
      }
    } catch {
      // not YAML: a plain key
    }
  }
  return k;
}

export function containsCall(v: Value): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (isFunctionCall(v)) return true;
  // Loops, not `some` over `Object.values`: asked of every value of every node.
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (containsCall(v[i]!)) return true;
    return false;
  }
  for (const k in v) if (Object.prototype.hasOwnProperty.call(v, k) && containsCall((v as Record<string, Value>)[k]!)) return true;
  return false;
}

/** What a value must be: a type written in `unit`, with schemas and validation. */
export interface TypeSpec {
  type: string;
  unit: Unit;
  entry?: TypeSpec;
  key?: TypeSpec;
  validation?: unknown;
  constraints?: unknown[];
}

/** A schema or definition as read (see document/read-definitions.ts) → what a value must be; `inherited` fills what it leaves out. */
export function specFrom(def: SchemaRecord | undefined, unit: Unit, inherited?: TypeSpec): TypeSpec | undefined {
  if (def?.short) return { type: def.type!, unit };
  const type = def?.type ?? inherited?.type;
  if (!type) return inherited;
  const spec: TypeSpec = { type, unit: def?.type !== undefined ? unit : inherited!.unit };
  if (def && 'entry' in def) spec.entry = specFrom(def.entry, unit);
  else if (inherited?.entry) spec.entry = inherited.entry;
  if (def && 'key' in def) spec.key = specFrom(def.key, unit);
  else if (inherited?.key) spec.key = inherited.key;
  if (def && 'validation' in def) spec.validation = def.validation;
  else if (inherited?.validation !== undefined) spec.validation = inherited.validation;
  if (def && 'constraints' in def) spec.constraints = def.constraints as unknown[];
  else if (inherited?.constraints) spec.constraints = inherited.constraints;
  return spec;
}

export interface PropertyDef {
  name: string;
  spec?: TypeSpec;
  required: boolean;
  hasDefault: boolean;
  default?: Value;
  value?: Value;
  /** Where this definition's own `default` is (undefined when it inherits one). */
  defaultAt?: Offset;
  unit: Unit;
}

/**
 * What a message names (`node "a" (T) property "p"`): a string, or an object that makes it when a
 * message is written (`${what}`), so the many values that have no problem make no text.
 */
export type What = string | { toString(): string };

/**
 * A `What` whose text `format` makes from its parts when a message is written. A compiler keeps
 * one and sets it again for each value it names: a message is built while its value is checked,
 * never later, so a label is only read before the next `set`.
 */
export class Label {
  // Declared, not defined: no field initialiser run per label made.
  private declare readonly format: (a: What, b: What) => string;
  private declare a: What;
  private declare b: What;
  constructor(format: (a: What, b: What) => string) {
    this.format = format;
    this.a = '';
    this.b = '';
  }

  set(a: What, b: What = ''): this {
    this.a = a;
    this.b = b;
    return this;
  }

  toString(): string {
    return this.format(this.a, this.b);
  }
}

/** `at`, when given, is where the problem was written (a misspelt call's key); else the holder's place. */
export type Problem = (code: string, message: string, severity?: 'error' | 'warning', hint?: string, at?: SourceLocation) => void;

/**
 * A version as TOSCA 1.x writes it (1.3 §3.3.2: `<major>.<minor>[.<fix>[.<qualifier>[-<build>]]]`,
 * major, minor, fix and build integers). 2.0 as Puccini reads it (its 2.0 tour writes
 * `1.2.3-beta4`): major and minor, then an optional fix, then an optional `.` or `-` suffix.
 */
const VERSION_1 = /^\d+\.\d+(\.\d+(\.\w+(-\d+)?)?)?$/;
const VERSION_2 = /^\d+\.\d+(\.\d+)?([.-][0-9A-Za-z_.-]+)?$/;

export class ValueChecker {
  /** key → family → type → definitions; nested maps, so no key string is built per lookup. */
  private readonly dataDefs = new Map<string, Map<Family, Map<string, Map<string, PropertyDef>>>>();

  constructor(private readonly loader: Loader) {}

  /** Property (or attribute) definitions along a type's chain, the most-derived refinement winning. */
  definitions(family: Family, canonical: string, key: 'properties' | 'attributes' | 'inputs', cacheable = true): Map<string, PropertyDef> {
    let byFamily = this.dataDefs.get(key);
    if (!byFamily) this.dataDefs.set(key, (byFamily = new Map()));
    let byType = byFamily.get(family);
    if (!byType) byFamily.set(family, (byType = new Map()));
    const cached = cacheable ? byType.get(canonical) : undefined;
    if (cached) return cached;
    const out = new Map<string, PropertyDef>();
    const chain = this.loader.chain(family, canonical).slice().reverse();
    for (const t of chain) {
      const def = this.loader.def(family, t);
      if (!def) continue;
      for (const d of def.rec[key]) out.set(d.name, this.propertyDef(d, def.unit, out.get(d.name), key !== 'attributes'));
    }
    if (cacheable) byType.set(canonical, out);
    return out;
  }

  propertyDef(d: PropertyDefinitionRecord, unit: Unit, inherited?: PropertyDef, requiredByDefault = true): PropertyDef {
    const spec = specFrom(d, unit, inherited?.spec);
    const hasOwnDefault = 'default' in d;
    return {
      name: d.name,
      ...(spec ? { spec } : {}),
      required: d.required !== undefined ? d.required : (inherited?.required ?? requiredByDefault),
      hasDefault: hasOwnDefault || Boolean(inherited?.hasDefault),
      ...(hasOwnDefault ? { default: d.default! } : inherited?.hasDefault ? { default: inherited.default! } : {}),
      ...('value' in d ? { value: d.value! } : {}),
      ...(d.defaultAt !== undefined ? { defaultAt: d.defaultAt } : {}),
      unit,
    };
  }

  /**
   * Coerces `value` to `spec`; problems are reported, never thrown. `strict` is true for a value
   * written in a TOSCA 2.0 file: 2.0 §9.1.1.1 converts no number or boolean to a string.
   */
  coerce(value: Value, spec: TypeSpec | undefined, problem: Problem, what: What, depth = 0, strict = false): Value {
    if (!spec || depth > 50 || isFunctionCall(value)) return value;
    const meant = misspeltCall(value);
    if (meant && this.misspeltCall(value, meant, spec, problem, what, depth, strict)) return value;
    const wrongBefore = this.wrongs;
    const out = this.coerceType(value, spec, problem, what, depth, strict);
    // A value that is not of its type (or holds one that is not) is not also judged by the type's
    // clauses: `newest` on a version got "expected a version" and "violates less_than" at one place.
    if (this.wrongs === wrongBefore && !containsCall(out)) this.validate(out, spec, problem, what);
    return out;
  }

  /**
   * `{ get_atribute: [...] }`: a misspelt 1.x call (see functions/bare-calls.ts). Where the type
   * refuses that map, the refusal would only say "got a map": it is reported as the misspelt
   * function it is, and true is returned (nothing more to say). Where a map is legal it stays a
   * map, with a warning naming the function it probably meant. Either is reported at the key.
   */
  private misspeltCall(value: Value, meant: MisspeltCall, spec: TypeSpec, problem: Problem, what: What, depth: number, strict: boolean): boolean {
    const at = callSite(value);
    let refused = false;
    this.coerceType(value, spec, (_c, _m, severity) => (refused ||= (severity ?? 'error') === 'error'), what, depth, strict);
    if (refused) {
      const { message, hint } = misspeltCallText(meant, what);
      problem('E_TOSCA_UNKNOWN_FUNCTION', message, 'error', hint, at);
      return true;
    }
    // A data type that declares the key as a property means it.
    const canonical = PRIMITIVES.has(spec.type) ? undefined : this.loader.resolve(spec.unit, 'data', spec.type);
    if (!canonical || !this.definitions('data', canonical, 'properties').has(meant.key)) {
      problem('W_TOSCA_FUNCTION_LIKE_MAP', `${what}: { ${meant.key}: ... } is kept as a map, but "${meant.key}" is close to the function "${meant.near}" and is written as its arguments are`, 'warning', `did you mean "${meant.near}"? If the map is meant, ignore this warning`, at);
    }
    return false;
  }

  /**
   * Every value of every template comes here: the primitive types in this small function, the rest
   * in `coerceDataType`. V8 optimises a function after a number of calls that grows with its size;
   * as one, it was never optimised in a 10,000-template validate.
   */
  private coerceType(value: Value, spec: TypeSpec, problem: Problem, what: What, depth: number, strict: boolean): Value {
    const t = spec.type;
    if (!PRIMITIVES.has(t) && t !== 'scalar') return this.coerceDataType(value, spec, problem, what, depth, strict);
    if (spec.unit.version === 1 && !primitiveInVersion(spec.unit.versionText, t)) return this.notInVersion(value, spec, problem, what);
    return this.primitive(t, value, spec, problem, what, depth, strict);
  }

  private notInVersion(value: Value, spec: TypeSpec, problem: Problem, what: What): Value {
    const t = spec.type;
    problem('E_TOSCA_UNKNOWN_TYPE', `${what}: unknown data type "${t}"`, 'error', `"${t}" is not a type of ${spec.unit.versionText}`);
    return value;
  }

  /** A value of a data type (not a primitive): its chain's validation, then as its base type or as a map of its properties. */
  private coerceDataType(value: Value, spec: TypeSpec, problem: Problem, what: What, depth: number, strict: boolean): Value {
    const t = spec.type;
    const canonical = this.loader.resolve(spec.unit, 'data', t);
    if (!canonical) {
      problem('E_TOSCA_UNKNOWN_TYPE', `${what}: unknown data type "${t}"`, 'error', this.loader.versionHint(spec.unit, 'data', t));
      return value;
    }
    const chain = this.loader.chain('data', canonical);
    const base = chain[chain.length - 1]!;
    // Validation declared on the data type (and its parents) applies too.
    for (const c of chain) {
      const def = this.loader.def('data', c);
      if (!def) continue;
      const hasV = 'validation' in def.rec;
      const hasC = 'constraints' in def.rec;
      if ((hasV || hasC) && !containsCall(value)) {
        this.validate(value, { type: t, unit: def.unit, ...(hasV ? { validation: def.rec.validation } : {}), ...(hasC ? { constraints: def.rec.constraints as unknown[] } : {}) }, problem, what, base);
      }
    }
    if (base === 'scalar') {
      const def = this.loader.def('data', chain[chain.length - 2] ?? canonical);
      const units = def!.rec.units;
      const prefixes = def!.rec.prefixes;
      if (typeof value === 'number') return value;
      const n = parseCustomScalar(value, units, prefixes);
      return n === undefined ? this.wrong(problem, what, value, `a ${t} (a number and one of the units ${Object.keys(units).join(', ')})`) : n;
    }
    if (PRIMITIVES.has(base)) {
      // A data type derived from a primitive (or list/map with its own schema).
      let entry: TypeSpec | undefined;
      let key: TypeSpec | undefined;
      for (const c of chain) {
        const def = this.loader.def('data', c);
        if (!def) continue;
        entry ??= specFrom(def.rec.entry, def.unit);
        key ??= specFrom(def.rec.key, def.unit);
      }
      return this.primitive(base, value, { type: base, unit: spec.unit, ...(entry ? { entry } : {}), ...(key ? { key } : {}) }, problem, what, depth, strict);
    }
    // A structured data type: a map of its properties.
    if (!value || typeof value !== 'object' || Array.isArray(value)) return this.wrong(problem, what, value, `a map (data type ${t})`);
    const defs = this.definitions('data', canonical, 'properties');
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(value)) {
      const d = defs.get(k);
      if (!d) {
        problem('E_TOSCA_UNKNOWN_PROPERTY', `${what}: data type ${t} has no property "${k}"`, 'error', defs.size ? `it has: ${[...defs.keys()].join(', ')}` : undefined);
        out[k] = v;
        continue;
      }
      out[k] = this.coerce(v, d.spec, problem, `${what}.${k}`, depth + 1, strict);
    }
    for (const d of defs.values()) {
      if (k(out, d.name)) continue;
      if (d.hasDefault) out[d.name] = this.coerce(d.default!, d.spec, problem, `${what}.${d.name}`, depth + 1, d.unit.version === 2);
      else if (d.required) problem('E_TOSCA_REQUIRED_PROPERTY', `${what}: missing required property "${d.name}" of data type ${t}`, 'error');
    }
    return out;
  }

  /** A primitive value: the most common types here, the others in `primitiveOther` (see `coerceType`). */
  private primitive(t: string, value: Value, spec: TypeSpec, problem: Problem, what: What, depth: number, strict: boolean): Value {
    switch (t) {
      case 'string':
        if (typeof value === 'string') return value;
        if (typeof value === 'number' || typeof value === 'boolean') return strict ? this.wrong(problem, what, value, 'a string', `quote it: "${String(value)}"`) : String(value);
        return this.wrong(problem, what, value, 'a string');
      case 'integer':
        return typeof value === 'number' && Number.isInteger(value) ? value : this.wrong(problem, what, value, 'an integer');
      case 'float':
        return typeof value === 'number' ? value : this.wrong(problem, what, value, 'a float');
      case 'boolean':
        return typeof value === 'boolean' ? value : this.wrong(problem, what, value, 'a boolean (true or false)');
    }
    return this.primitiveOther(t, value, spec, problem, what, depth, strict);
  }

  private primitiveOther(t: string, value: Value, spec: TypeSpec, problem: Problem, what: What, depth: number, strict: boolean): Value {
    switch (t) {
      case 'timestamp':
        if (typeof value === 'string' && /^\d{4}-\d{1,2}-\d{1,2}([Tt ]|$)/.test(value.trim())) return value;
        return this.wrong(problem, what, value, 'a timestamp (ISO 8601)');
      case 'version':
        // YAML reads `1.0` as a number: written as major.minor, it is one.
        if (typeof value === 'number' && value >= 0 && Number.isFinite(value)) return String(value);
        if (typeof value === 'string' && (spec.unit.version === 2 ? VERSION_2 : VERSION_1).test(value)) return value;
        return this.wrong(problem, what, value, 'a version (major.minor[.fix[.qualifier[-build]]])');
      case 'range':
        if (Array.isArray(value) && value.length === 2 && value.every((x) => typeof x === 'number' || x === 'UNBOUNDED')) return value;
        return this.wrong(problem, what, value, 'a range [lower, upper]');
      case 'nil':
      case 'null':
        return value === null ? null : this.wrong(problem, what, value, 'nothing (null)');
      case 'bytes':
        return typeof value === 'string' ? value : this.wrong(problem, what, value, 'bytes (a base64 string)');
      case 'any':
        return value;
      case 'list':
        if (!Array.isArray(value)) return this.wrong(problem, what, value, 'a list');
        return this.coerceList(value, spec, problem, what, depth, strict);
      case 'map': {
        if (!value || typeof value !== 'object' || Array.isArray(value)) return this.wrong(problem, what, value, 'a map');
        const out: Record<string, Value> = {};
        for (const [k2, v] of Object.entries(value)) {
          if (spec.key) this.coerce(k2, spec.key, problem, `${what} key "${k2}"`, depth + 1, strict);
          out[k2] = this.coerce(v, spec.entry, problem, `${what}.${k2}`, depth + 1, strict);
        }
        return out;
      }
      default: {
        if (t in SCALAR_KINDS) {
          const n = parseScalar(t as ScalarKind, value);
          return n === undefined ? this.wrong(problem, what, value, `a ${t} such as ${t === 'scalar-unit.size' ? '"1 GiB"' : t === 'scalar-unit.time' ? '"10 s"' : t === 'scalar-unit.frequency' ? '"2 GHz"' : '"1 Gbps"'}`) : n;
        }
        return value;
      }
    }
  }

  /** A list's entries (a method: a closure in `primitive` would allocate a context per value). */
  private coerceList(value: Value[], spec: TypeSpec, problem: Problem, what: What, depth: number, strict: boolean): Value[] {
    return value.map((x, i) => this.coerce(x, spec.entry, problem, `${what}[${i}]`, depth + 1, strict));
  }

  /** Per type spec: its constraints when they are all numeric bounds, else null (see `validate`). */
  private readonly bounds = new WeakMap<TypeSpec, Bound[] | null>();

  /**
   * A spec's constraints as numeric bounds, worked out once per spec, when `validate`'s general
   * path would read each one as "the value minus the literal, compared with 0" for a number: 1.3
   * constraints only (no 2.0 `validation`), comparison operators, literals that are numbers or
   * scalars of the spec's own scalar type. Anything else: null, the general path.
   */
  private boundsOf(spec: TypeSpec): Bound[] | null {
    const known = this.bounds.get(spec);
    if (known !== undefined) return known;
    let out: Bound[] | null = spec.validation === undefined && spec.type !== 'version' && Array.isArray(spec.constraints) ? [] : null;
    for (const c of out ? spec.constraints! : []) {
      if (!c || typeof c !== 'object') continue;
      const [op, arg] = Object.entries(c as Record<string, unknown>)[0] ?? [];
      if (!op) continue;
      const limit = typeof arg === 'number' ? arg : typeof arg === 'string' && spec.type in SCALAR_KINDS ? parseScalar(spec.type as ScalarKind, arg) : undefined;
      if (limit === undefined || !BOUND_OPS.has(op)) {
        out = null;
        break;
      }
      out!.push({ op: op as Bound['op'], arg, limit });
    }
    this.bounds.set(spec, out);
    return out;
  }

  /**
   * Why `operand` (plain data, from a constraint or validation clause) cannot stand for a value
   * of `type`, or undefined when it can. Only the type is asked (no clause of the type applies: a
   * bound may well lie outside what it bounds), and only of a single-valued type: what the
   * operators of a list, a map or a structured data type compare is not a value of the type.
   */
  operandMismatch(operand: unknown, type: string, unit: Unit, what: string, strict = unit.version === 2): string | undefined {
    if (!this.singleValued(type, unit)) return undefined;
    const v = toValue(operand, unit);
    if (containsCall(v)) return undefined;
    let out: string | undefined;
    const keep: Problem = (code, message) => {
      if (code === 'E_TOSCA_VALUE_TYPE') out ??= message;
    };
    this.coerceType(v, { type, unit }, keep, what, 0, strict);
    return out;
  }

  private singleValued(type: string, unit: Unit): boolean {
    if (PRIMITIVES.has(type)) return type !== 'list' && type !== 'map' && type !== 'range';
    const canonical = this.loader.resolve(unit, 'data', type);
    if (!canonical) return false; // reported as an unknown type where the definition is read
    const chain = this.loader.chain('data', canonical);
    const base = chain[chain.length - 1]!;
    return base === 'scalar' || (PRIMITIVES.has(base) && base !== 'list' && base !== 'map');
  }

  /** A value of the wrong type, reported (a method, not a closure made per coerced value). */
  /** How many values `wrong` refused, so `coerce` can tell whether its value was one. */
  private wrongs = 0;

  private wrong(problem: Problem, what: What, value: Value, expected: string, hint?: string): Value {
    this.wrongs++;
    problem('E_TOSCA_VALUE_TYPE', `${what}: expected ${expected}, got ${describe(value)}`, 'error', hint);
    return value;
  }

  /** Checks validation clauses; an expression that cannot be decided is skipped, not failed. */
  validate(value: Value, spec: TypeSpec, problem: Problem, what: What, baseType?: string): void {
    // Most types have neither: no closures made for them.
    if (spec.validation === undefined && !(Array.isArray(spec.constraints) && spec.constraints.length > 0)) return;
    if (baseType === undefined && typeof value === 'number') {
      // The common case (a number against bounds such as `greater_or_equal: 1`): no closures.
      const bounds = this.boundsOf(spec);
      if (bounds) {
        for (let i = 0; i < bounds.length; i++) {
          const b = bounds[i]!;
          const d = value - b.limit;
          const ok = b.op === 'greater_than' ? d > 0 : b.op === 'greater_or_equal' ? d >= 0 : b.op === 'less_than' ? d < 0 : d <= 0;
          if (!ok) problem('E_TOSCA_VALIDATION', `${what}: ${JSON.stringify(value)} violates the constraint ${b.op}: ${JSON.stringify(b.arg)}`, 'error');
        }
        return;
      }
    }
    this.validateClauses(value, spec, problem, what, baseType);
  }

  /**
   * `validate`'s general path. A method of its own: its closures make V8 allocate a context on
   * every call of the function that holds them, and `validate` is called for every value.
   */
  private validateClauses(value: Value, spec: TypeSpec, problem: Problem, what: What, baseType?: string): void {
    const type = baseType ?? spec.type;
    const literal = (x: unknown): unknown => {
      if (typeof x === 'string' && type in SCALAR_KINDS) return parseScalar(type as ScalarKind, x) ?? x;
      if (typeof x === 'string' && type !== 'string' && /^\s*[-+]?\d+(\.\d+)?\s*[A-Za-z]+\s*$/.test(x)) {
        // A user scalar type's literal: compare by normalized number when we can.
        const canonical = this.loader.resolve(spec.unit, 'data', spec.type);
        const def = canonical ? this.loader.def('data', canonical) : undefined;
        if (def) {
          const n = parseCustomScalar(x, def.rec.units, def.rec.prefixes);
          if (n !== undefined) return n;
        }
      }
      return x;
    };
    const cmp = (a: unknown, b: unknown): number | undefined => {
      const bb = literal(b);
      if (type === 'version' && (typeof a === 'string' || typeof a === 'number')) return compareVersions(String(a), String(bb));
      if (typeof a === 'number' && typeof bb === 'number') return a - bb;
      if (typeof a === 'string' && typeof bb === 'string') return a < bb ? -1 : a > bb ? 1 : 0;
      return undefined;
    };
    const evalExpr = (e: unknown): unknown => {
      if (e === '$value') return value;
      if (Array.isArray(e)) return e.map(evalExpr);
      if (e && typeof e === 'object') {
        const keys = Object.keys(e);
        if (keys.length === 1 && keys[0]!.startsWith('$') && !keys[0]!.startsWith('$$')) {
          const op = keys[0]!.slice(1);
          const raw = (e as Record<string, unknown>)[keys[0]!];
          const args = (Array.isArray(raw) ? raw : raw === null ? [] : [raw]).map(evalExpr);
          if (op === 'value') return valuePart(value, args);
          return apply(op, args);
        }
      }
      return e;
    };
    const apply = (op: string, a: unknown[]): unknown => {
      const [x, y] = a;
      const c = () => cmp(x, y);
      switch (op) {
        case 'and':
          return a.includes(false) ? false : a.every((v) => v === true) ? true : undefined;
        case 'or':
          return a.includes(true) ? true : a.every((v) => v === false) ? false : undefined;
        case 'not':
          return typeof x === 'boolean' ? !x : undefined;
        case 'equal':
          return JSON.stringify(x) === JSON.stringify(literal(y)) || c() === 0;
        case 'greater_than':
          return c() === undefined ? undefined : c()! > 0;
        case 'greater_or_equal':
          return c() === undefined ? undefined : c()! >= 0;
        case 'less_than':
          return c() === undefined ? undefined : c()! < 0;
        case 'less_or_equal':
          return c() === undefined ? undefined : c()! <= 0;
        case 'in_range': {
          if (!Array.isArray(y) || y.length !== 2) return undefined;
          // A range value is in range when both its bounds are (1.x PortSpec's target_range, §5.2.6).
          if (type === 'range' && Array.isArray(x) && x.length === 2) {
            const both = x.map((b) => (b === 'UNBOUNDED' ? y[1] === 'UNBOUNDED' : apply('in_range', [b, y])));
            return both.includes(false) ? false : both.every((b) => b === true) ? true : undefined;
          }
          const lo = y[0] === 'UNBOUNDED' ? -1 : cmp(x, y[0]);
          const hi = y[1] === 'UNBOUNDED' ? -1 : cmp(y[1] === 'UNBOUNDED' ? 0 : x, y[1]);
          return lo === undefined || hi === undefined ? undefined : lo >= 0 && (y[1] === 'UNBOUNDED' || hi <= 0);
        }
        case 'valid_values':
          return Array.isArray(y) ? y.some((v) => JSON.stringify(literal(v)) === JSON.stringify(x)) : undefined;
        case 'length':
          return a.length === 1 ? lengthOf(x) : lengthOf(x) === undefined ? undefined : lengthOf(x) === y;
        case 'min_length':
          return lengthOf(x) === undefined || typeof y !== 'number' ? undefined : lengthOf(x)! >= y;
        case 'max_length':
          return lengthOf(x) === undefined || typeof y !== 'number' ? undefined : lengthOf(x)! <= y;
        case 'matches':
        case 'pattern':
          if (typeof x !== 'string' || typeof y !== 'string') return undefined;
          try {
            return new RegExp(`^(?:${y})$`).test(x);
          } catch {
            return undefined;
          }
        default: {
          if (COLLECTION_TESTS.has(op)) return collectionTest(op, a);
          const r = evaluateStandard(op, a as Value[]);
          return r;
        }
      }
    };
    if (spec.validation !== undefined) {
      const ok = evalExpr(spec.validation);
      if (ok === false) problem('E_TOSCA_VALIDATION', `${what}: ${JSON.stringify(value)} fails its validation ${JSON.stringify(spec.validation)}`, 'error');
    }
    // A malformed `constraints` (not a list) is reported by the grammar check; it constrains nothing here.
    for (const c of Array.isArray(spec.constraints) ? spec.constraints : []) {
      if (!c || typeof c !== 'object') continue;
      const [op, arg] = Object.entries(c as Record<string, unknown>)[0] ?? [];
      if (!op) continue;
      const ok = apply(op === 'pattern' ? 'matches' : op, op === 'length' ? [value, arg] : [value, arg]);
      if (ok === false) problem('E_TOSCA_VALIDATION', `${what}: ${JSON.stringify(value)} violates the constraint ${op}: ${JSON.stringify(arg)}`, 'error');
    }
  }
}

/** A numeric bound of a spec's constraints (see `ValueChecker.boundsOf`). */
interface Bound {
  op: 'greater_than' | 'greater_or_equal' | 'less_than' | 'less_or_equal';
  arg: unknown;
  limit: number;
}
const BOUND_OPS = new Set(['greater_than', 'greater_or_equal', 'less_than', 'less_or_equal']);

function k(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

function lengthOf(x: unknown): number | undefined {
  if (typeof x === 'string' || Array.isArray(x)) return x.length;
  if (x && typeof x === 'object') return Object.keys(x).length;
  return undefined;
}

export function describe(v: Value): string {
  if (v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (isFunctionCall(v)) return `a call of ${v.$fn}`;
  if (typeof v === 'object') return 'a map';
  return `${typeof v === 'number' ? (Number.isInteger(v) ? 'the integer' : 'the float') : typeof v === 'boolean' ? 'the boolean' : 'the string'} ${JSON.stringify(v)}`;
}

export type { FunctionCall };
