/**
 * Node filters of requirements, evaluated against a candidate target's compiled values
 * (TOSCA 1.3 §3.6.5: `properties` and `capabilities` with property constraints; 2.0 §8.6: a
 * condition clause in which `$get_property: [SELF, CAPABILITY, ...]` reads the target capability
 * and `[SELF, TARGET, ...]` / `[TARGET, ...]` the target node). The answer is true, false, or
 * undefined when a value is only known at run time (then the filter cannot decide here).
 */
import type { CompiledNode, Value } from '../model.js';
import { isFunctionCall } from '../model.js';
import { containsCall } from '../values.js';
import { unknownFunction } from '../function-names.js';
import { compareVersions, parseScalar, SCALAR_KINDS, type ScalarKind } from '../scalars.js';

export type Verdict = true | false | undefined;

export interface FilterTarget {
  node: CompiledNode;
  /** The capability the relationship reaches, when known. */
  capability?: string;
}

/** Capability types a 1.x capability filter may name instead of a capability name: resolved by the caller. */
export type CapabilityMatcher = (node: CompiledNode, nameOrType: string) => string[];

export function evaluateNodeFilter(filter: unknown, version: 1 | 2, target: FilterTarget, capabilitiesNamed: CapabilityMatcher): Verdict {
  // A 2.0 file may still write the 1.x shape (`properties:`/`capabilities:` lists), as Puccini accepts.
  const simple = filter !== null && typeof filter === 'object' && !Array.isArray(filter) && Object.keys(filter).every((k) => k === 'properties' || k === 'capabilities');
  return version === 2 && !simple ? condition(filter, target) : simpleFilter(filter, target, capabilitiesNamed);
}

/**
 * True when the grammar has refused this 2.0 filter already (grammar/check.ts): a call of a
 * misspelt function, or a map of neither calls nor the 1.x keys. Such a filter cannot decide, and
 * a warning that it "reads a value known only at run time" would mislead.
 */
export function refusedByGrammar(filter: unknown, version: 1 | 2): boolean {
  if (version !== 2 || !filter || typeof filter !== 'object' || Array.isArray(filter)) return false;
  const keys = Object.keys(filter);
  if (!keys.some((k) => k.startsWith('$')) && !keys.every((k) => k === 'properties' || k === 'capabilities')) return true;
  return callsMisspelt(filter, 0);
}

function callsMisspelt(v: unknown, depth: number): boolean {
  if (depth > 32 || !v || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => callsMisspelt(x, depth + 1));
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$') && !k.startsWith('$$') && unknownFunction(k.slice(1), NONE)?.severity === 'error') return true;
    if (callsMisspelt(x, depth + 1)) return true;
  }
  return false;
}

const NONE: ReadonlySet<string> = new Set();

// --- 1.x ---------------------------------------------------------------------------------------

function simpleFilter(filter: unknown, target: FilterTarget, capabilitiesNamed: CapabilityMatcher): Verdict {
  if (!filter || typeof filter !== 'object') return undefined;
  const f = filter as Record<string, unknown>;
  const verdicts: Verdict[] = [];
  verdicts.push(propertyFilters(f.properties, target.node.properties));
  for (const item of Array.isArray(f.capabilities) ? f.capabilities : []) {
    if (!item || typeof item !== 'object') continue;
    for (const [nameOrType, body] of Object.entries(item as Record<string, unknown>)) {
      const names = capabilitiesNamed(target.node, nameOrType);
      if (!names.length) {
        verdicts.push(false);
        continue;
      }
      const props = (body as Record<string, unknown> | null)?.properties;
      // Any capability of that name or type may satisfy it.
      const each = names.map((n) => propertyFilters(props, target.node.capabilities[n]?.properties ?? {}));
      verdicts.push(each.includes(true) ? true : each.includes(undefined) ? undefined : false);
    }
  }
  return all(verdicts);
}

function propertyFilters(list: unknown, values: Record<string, Value>): Verdict {
  const verdicts: Verdict[] = [];
  for (const item of Array.isArray(list) ? list : []) {
    if (!item || typeof item !== 'object') continue;
    for (const [name, clauses] of Object.entries(item as Record<string, unknown>)) {
      const v = Object.prototype.hasOwnProperty.call(values, name) ? values[name]! : undefined;
      if (v === undefined || v === null) {
        verdicts.push(false); // no value satisfies a constraint
        continue;
      }
      if (containsCall(v)) {
        verdicts.push(undefined);
        continue;
      }
      for (const c of Array.isArray(clauses) ? clauses : [clauses]) {
        if (!c || typeof c !== 'object') {
          verdicts.push(same(v, c)); // `name: value` is short for equal
          continue;
        }
        const [op, arg] = Object.entries(c as Record<string, unknown>)[0] ?? [];
        if (op) verdicts.push(operator(op, [v, arg]));
      }
    }
  }
  return all(verdicts);
}

// --- 2.0 ---------------------------------------------------------------------------------------

const UNKNOWN = Symbol('unknown');

function condition(expr: unknown, target: FilterTarget): Verdict {
  const r = evaluate(expr, target);
  return r === true ? true : r === false ? false : undefined;
}

