/**
 * Functions written without `$` (TOSCA 1.x §4 writes every call so: a one-key map), and the one-key
 * maps that are misspelt calls of them. Neither TOSCA 1.x nor Puccini says what `{ get_atribute: [...] }`
 * is: both read it as a map (Puccini's "not a function call, despite having the right data
 * structure"). Kept as a map it reaches a process as data, the call silently lost, so a one-key map
 * is taken for a misspelt call only when its key is within the suggestion distance of one of these
 * names AND its value has that function's argument shape (`{ tokens: 5 }` is not a `token` call,
 * which takes a list of three). What it then is depends on where it stands: see `values.ts`
 * (a typed value) and `untyped-values.ts`.
 */
import type { Value } from '../model.js';
import type { What } from '../values.js';
import { isFunctionCall } from '../model.js';
import { closest } from '../suggest.js';
import { checkArguments } from './arguments.js';
import { BARE_FUNCTIONS } from './bare-names.js';

/** Functions whose arguments 1.x writes only as a list (§4.3–4.8): a scalar there is not a call of them. */
const LIST_ONLY = new Set(['get_property', 'get_attribute', 'get_operation_output', 'get_artifact', 'concat', 'join', 'token']);

export interface MisspeltCall {
  /** The key as written (`get_atribute`). */
  key: string;
  /** The function it is close to (`get_attribute`). */
  near: string;
}

/** Key → the function it is close to ('' for none): one-key maps repeat their keys across a big file. */
const NEAR_FUNCTION = new Map<string, string>();

function nearFunction(key: string): string {
  let near = NEAR_FUNCTION.get(key);
  if (near === undefined) {
    near = closest(key, BARE_FUNCTIONS) ?? '';
    if (NEAR_FUNCTION.size < 10_000) NEAR_FUNCTION.set(key, near);
  }
  return near;
}

const isText = (v: Value | undefined): boolean => typeof v === 'string' || isFunctionCall(v);

/** Whether `arg`, the value of a one-key map, could be the arguments of `fn` as 1.x writes them. */
export function hasArgumentShape(fn: string, arg: Value): boolean {
  const list = Array.isArray(arg);
  if (LIST_ONLY.has(fn) && !list) return false;
  const args = list ? arg : [arg];
  // The standard arity and argument kinds (arguments.ts); what it does not judge is judged here.
  if (checkArguments(fn, args) !== undefined) return false;
  switch (fn) {
    case 'get_input':
      return args.length > 0 && isText(args[0]);
    case 'get_nodes_of_type':
      return args.length === 1 && isText(args[0]);
    case 'get_artifact':
      return isText(args[0]) && isText(args[1]);
    default:
      return true;
  }
}

/** The misspelt call `value` is, or undefined: a one-key map close to a bare function, shaped as its arguments. */
export function misspeltCall(value: Value): MisspeltCall | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || isFunctionCall(value)) return undefined;
  let key: string | undefined;
  for (const k in value) {
    if (key !== undefined) return undefined;
    key = k;
  }
  if (key === undefined || key.startsWith('$') || BARE_FUNCTIONS.has(key)) return undefined;
  const near = nearFunction(key);
  if (!near || !hasArgumentShape(near, (value as Record<string, Value>)[key]!)) return undefined;
  return { key, near };
}

/** The error's message and hint for a misspelt call, wherever it stands. */
export function misspeltCallText(m: MisspeltCall, what?: What): { message: string; hint: string } {
  return {
    message: `${what ? `${what}: ` : ''}unknown function "${m.key}"`,
    hint: `did you mean "${m.near}"? (in TOSCA 1.x a function is a one-key map: { ${m.near}: [ ... ] })`,
  };
}
