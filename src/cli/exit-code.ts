import type { Diagnostic } from '../tosca/diagnostic.js';
import { EXIT_FAILURE, EXIT_OK } from './context.js';

/** README: "70: an internal error (a bug: please report it with the output)". */
export const EXIT_INTERNAL = 70;

/** A diagnostic that reports a bug of Kaidu's (`E_TOSCA_INTERNAL`, ...), not a problem of the input. */
export function isInternal(d: Diagnostic): boolean {
  return d.severity === 'error' && /^E_[A-Z]+_INTERNAL$/.test(d.code);
}

/** The exit code diagnostics call for: 70 when one is a bug of ours, 1 when one is an error, else 0. */
export function exitCodeFor(diagnostics: readonly Diagnostic[]): number {
  if (diagnostics.some(isInternal)) return EXIT_INTERNAL;
  return diagnostics.some((d) => d.severity === 'error') ? EXIT_FAILURE : EXIT_OK;
}
