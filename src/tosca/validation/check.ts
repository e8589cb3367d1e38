/**
 * The shape of a TOSCA 2.0 validation clause (`validation:` of a property, attribute, parameter,
 * schema or data type; 2.0 §10.2 functions, §9 data types): a Boolean function expression in which
 * `$value` is the value being validated. Checked where it is written: a known function (or one
 * the file declares under `functions:`), the number of arguments, the kind of each that is written
 * literally (a call's result is judged by the function's result kind), and a Boolean at the top
 * and wherever a Boolean is taken. Pure: it returns problems, the grammar checker places them.
 */
import { closest } from '../suggest.js';
import { entries, isMap, isScalar, isSeq, seqItems, type YamlNode } from '../yaml-source.js';

export type ValidationProblem = [message: string, node: unknown, hint?: string, code?: 'E_TOSCA_UNKNOWN_FUNCTION'];

/** What a function gives back; `any` when it depends on data (`$get_property`, `$value`, declared functions). */
type Result = 'boolean' | 'number' | 'string' | 'list' | 'any';
/** What an argument must be. */
type Arg = 'boolean' | 'number' | 'string' | 'list' | 'range' | 'regex' | 'scalar' | 'any';

interface Signature {
  args: Arg[];
  /** The last argument may repeat: at least `args.length` of them. */
  rest?: Arg;
  /** Fewest arguments when there is a `rest` (default: args.length). */
  min?: number;
  result: Result;
  shape: string;
}

const two = (a: Arg, b: Arg, shape: string): Signature => ({ args: [a, b], result: 'boolean', shape });

/** TOSCA 2.0 §10.2: Boolean, comparison, string/list/map test, and the other standard functions. */
const SIGNATURES: Record<string, Signature> = {
  and: { args: [], rest: 'boolean', min: 1, result: 'boolean', shape: '[ <boolean>, <boolean>, ... ]' },
  or: { args: [], rest: 'boolean', min: 1, result: 'boolean', shape: '[ <boolean>, <boolean>, ... ]' },
  not: { args: ['boolean'], result: 'boolean', shape: '[ <boolean> ]' },
  xor: { args: ['boolean', 'boolean'], result: 'boolean', shape: '[ <boolean>, <boolean> ]' },
  equal: two('any', 'any', '[ <value>, <value> ]'),
  greater_than: two('scalar', 'scalar', '[ <value>, <value> ]'),
  greater_or_equal: two('scalar', 'scalar', '[ <value>, <value> ]'),
  less_than: two('scalar', 'scalar', '[ <value>, <value> ]'),
  less_or_equal: two('scalar', 'scalar', '[ <value>, <value> ]'),
  valid_values: two('any', 'list', '[ <value>, [ <value>, ... ] ]'),
  in_range: two('scalar', 'range', '[ <value>, [ <lower>, <upper> ] ]'),
  matches: two('string', 'regex', '[ <string>, <regular expression> ]'),
  has_suffix: two('string', 'string', '[ <string>, <suffix> ]'),
  has_prefix: two('string', 'string', '[ <string>, <prefix> ]'),
  contains: two('any', 'any', '[ <string or list>, <part> ]'),
  has_entry: two('any', 'any', '[ <list or map>, <entry> ]'),
  has_key: two('any', 'scalar', '[ <map>, <key> ]'),
  has_all_entries: two('any', 'list', '[ <list or map>, [ <entry>, ... ] ]'),
  has_all_keys: two('any', 'list', '[ <map>, [ <key>, ... ] ]'),
  has_any_entry: two('any', 'list', '[ <list or map>, [ <entry>, ... ] ]'),
  has_any_key: two('any', 'list', '[ <map>, [ <key>, ... ] ]'),
  // 1.x constraint names other tools still write as 2.0 functions.
  min_length: two('any', 'number', '[ <value>, <length> ]'),
  max_length: two('any', 'number', '[ <value>, <length> ]'),
  pattern: two('string', 'regex', '[ <string>, <regular expression> ]'),
  length: { args: ['any'], result: 'number', shape: '<string, list or map>' },
  concat: { args: [], rest: 'any', min: 1, result: 'string', shape: '[ <string>, ... ]' },
  join: { args: ['list'], rest: 'string', min: 1, result: 'string', shape: '[ [ <string>, ... ], <delimiter> ]' },
  token: { args: ['string', 'string', 'number'], result: 'string', shape: '[ <string>, <separators>, <index> ]' },
  sum: { args: [], rest: 'number', min: 1, result: 'number', shape: '[ <number>, ... ]' },
  product: { args: [], rest: 'number', min: 1, result: 'number', shape: '[ <number>, ... ]' },
  difference: { args: ['number', 'number'], result: 'number', shape: '[ <number>, <number> ]' },
  quotient: { args: ['number', 'number'], result: 'number', shape: '[ <number>, <number> ]' },
  remainder: { args: ['number', 'number'], result: 'number', shape: '[ <number>, <number> ]' },
  round: { args: ['number'], result: 'number', shape: '<number>' },
  floor: { args: ['number'], result: 'number', shape: '<number>' },
  ceil: { args: ['number'], result: 'number', shape: '<number>' },
};

