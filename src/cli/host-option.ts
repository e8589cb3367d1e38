/** `--host NAME` on plan and apply: a host the templates do not name is a usage error, not an empty plan. */
import { KaiduError } from '../errors/kaidu-error.js';
import { hasErrors, type Diagnostic } from '../tosca/diagnostic.js';
import { didYouMean } from '../tosca/suggest.js';

/**
 * Throws E_USAGE (exit 2) naming the known hosts when `host` is not one of them. When the
 * templates have errors the host may be in a service that failed to compile: the errors are
 * reported by the plan instead (exit 1), never an empty plan that reads as "nothing to do".
 */
export function checkHostOption(host: string | undefined, hosts: readonly string[], diagnostics: readonly Diagnostic[]): void {
  if (host === undefined || hosts.includes(host) || hasErrors(diagnostics)) return;
  const sorted = [...hosts].sort();
  throw new KaiduError('E_USAGE', `no host "${host}" in the templates`, {
    hint: sorted.length ? [didYouMean(host, sorted), `known hosts: ${sorted.join(', ')}`].filter(Boolean).join(' ') : 'the templates name no kaidu:Host',
  });
}
