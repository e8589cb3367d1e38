import { fingerprint } from '../state/fingerprint.js';

/**
 * Digest of what a plan was computed from, so a saved plan can tell it is stale: the blob ids of
 * every file read (templates, settings, state, files nodes use), not their content again.
 */
export function sourceDigest(parts: { head: Map<string, string | null>; base?: Map<string, string | null>; inputs?: Record<string, unknown>; host?: string }): string {
  const sorted = (m: Map<string, string | null>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return fingerprint({ files: sorted(parts.head), base: parts.base ? sorted(parts.base) : null, inputs: parts.inputs ?? {} });
}
