/**
 * What the runtime delegates (containers, pods, distrobox, nspawn, libvirt) share: default names,
 * reading loosely typed property values, and replacing a workload that cannot change in place.
 */
import type { PlainValue } from '../state/model.js';
import type { Delegate, DelegateContext, DelegateResult } from './types.js';

/** Default name of a container, pod, box, machine or domain: `kaidu-<service>-<node>`, sanitized. */
export function workloadName(ctx: DelegateContext): string {
  return `kaidu-${ctx.node.service}-${ctx.node.key}`.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-');
}

/**
 * The properties the workload that exists now was made with: the last applied ones, or the desired
 * ones when nothing was applied yet. Delete and inspect use them, so a renamed workload is still found.
 */
export function appliedProperties(ctx: DelegateContext): Record<string, PlainValue> {
  return ctx.previous?.properties ?? ctx.node.properties;
}

/** Update for a workload its tool cannot change in place: delete the old one, create the new one. */
export async function recreate(delegate: Pick<Delegate, 'create' | 'delete'>, ctx: DelegateContext): Promise<DelegateResult> {
  await delegate.delete(ctx);
  return delegate.create(ctx);
}

export const str = (v: PlainValue | undefined): string | undefined => (typeof v === 'string' && v ? v : undefined);
export const list = (v: PlainValue | undefined): string[] => (Array.isArray(v) ? v.map(String) : []);
export const map = (v: PlainValue | undefined): Record<string, string> =>
  v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)])) : {};

/** Seconds a container gets to stop before it is killed. */
export const STOP_TIMEOUT_S = 10;
