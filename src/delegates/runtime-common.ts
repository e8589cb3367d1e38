/**
 * What the runtime delegates (containers, pods, distrobox, nspawn, libvirt) share: default names
 * and reading loosely typed property values.
 */
import type { PlainValue } from '../state/model.js';
import type { DelegateContext } from './types.js';

/** Default name of a container, pod, box, machine or domain: `kaidu-<service>-<node>`, sanitized. */
export function workloadName(ctx: DelegateContext): string {
  return `kaidu-${ctx.node.service}-${ctx.node.key}`.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-');
}

export const str = (v: PlainValue | undefined): string | undefined => (typeof v === 'string' && v ? v : undefined);
export const list = (v: PlainValue | undefined): string[] => (Array.isArray(v) ? v.map(String) : []);
export const map = (v: PlainValue | undefined): Record<string, string> =>
  v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)])) : {};

/** Seconds a container gets to stop before it is killed. */
export const STOP_TIMEOUT_S = 10;

export function notFound(stderr: string): boolean {
  return /no such|not found|does not exist|unknown|failed to get domain|No machine/i.test(stderr);
}