function evaluate(e: unknown, target: FilterTarget): unknown {
  if (Array.isArray(e)) return e.map((x) => evaluate(x, target));
  if (!e || typeof e !== 'object') return e;
  const keys = Object.keys(e);
  if (keys.length !== 1 || !keys[0]!.startsWith('$') || keys[0]!.startsWith('$$')) return e;
  const op = keys[0]!.slice(1);
  const raw = (e as Record<string, unknown>)[keys[0]!];
  const args = Array.isArray(raw) ? raw : [raw];
  if (op === 'get_property' || op === 'get_attribute') return read(args, target, op === 'get_attribute');
  if (op === 'and' || op === 'or') {
    const vs = args.map((a) => evaluate(a, target));
    if (op === 'and') return vs.includes(false) ? false : vs.every((v) => v === true) ? true : UNKNOWN;
    return vs.includes(true) ? true : vs.every((v) => v === false) ? false : UNKNOWN;
  }
  if (op === 'not') {
    const v = evaluate(args[0], target);
    return typeof v === 'boolean' ? !v : UNKNOWN;
  }
  const vs = args.map((a) => evaluate(a, target));
  if (vs.some((v) => v === UNKNOWN)) return UNKNOWN;
  const r = operator(op, vs);
  return r === undefined ? UNKNOWN : r;
}

/** `[SELF, CAPABILITY, p, ...]`, `[SELF, TARGET, p, ...]`, `[TARGET, p, ...]`, `[TARGET, CAPABILITY, p, ...]`. */
function read(args: unknown[], target: FilterTarget, attribute: boolean): unknown {
  let path = [...args];
  if (path[0] === 'SELF') path = path.slice(1);
  if (path[0] === 'TARGET') path = path.slice(1);
  let values: Record<string, Value> | undefined = target.node.properties;
  if (path[0] === 'CAPABILITY') {
    values = target.capability ? target.node.capabilities[target.capability]?.properties : undefined;
    path = path.slice(1);
  } else if (typeof path[0] === 'string' && !(path[0] in target.node.properties) && target.node.capabilities[path[0]]) {
    values = target.node.capabilities[path[0]]!.properties;
    path = path.slice(1);
  }
  // Attributes are discovered at run time.
  if (attribute || !values) return UNKNOWN;
  let cur: unknown = values;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || isFunctionCall(cur)) return UNKNOWN;
    cur = Array.isArray(cur) ? cur[Number(p)] : (cur as Record<string, unknown>)[String(p)];
    if (cur === undefined) return null;
  }
  return isFunctionCall(cur) || containsCall(cur as Value) ? UNKNOWN : cur;
}

// --- both --------------------------------------------------------------------------------------

function all(verdicts: Verdict[]): Verdict {
  if (verdicts.includes(false)) return false;
  return verdicts.includes(undefined) ? undefined : true;
}

/** A literal compared with a number: a scalar-unit ("512 MB") becomes the number it stands for. */
function scalar(x: unknown, other: unknown): unknown {
  if (typeof x !== 'string' || typeof other !== 'number') return x;
  for (const kind of Object.keys(SCALAR_KINDS) as ScalarKind[]) {
    const n = parseScalar(kind, x);
    if (n !== undefined) return n;
  }
  return x;
}

function compare(a: unknown, b: unknown): number | undefined {
  const x = scalar(a, b);
  const y = scalar(b, a);
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'string' && typeof y === 'string') return /^\d+(\.\d+)*$/.test(x) && /^\d+(\.\d+)*$/.test(y) ? compareVersions(x, y) : x < y ? -1 : x > y ? 1 : 0;
  return undefined;
}

function same(a: unknown, b: unknown): boolean {
  return compare(a, b) === 0 || JSON.stringify(a) === JSON.stringify(b);
}

function length(x: unknown): number | undefined {
  if (typeof x === 'string' || Array.isArray(x)) return x.length;
  if (x && typeof x === 'object') return Object.keys(x).length;
  return undefined;
}

/** The comparison operators of 1.x constraints and 2.0 boolean functions, on two known values. */
function operator(op: string, [x, y]: unknown[]): Verdict {
  const c = () => compare(x, y);
  const judged = (v: number | undefined, test: (n: number) => boolean): Verdict => (v === undefined ? undefined : test(v));
  switch (op) {
    case 'equal':
      return same(x, y);
    case 'greater_than':
      return judged(c(), (n) => n > 0);
    case 'greater_or_equal':
      return judged(c(), (n) => n >= 0);
    case 'less_than':
      return judged(c(), (n) => n < 0);
    case 'less_or_equal':
      return judged(c(), (n) => n <= 0);
    case 'in_range': {
      if (!Array.isArray(y) || y.length !== 2) return undefined;
      const lo = y[0] === 'UNBOUNDED' ? 1 : compare(x, y[0]);
      const hi = y[1] === 'UNBOUNDED' ? -1 : compare(x, y[1]);
      return lo === undefined || hi === undefined ? undefined : lo >= 0 && hi <= 0;
    }
    case 'valid_values':
      return Array.isArray(y) ? y.some((v) => same(x, v)) : undefined;
    case 'length':
      return length(x) === undefined ? undefined : length(x) === y;
    case 'min_length':
      return length(x) === undefined || typeof y !== 'number' ? undefined : length(x)! >= y;
    case 'max_length':
      return length(x) === undefined || typeof y !== 'number' ? undefined : length(x)! <= y;
    case 'pattern':
    case 'matches':
      if (typeof x !== 'string' || typeof y !== 'string') return undefined;
      try {
        return new RegExp(`^(?:${y})$`).test(x);
      } catch {
        return undefined;
      }
    default:
      return undefined;
  }
}
