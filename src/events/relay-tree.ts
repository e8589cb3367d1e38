/**
 * The relay tree: who passes an event on to whom, computed by every agent alike from the host list
 * (pure; no I/O). Layers: the roots (the hosts the forge calls) first, then layers that grow by
 * `growth` = ⌊(fanout − 2) / 2⌋ each. Every host outside the roots takes two distinct parents in the
 * layer before its own, so a single dead relay cuts nobody off: by induction on the layers, every
 * live host of a layer has a live parent in the one before. Depth is O(log N) (about
 * log₃(N / roots) for a fan-out of 8), and no host has more than `fanout` children.
 *
 * Stability: non-root hosts are ranked by a hash of their name, not alphabetically, and parents are
 * chosen by rendezvous hashing within the layer before; adding a host moves one host per layer
 * below it across a layer boundary and changes the parents of the few hosts whose preferred
 * parents those were (measured in test/events/relay-tree.test.ts). Agents that briefly disagree on
 * the host list therefore still agree on almost every edge.
 */

export interface RelayTreeOptions {
  /** Most children a host relays to; at least 4; default 8. */
  fanout?: number;
}

export interface RelayTree {
  /** The roots as used: the requested ones that are hosts, sorted (or the default ones). */
  roots: string[];
  /** Layer 0 is the roots; a host's parents are all in the layer before its own. */
  layers: string[][];
  parents: ReadonlyMap<string, readonly string[]>;
  children: ReadonlyMap<string, readonly string[]>;
  /** Hops from a root to the deepest host. */
  depth: number;
}

export const DEFAULT_FANOUT = 8;
/** Roots when none are named: enough that one dead root loses nobody. */
export const DEFAULT_ROOT_COUNT = 3;

/** 32-bit FNV-1a of a string, then a murmur3 finalizer: cheap, stable across platforms and versions. */
export function nameHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix(h);
}

function mix(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The roots the tree uses when none (or none that are hosts) are named: the first hosts by name. */
export function defaultRoots(hosts: readonly string[], count = DEFAULT_ROOT_COUNT): string[] {
  return [...new Set(hosts)].sort(byName).slice(0, count);
}

export function buildRelayTree(hosts: readonly string[], roots: readonly string[] = [], opts: RelayTreeOptions = {}): RelayTree {
  const fanout = Math.max(4, Math.floor(opts.fanout ?? DEFAULT_FANOUT));
  const growth = Math.max(1, Math.floor((fanout - 2) / 2));
  const all = [...new Set(hosts)].sort(byName);
  const known = new Set(all);
  let top = [...new Set(roots)].filter((r) => known.has(r)).sort(byName);
  if (top.length === 0) top = defaultRoots(all);
  const isRoot = new Set(top);
  const hash = new Map(all.map((h) => [h, nameHash(h)]));
  const rest = all.filter((h) => !isRoot.has(h)).sort((a, b) => hash.get(a)! - hash.get(b)! || byName(a, b));

  const layers: string[][] = [top];
  for (let i = 0; i < rest.length; ) {
    const size = layers[layers.length - 1]!.length * growth;
    layers.push(rest.slice(i, i + size));
    i += size;
  }

  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>(all.map((h) => [h, []]));
  for (let l = 1; l < layers.length; l++) {
    for (const [child, chosen] of assignLayer(layers[l]!, layers[l - 1]!, hash, fanout)) {
      parents.set(child, chosen);
      for (const p of chosen) children.get(p)!.push(child);
    }
  }
  for (const list of children.values()) list.sort(byName);
  return { roots: top, layers, parents, children, depth: layers.length - 1 };
}

/**
 * Each child of a layer gets two parents (one when the layer above has one host) by rendezvous
 * hashing: the candidates with the highest score for this child that still have room. Capacity is
 * fanout·|above| against a demand of at most 2·growth·|above| ≤ (fanout − 2)·|above|, so for a wide
 * layer the greedy choice always finds two; in a narrow one (three roots, say) it can paint itself
 * into a corner, and then the layer falls back to a round-robin that cannot: child i takes
 * above[i mod s] and above[(i + 1) mod s], at most 2·growth + 2 ≤ fanout children each.
 */
function assignLayer(layer: readonly string[], above: readonly string[], hash: ReadonlyMap<string, number>, fanout: number): Map<string, string[]> {
  const want = Math.min(2, above.length);
  const aboveHash = above.map((p) => Math.imul(hash.get(p)!, 0x9e3779b1));
  const load = new Int32Array(above.length);
  const out = new Map<string, string[]>();
  for (const child of layer) {
    const chosen = rendezvous(hash.get(child)!, above, aboveHash, load, fanout).slice(0, want);
    if (chosen.length < want) return roundRobin(layer, above);
    for (const i of chosen) load[i]!++;
    out.set(child, chosen.map((i) => above[i]!).sort(byName));
  }
  return out;
}

function roundRobin(layer: readonly string[], above: readonly string[]): Map<string, string[]> {
  const s = above.length;
  return new Map(layer.map((child, i) => [child, [...new Set([above[i % s]!, above[(i + 1) % s]!])].sort(byName)]));
}

/** The indexes of the two candidates with room that score highest for this child (ties: the one earlier in its layer). */
function rendezvous(child: number, above: readonly string[], aboveHash: readonly number[], load: Int32Array, fanout: number): number[] {
  let best = -1;
  let bestScore = -1;
  let second = -1;
  let secondScore = -1;
  for (let i = 0; i < above.length; i++) {
    if (load[i]! >= fanout) continue;
    const score = mix(child ^ aboveHash[i]!);
    if (score > bestScore) {
      second = best;
      secondScore = bestScore;
      best = i;
      bestScore = score;
    } else if (score > secondScore) {
      second = i;
      secondScore = score;
    }
  }
  return [best, second].filter((i) => i >= 0);
}

/**
 * Where a host sends an event: as the entry point (it got the event from the forge, `kaidu notify`
 * or CI), to the roots and its own children; as a relay, to its own children. Never to itself or
 * to a host the event already passed through.
 */
export function relayTargets(tree: RelayTree, self: string, entry: boolean, visited: readonly string[] = []): string[] {
  const skip = new Set([self, ...visited]);
  const out = new Set<string>();
  if (entry) for (const r of tree.roots) out.add(r);
  for (const c of tree.children.get(self) ?? []) out.add(c);
  return [...out].filter((h) => !skip.has(h)).sort(byName);
}
