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
 * Places `count` instances of `key` on `hosts`. Each instance first takes its own best
 * rendezvous host (so a host added or removed only moves the instances whose best host changed);
 * then hosts holding more than ceil(count / hosts) give their weakest-scored instances to those
 * instances' next choice with room, which keeps the spread even.
 */
export function spreadInstances(key: string, count: number, hosts: readonly string[]): string[] {
  if (hosts.length === 0 || count <= 0) return [];
  const capacity = Math.ceil(count / hosts.length);
  const prefs = Array.from({ length: count }, (_, i) => rankHosts(`${key}#${i}`, hosts));
  const placed = prefs.map((p) => p[0]!);
  const load = new Map<string, number[]>();
  placed.forEach((h, i) => (load.get(h) ?? load.set(h, []).get(h)!).push(i));
  const evicted: number[] = [];
  for (const h of [...load.keys()].sort()) {
    const members = load.get(h)!;
    if (members.length <= capacity) continue;
    // Keep the instances that like this host most; the rest move.
    members.sort((a, b) => {
      const sa = rendezvousScore(`${key}#${a}`, h);
      const sb = rendezvousScore(`${key}#${b}`, h);
      return sa === sb ? a - b : sa > sb ? -1 : 1;
    });
    evicted.push(...members.splice(capacity));
  }
  for (const i of evicted.sort((a, b) => a - b)) {
    const next = prefs[i]!.find((h) => (load.get(h)?.length ?? 0) < capacity)!;
    (load.get(next) ?? load.set(next, []).get(next)!).push(i);
    placed[i] = next;
  }
  return placed;
}
