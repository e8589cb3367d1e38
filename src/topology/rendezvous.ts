import { createHash } from 'node:crypto';

/**
 * Rendezvous (highest-random-weight) hashing: every agent ranks the same hosts the same way for
 * a given key with no coordination, and adding or removing a host moves only the keys whose
 * best host changed.
 */
export function rendezvousScore(key: string, host: string): bigint {
  return createHash('sha256').update(key).update('\0').update(host).digest().readBigUInt64BE(0);
}

/** Hosts ranked best-first for `key`; ties (never in practice) broken by name. */
export function rankHosts(key: string, hosts: readonly string[]): string[] {
  return hosts
    .map((h) => ({ h, s: rendezvousScore(key, h) }))
    .sort((a, b) => (a.s === b.s ? a.h.localeCompare(b.h) : a.s > b.s ? -1 : 1))
    .map((x) => x.h);
}

/**
 * Places `count` instances of `key` on `hosts`: each instance, in index order, takes its own
 * best-ranked host that still has room. Room is ceil(count / hosts), so instances spread evenly,
 * and a host added or removed moves few instances.
 */
export function spreadInstances(key: string, count: number, hosts: readonly string[]): string[] {
  if (hosts.length === 0 || count <= 0) return [];
  const capacity = Math.ceil(count / hosts.length);
  const used = new Map<string, number>();
  const placed: string[] = [];
  for (let i = 0; i < count; i++) {
    const ranked = rankHosts(`${key}#${i}`, hosts);
    const host = ranked.find((h) => (used.get(h) ?? 0) < capacity)!;
    used.set(host, (used.get(host) ?? 0) + 1);
    placed.push(host);
  }
  return placed;
}
