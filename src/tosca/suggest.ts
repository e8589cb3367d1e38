/**
 * "Did you mean …?": the closest known name by edit distance (insertions, deletions, changes and
 * swaps of neighbours each count 1, case ignored), offered only when it is close enough that the
 * suggestion is more likely right than noise.
 */

/** Optimal-string-alignment distance, with an early stop once it exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > limit) return limit + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/** How far a word of this length may be from a suggestion. */
function allowed(length: number): number {
  return length <= 3 ? 1 : length <= 6 ? 2 : 3;
}

/** The closest candidate, or undefined when none is close enough (ties: the first listed). */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const limit = allowed(w.length);
  let best: string | undefined;
  let bestD = limit + 1;
  for (const c of candidates) {
    if (c === word) continue;
    const lc = c.toLowerCase();
    let d = lc === w ? 0 : editDistance(w, lc, limit);
    // A keyword with a tail of noise (`propertiessss`) or cut short (`propert`) is still it.
    if (d > limit && lc.length >= 4 && (w.startsWith(lc) || lc.startsWith(w)) && w.length >= 4) d = limit;
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** `did you mean "x"?`, or undefined. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const c = closest(word, candidates);
  return c === undefined ? undefined : `did you mean "${c}"?`;
}

/** A hint for an unknown name: the suggestion when there is one, else what is known (shortened). */
export function suggestOrList(word: string, candidates: readonly string[], what: string, max = 12): string | undefined {
  const mean = didYouMean(word, candidates);
  if (mean) return mean;
  if (candidates.length === 0) return undefined;
  const shown = candidates.slice(0, max).join(', ');
  return `${what}: ${shown}${candidates.length > max ? `, … (${candidates.length - max} more)` : ''}`;
}
