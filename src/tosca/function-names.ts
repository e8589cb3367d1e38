/**
 * A `$name` call of a function that is neither standard nor declared. Close to a known name it is a
 * typo (`$get_atribute`), an error with the suggestion: kept as a call it would reach a process as
 * an empty value. Otherwise it may be a function of a profile Kaidu does not have: a warning, kept.
 */
import { KNOWN_FUNCTIONS } from './values.js';
import { closest } from './suggest.js';

export interface UnknownFunction {
  severity: 'error' | 'warning';
  code: 'E_TOSCA_UNKNOWN_FUNCTION' | 'W_TOSCA_UNKNOWN_FUNCTION';
  message: string;
  hint: string;
}

export function unknownFunction(fn: string, declared: ReadonlySet<string>): UnknownFunction | undefined {
  if (KNOWN_FUNCTIONS.has(fn) || declared.has(fn)) return undefined;
  const near = closest(fn, [...KNOWN_FUNCTIONS, ...declared]);
  if (near !== undefined) return { severity: 'error', code: 'E_TOSCA_UNKNOWN_FUNCTION', message: `unknown function "$${fn}"`, hint: `did you mean "$${near}"?` };
  return { severity: 'warning', code: 'W_TOSCA_UNKNOWN_FUNCTION', message: `unknown function "$${fn}": kept as a call`, hint: 'declare custom functions under functions:' };
}
