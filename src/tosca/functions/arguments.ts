/**
 * The arguments of the standard functions, checked before a call is evaluated or kept
 * (TOSCA 1.3 §4.3–4.7, 2.0 §10.2): how many there are and what each must be. An argument that is
 * itself a call is not known yet and is not judged. Pure: it returns problems, the compiler
 * reports them at the call.
 */
import type { Value } from '../model.js';
import { isFunctionCall } from '../model.js';
import { describe } from '../values.js';

export interface ArgumentProblem {
  message: string;
  hint?: string;
}

const isCall = (v: Value | undefined): boolean => isFunctionCall(v);
const isScalar = (v: Value | undefined): boolean => v === null || typeof v !== 'object';

/** [fewest, most] arguments; most Infinity for a list of any length. */
const ARITY: Record<string, [number, number, string]> = {
  concat: [1, Infinity, '[ <string>, ... ]'],
  join: [1, 2, '[ [ <string>, ... ], <delimiter> ]'],
  token: [3, 3, '[ <string>, <separator characters>, <index> ]'],
  get_input: [1, Infinity, '<input name> or [ <input name>, <index or key>, ... ]'],
  get_property: [2, Infinity, '[ <SELF, SOURCE, TARGET, HOST or node>, <property name>, ... ]'],
  get_attribute: [2, Infinity, '[ <SELF, SOURCE, TARGET, HOST or node>, <attribute name>, ... ]'],
  get_artifact: [2, 4, '[ <SELF, SOURCE, TARGET, HOST or node>, <artifact name>, <location>, <remove> ]'],
  get_operation_output: [4, 4, '[ <SELF, SOURCE, TARGET or node>, <interface>, <operation>, <output name> ]'],
  length: [1, 1, '<string, list or map>'],
  difference: [2, 2, '[ <number>, <number> ]'],
  quotient: [2, 2, '[ <number>, <number> ]'],
  remainder: [2, 2, '[ <integer>, <integer> ]'],
  round: [1, 1, '<number>'],
  floor: [1, 1, '<number>'],
  ceil: [1, 1, '<number>'],
  sum: [1, Infinity, '[ <number>, ... ]'],
  product: [1, Infinity, '[ <number>, ... ]'],
};

export function checkArguments(fn: string, args: readonly Value[], dollar = true): ArgumentProblem | undefined {
  const arity = ARITY[fn];
  if (!arity) return undefined;
  const [min, max, shape] = arity;
  if (args.length < min || args.length > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : max === min + 1 ? `${min} or ${max}` : `${min} to ${max}`;
    return { message: `${fn} takes ${want} argument${min === 1 && max === 1 ? '' : 's'}, got ${args.length}`, hint: `write it as ${dollar ? '$' : ''}${fn}: ${shape}` };
  }
  const bad = (i: number, expected: string): ArgumentProblem => ({ message: `${fn}: argument ${i + 1} must be ${expected}, got ${describe(args[i]!)}`, hint: `write it as ${dollar ? '$' : ''}${fn}: ${shape}` });
  switch (fn) {
    case 'concat':
      // Numbers are written into the text (as every TOSCA processor does); a list or map is not text.
      for (let i = 0; i < args.length; i++) if (!isCall(args[i]) && !isScalar(args[i])) return bad(i, 'a string');
      return undefined;
    case 'join': {
      const [list, sep] = args;
      if (!isCall(list) && (!Array.isArray(list) || list.some((x) => !isCall(x) && !isScalar(x)))) return bad(0, 'a list of strings');
      if (sep !== undefined && !isCall(sep) && typeof sep !== 'string') return bad(1, 'a string (the delimiter)');
      return undefined;
    }
    case 'token': {
      const [text, seps, index] = args;
      if (!isCall(text) && typeof text !== 'string') return bad(0, 'a string');
      if (!isCall(seps) && (typeof seps !== 'string' || seps.length === 0)) return bad(1, 'a non-empty string of separator characters');
      if (!isCall(index) && (typeof index !== 'number' || !Number.isInteger(index) || index < 0)) return bad(2, 'a non-negative integer (the index of the token)');
      return undefined;
    }
    case 'get_property':
    case 'get_attribute':
    case 'get_operation_output':
      for (let i = 0; i < args.length; i++) {
        if (isCall(args[i])) continue;
        if (i === 0 ? typeof args[i] !== 'string' : i < 2 || fn === 'get_operation_output' ? typeof args[i] !== 'string' : typeof args[i] !== 'string' && !(typeof args[i] === 'number' && Number.isInteger(args[i]))) {
          return bad(i, i === 0 ? 'a node template name or SELF, SOURCE, TARGET, HOST' : i < 2 || fn === 'get_operation_output' ? 'a name' : 'a name or a list index');
        }
      }
      return undefined;
    case 'length': {
      const [v] = args;
      if (!isCall(v) && (v === null || (typeof v !== 'string' && typeof v !== 'object'))) return bad(0, 'a string, list or map');
      return undefined;
    }
    case 'difference':
    case 'quotient':
    case 'remainder':
    case 'round':
    case 'floor':
    case 'ceil':
    case 'sum':
    case 'product':
      // A string may be a scalar-unit ("1 GiB"); a boolean, list or map is never a number.
      for (let i = 0; i < args.length; i++) if (!isCall(args[i]) && typeof args[i] !== 'number' && typeof args[i] !== 'string') return bad(i, 'a number');
      if ((fn === 'quotient' || fn === 'remainder') && args[1] === 0) return { message: `${fn}: division by zero`, hint: 'the second argument must not be 0' };
      return undefined;
    default:
      return undefined;
  }
}
