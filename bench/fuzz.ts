/**
 * Hostile YAML (issue 12): 10,000 generated documents (alias bombs, deep nesting, big files, odd
 * bytes, odd names) through the template compiler, the state reader and the settings reader.
 * Goal: no crash (no exception, no internal error), no document over 2 s, peak RSS under 300 MB.
 */
import { fileURLToPath } from 'node:url';
import { createCompileCache } from '../src/tosca/index.js';
import { fsReader, readOnce } from '../src/cli/fs-reader.js';
import { seededRandom } from '../test/support/seeded-random.js';
import { fuzzOne, hostileCase, type Target } from '../test/support/hostile-yaml.js';
import { gc, peakRssMiB, round } from './measure.js';

const GOAL_MS_PER_DOC = 2000;
const GOAL_PEAK_RSS_MIB = 300;

export async function benchFuzz(count = Number(process.env.KAIDU_FUZZ_DOCS ?? 10_000)): Promise<Record<string, unknown>> {
  const profiles = readOnce(fsReader(fileURLToPath(new URL('../../profiles/', import.meta.url))));
  const cache = createCompileCache();
  const rand = seededRandom(20261203);
  const targets: Target[] = ['template', 'state', 'settings'];
  const perKind: Record<string, { docs: number; max_ms: number; max_cpu_ms: number; total_ms: number }> = {};
  const failures: string[] = [];
  let maxMs = 0;
  let maxCpuMs = 0;
  let slowest = '';
  gc();
  const start = performance.now();
  for (let n = 0; n < count; n++) {
    const { kind, text } = hostileCase(rand, targets[n % 3]!);
    const outcome = await fuzzOne(text, profiles, cache);
    const k = (perKind[kind] ??= { docs: 0, max_ms: 0, max_cpu_ms: 0, total_ms: 0 });
    k.docs++;
    k.total_ms += outcome.ms;
    if (outcome.ms > k.max_ms) k.max_ms = outcome.ms;
    if (outcome.cpuMs > k.max_cpu_ms) k.max_cpu_ms = outcome.cpuMs;
    if (outcome.ms > maxMs) maxMs = outcome.ms;
    if (outcome.cpuMs > maxCpuMs) {
      maxCpuMs = outcome.cpuMs;
      slowest = `doc ${n} (${kind}, ${text.length} characters)`;
    }
    if (outcome.violations.length && failures.length < 10) failures.push(`doc ${n} (${kind}): ${outcome.violations.join('; ').slice(0, 300)}`);
    else if (outcome.violations.length) failures.length++;
  }
  const seconds = (performance.now() - start) / 1000;
  const peak = await peakRssMiB();
  const crashes = failures.length;
  return {
    docs: count,
    docs_per_s: round(count / seconds),
    max_ms_per_doc: round(maxMs),
    max_cpu_ms_per_doc: round(maxCpuMs),
    slowest_doc: slowest,
    peak_rss_mib: peak,
    crashes,
    ...(crashes ? { first_failures: failures.slice(0, 10) } : {}),
    per_kind: Object.fromEntries(Object.entries(perKind).map(([kind, v]) => [kind, { docs: v.docs, mean_ms: round(v.total_ms / v.docs), max_ms: round(v.max_ms), max_cpu_ms: round(v.max_cpu_ms) }])),
    // Judged on CPU time: on a machine shared with other work, wall time measures the others too.
    goal: `no crash, <= ${GOAL_MS_PER_DOC} ms (CPU) per document, peak RSS <= ${GOAL_PEAK_RSS_MIB} MiB`,
    meets_goal: crashes === 0 && maxCpuMs <= GOAL_MS_PER_DOC && peak <= GOAL_PEAK_RSS_MIB ? 'yes' : 'no',
  };
}
