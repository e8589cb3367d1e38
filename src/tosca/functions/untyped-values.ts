/**
 * Values no type governs where Kaidu reads them: operation and interface inputs, artifact
 * properties, outputs, workflow values (workflow-values.ts). Nothing says a map is meant there, so
 * a misspelt 1.x call (`{ get_atribute: [SELF, x] }`, see bare-calls.ts) is an error, not a map
 * handed to a process; and a misspelt `$name` call is the error it is elsewhere, also where the
 * evaluator does not go (interface inputs, artifact properties, workflows). Each is reported at its
 * own key, else at the holder.
 */
import type { SourceLocation } from '../diagnostic.js';
import type { Value } from '../model.js';
import { isFunctionCall } from '../model.js';
import { unknownFunction } from '../function-names.js';
import { misspeltCall, misspeltCallText } from './bare-calls.js';
import { callSite } from './call-sites.js';

export type UntypedProblem = (code: 'E_TOSCA_UNKNOWN_FUNCTION', message: string, at: SourceLocation, hint: string) => void;

/** `holder` says where the value's holder is (asked only for a value not read from a file, such as a `copy` merge's). */
export function checkUntypedValue(v: Value, holder: () => SourceLocation, declared: ReadonlySet<string>, problem: UntypedProblem, depth = 0): void {
  if (v === null || typeof v !== 'object' || depth > 100) return;
  if (Array.isArray(v)) {
    for (const x of v) checkUntypedValue(x, holder, declared, problem, depth + 1);
    return;
  }
  if (isFunctionCall(v)) {
    // Only the typo (an error): a call of an unknown function far from every name is the evaluator's to warn of.
    const unknown = unknownFunction(v.$fn, declared);
    if (unknown?.severity === 'error') problem(unknown.code as 'E_TOSCA_UNKNOWN_FUNCTION', unknown.message, callSite(v) ?? holder(), unknown.hint);
    for (const a of v.args) checkUntypedValue(a, holder, declared, problem, depth + 1);
    return;
  }
  const meant = misspeltCall(v);
  if (meant) {
    const { message, hint } = misspeltCallText(meant);
    problem('E_TOSCA_UNKNOWN_FUNCTION', message, callSite(v) ?? holder(), hint);
  }
  for (const k in v) checkUntypedValue((v as Record<string, Value>)[k]!, holder, declared, problem, depth + 1);
}