/** Functions whose result is data, not known from their name. */
const DATA_FUNCTIONS = new Set(['get_input', 'get_property', 'get_attribute', 'value', 'node_index', 'relationship_index']);

const MAX_DEPTH = 32;

function describe(n: unknown): string {
  if (isMap(n)) return 'a map';
  if (isSeq(n)) return 'a list';
  if (isScalar(n)) return n.value === null ? 'nothing' : JSON.stringify(n.value);
  return 'nothing';
}

/** `{ $name: args }` → [name, args node]; undefined for anything else (a literal). */
function callOf(node: unknown): [string, YamlNode | null, unknown] | undefined {
  if (isScalar(node) && node.value === '$value') return ['value', null, node];
  if (!isMap(node)) return undefined;
  const e = entries(node as YamlNode);
  if (e.length !== 1) return undefined;
  const [k, v, pair] = e[0]!;
  if (!k.startsWith('$') || k.startsWith('$$')) return undefined;
  return [k.slice(1), v, pair];
}

export function checkValidation(node: YamlNode, what: string, declared: ReadonlySet<string>): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  const expr = (n: unknown, want: Arg, depth: number): void => {
    if (depth > MAX_DEPTH) {
      out.push([`${what}: the expression nests deeper than ${MAX_DEPTH} calls`, n]);
      return;
    }
    const call = callOf(n);
    if (!call) {
      literal(n, want);
      return;
    }
    const [fn, argsNode, pair] = call;
    if (fn === 'value') {
      // `$value`, or `{ $value: [ key or index, ... ] }` for a part of it.
      if (argsNode !== null && !isSeq(argsNode)) out.push([`${what}: $value takes a list of keys and indexes, not ${describe(argsNode)}`, argsNode]);
      else for (const k of seqItems(argsNode)) if (!isScalar(k)) out.push([`${what}: $value takes keys and indexes, not ${describe(k)}`, k]);
      return;
    }
    const sig = SIGNATURES[fn];
    const result: Result = sig ? sig.result : 'any';
    if (!sig && !DATA_FUNCTIONS.has(fn) && !declared.has(fn)) {
      const near = closest(fn, [...Object.keys(SIGNATURES), ...DATA_FUNCTIONS, ...declared]);
      out.push([`${what}: unknown function "$${fn}"`, pair, near !== undefined ? `did you mean "$${near}"?` : 'a validation clause is a Boolean function expression ($and, $or, $not, $equal, $greater_than, $valid_values, $in_range, $matches, $has_key, ...); declare custom functions under functions:', 'E_TOSCA_UNKNOWN_FUNCTION']);
      return;
    }
    if (want === 'boolean' && result !== 'boolean' && result !== 'any') {
      out.push([`${what}: $${fn} gives ${result === 'number' ? 'a number' : result === 'string' ? 'a string' : 'a list'}, where a Boolean is needed`, pair, 'compare it: { $equal: [ ..., ... ] }, { $greater_than: [ ..., ... ] }']);
      return;
    }
    if (!sig) {
      for (const a of isSeq(argsNode) ? seqItems(argsNode) : argsNode !== null ? [argsNode] : []) if (callOf(a)) expr(a, 'any', depth + 1);
      return;
    }
    const args: unknown[] = isSeq(argsNode) ? seqItems(argsNode) : argsNode === null ? [] : [argsNode];
    const min = sig.min ?? sig.args.length;
    const max = sig.rest ? Infinity : sig.args.length;
    if (args.length < min || args.length > max) {
      const count = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      out.push([`${what}: $${fn} takes ${count} argument${count === '1' ? '' : 's'}, got ${args.length}`, pair, `write it as $${fn}: ${sig.shape}`]);
      return;
    }
    args.forEach((a, i) => expr(a, sig.args[i] ?? sig.rest ?? 'any', depth + 1));
  };

  const literal = (n: unknown, want: Arg): void => {
    const v = isScalar(n) ? n.value : undefined;
    switch (want) {
      case 'boolean':
        if (typeof v !== 'boolean') out.push([`${what}: a Boolean is needed here, not ${describe(n)}`, n, 'a validation clause is a Boolean function expression, e.g. { $greater_than: [ $value, 0 ] }']);
        return;
      case 'number':
        if (typeof v !== 'number') out.push([`${what}: a number is needed here, not ${describe(n)}`, n]);
        return;
      case 'string':
        if (typeof v !== 'string') out.push([`${what}: a string is needed here, not ${describe(n)}`, n]);
        return;
      case 'regex':
        if (typeof v !== 'string') out.push([`${what}: a regular expression (a string) is needed here, not ${describe(n)}`, n]);
        else {
          try {
            new RegExp(v);
          } catch (e) {
            out.push([`${what}: ${JSON.stringify(v)} is not a valid regular expression (${(e as Error).message})`, n]);
          }
        }
        return;
      case 'scalar':
        if (!isScalar(n) || v === null) out.push([`${what}: a single value is needed here, not ${describe(n)}`, n]);
        return;
      case 'list':
        if (!isSeq(n)) out.push([`${what}: a list is needed here, not ${describe(n)}`, n]);
        else for (const item of seqItems(n)) if (callOf(item)) expr(item, 'any', 1);
        return;
      case 'range': {
        if (!isSeq(n) || n.items.length !== 2) {
          out.push([`${what}: a range [ lower, upper ] is needed here, not ${describe(n)}${isSeq(n) ? ` of ${n.items.length}` : ''}`, n]);
          return;
        }
        const [lo, hi] = n.items.map((i) => (isScalar(i) ? i.value : undefined));
        if (lo === 'UNBOUNDED') out.push([`${what}: the lower bound of a range cannot be UNBOUNDED`, n.items[0]]);
        else if (typeof lo === 'number' && typeof hi === 'number' && lo > hi) out.push([`${what}: the range [${lo}, ${hi}] is reversed`, n, `write [${hi}, ${lo}]`]);
        return;
      }
      case 'any':
        if (isSeq(n)) for (const item of seqItems(n)) if (callOf(item)) expr(item, 'any', 1);
        return;
    }
  };

  // A literal true or false is a (trivial) Boolean expression; anything else must be a call.
  if (!callOf(node) && !(isScalar(node) && typeof node.value === 'boolean')) {
    out.push([`${what} must be a Boolean function expression, not ${describe(node)}`, node, 'e.g. validation: { $greater_than: [ $value, 0 ] }']);
    return out;
  }
  expr(node, 'boolean', 0);
  return out;
}
