/** `--host NAME` on plan and apply: a host the templates do not name is a usage error, not an empty plan. */
import { KaiduError } from '../errors/kaidu-error.js';
import { hasErrors, type Diagnostic } from '../tosca/diagnostic.js';
import { didYouMean } from '../tosca/suggest.js';

/**
 * Throws E_USAGE (exit 2) naming the known hosts when `host` is not one of them. When the
 * templates have errors the host may be in a service that failed to compile, and when a state file
 * of that host cannot be read it may be a host only its state names: those errors are reported by
 * the plan instead (exit 1). An error in another host's state hides nothing: `apply --host ghost`
 * beside a damaged state file of `alpha` said "Nothing to do" and exited 0.
 */
export function checkHostOption(host: string | undefined, hosts: readonly string[], diagnostics: readonly Diagnostic[]): void {
  if (host === undefined || hosts.includes(host)) return;
  if (hasErrors(diagnostics.filter((d) => !d.code.startsWith('E_STATE_') || stateFileHost(d.file) === host))) return;
  const sorted = [...hosts].sort();
  throw new KaiduError('E_USAGE', `no host "${host}" in the templates`, {
    hint: sorted.length ? [didYouMean(host, sorted), `known hosts: ${sorted.join(', ')}`].filter(Boolean).join(' ') : 'the templates name no kaidu:Host',
  });
}

/** The host a state file belongs to: `<state dir>/<host>/<service>.yaml`. */
function stateFileHost(file: string | undefined): string | undefined {
  const parts = (file ?? '').split(/[\\/]/);
  return parts.length >= 2 ? parts[parts.length - 2] : undefined;
}
