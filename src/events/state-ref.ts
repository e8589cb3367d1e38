/**
 * Each host writes its state to a branch of its own, `refs/heads/kaidu/state/<host>`: a push there
 * is a state event that concerns only the hosts depending on <host>, not a templates change.
 */
export const STATE_REF_PREFIX = 'refs/heads/kaidu/state/';

/**
 * The host a state ref belongs to, or undefined for any other ref. The name must be one a host
 * can have (the safe-name rule of `tosca/safe-name.ts`, restated here because events/ imports
 * nothing of the compiler): a crafted ref names no folder and no second host.
 */
export function stateHostOfRef(ref: string | undefined): string | undefined {
  if (!ref?.startsWith(STATE_REF_PREFIX)) return undefined;
  const host = ref.slice(STATE_REF_PREFIX.length);
  if (host.length === 0 || host.length > 128 || host.includes('..')) return undefined;
  return /^[\p{L}\p{N}_][\p{L}\p{N}\p{M}_.-]*$/u.test(host) ? host : undefined;
}
