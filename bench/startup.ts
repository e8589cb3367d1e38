/**
 * What a user waits for at the command line, as whole processes: `kaidu --version`, `--help` and
 * `validate` of one node against `node -e 0` (same run, interleaved), and `validate` of 1,000 to
 * 100,000 `tosca.nodes.Compute` nodes against OpenStack's tosca-parser (its figures are recorded in
 * bench/baselines.json: it cannot be installed here). Linearity is shown by µs per node of warm
 * in-process compiles at 10k and 100k, so JIT warm-up does not pass for growth. `plan` and `status`
 * of a small repository (examples/web-db) run from the bundle and from dist/ (KAIDU_NO_BUNDLE=1):
 * what the bundle saves a command that is not `validate`. `validate` runs from its code-cached build
 * (bin/kaidu.js); the ESM bundle's validate (KAIDU_VALIDATE_CODE_CACHE=off) runs beside it at one
 * node, 1k and 10k: what the cache saves. KAIDU_BENCH_STARTUP_MAX_NODES limits the
 * sizes of the N-node validate (e.g. 1000 for a quick run).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileService, createCompileCache } from '../src/tosca/index.js';
import { fsReader, readOnce } from '../src/cli/fs-reader.js';
import { gc, round, time } from './measure.js';
import { paired, runNode } from './process-usage.js';

const BIN = fileURLToPath(new URL('../../bin/kaidu.js', import.meta.url));
const BASELINES = JSON.parse(readFileSync(fileURLToPath(new URL('../../bench/baselines.json', import.meta.url)), 'utf8')) as {
  'tosca-parser': { validate_cpu_ms: Record<string, number> };
  'kaidu-previous': Record<string, unknown>;
};

/** N Compute nodes in TOSCA Simple Profile 1.3, as tosca-parser was measured on. */
export function computeNodes(n: number): string {
  const out = ['tosca_definitions_version: tosca_simple_yaml_1_3', 'topology_template:', '  node_templates:'];
  for (let i = 0; i < n; i++) {
    out.push(`    server_${i}:`, '      type: tosca.nodes.Compute', '      capabilities:', '        host:', '          properties:', `            num_cpus: ${1 + (i % 4)}`, '            mem_size: 2 GB');
  }
  return out.join('\n') + '\n';
}

export async function benchStartup(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'kaidu-bench-startup-'));
  try {
    const runs = Number(process.env.KAIDU_BENCH_STARTUP_RUNS ?? 11);
    writeFileSync(join(dir, 'one.yaml'), computeNodes(1));
    const kaidu = (...args: string[]) => () => runNode([BIN, ...args], { cwd: dir });
    const repo = join(dir, 'web-db');
    cpSync(fileURLToPath(new URL('../../examples/web-db/', import.meta.url)), repo, { recursive: true, filter: (src) => !src.includes('.kaidu') });
    const inRepo = (env: NodeJS.ProcessEnv, ...args: string[]) => () => runNode([BIN, ...args], { cwd: repo, env });
    const start = await paired(runs, {
      node_e0: () => runNode(['-e', '0'], { cwd: dir }),
      version: kaidu('--version'),
      help: kaidu('--help'),
      validate_one_node: kaidu('validate', 'one.yaml'),
      // Kaidu's profiles read from their YAML instead of the store the build made (what the store saves).
      validate_one_node_profiles_yaml: () => runNode([BIN, 'validate', 'one.yaml'], { cwd: dir, env: { KAIDU_PROFILE_RECORDS: 'off' } }),
      // The ESM bundle's validate instead of the code-cached build (what the code cache saves).
      validate_one_node_no_code_cache: () => runNode([BIN, 'validate', 'one.yaml'], { cwd: dir, env: { KAIDU_VALIDATE_CODE_CACHE: 'off' } }),
      plan_small_repo: inRepo({ KAIDU_NO_BUNDLE: '' }, 'plan'),
      plan_small_repo_dist: inRepo({ KAIDU_NO_BUNDLE: '1' }, 'plan'),
      status_small_repo: inRepo({ KAIDU_NO_BUNDLE: '' }, 'status'),
      status_small_repo_dist: inRepo({ KAIDU_NO_BUNDLE: '1' }, 'status'),
    });
    const base = start.node_e0!;
    const above = (k: string) => start[k]!.cpu_ms - base.cpu_ms;
    const startup = {
      runs,
      node_e0: base,
      version: { ...start.version!, cpu_above_node_ms: above('version'), goal_cpu_above_node_ms: 150, meets_goal: above('version') <= 150, previous_release_cpu_ms: BASELINES['kaidu-previous'].version_cpu_ms },
      help: { ...start.help!, cpu_above_node_ms: above('help') },
      validate_one_node: { ...start.validate_one_node!, cpu_above_node_ms: above('validate_one_node'), goal_cpu_above_node_ms: 400, meets_goal: above('validate_one_node') <= 400, profiles_from_yaml: start.validate_one_node_profiles_yaml!, prebuilt_profiles_save_cpu_ms: start.validate_one_node_profiles_yaml!.cpu_ms - start.validate_one_node!.cpu_ms, without_code_cache: start.validate_one_node_no_code_cache!, code_cache_saves_cpu_ms: start.validate_one_node_no_code_cache!.cpu_ms - start.validate_one_node!.cpu_ms },
      // examples/web-db, bundle against dist/ (same run, interleaved).
      plan_small_repo: { bundle: start.plan_small_repo!, dist: start.plan_small_repo_dist!, bundle_saves_cpu_ms: start.plan_small_repo_dist!.cpu_ms - start.plan_small_repo!.cpu_ms },
      status_small_repo: { bundle: start.status_small_repo!, dist: start.status_small_repo_dist!, bundle_saves_cpu_ms: start.status_small_repo_dist!.cpu_ms - start.status_small_repo!.cpu_ms },
    };

    // validate of N nodes, whole process, against tosca-parser's recorded CPU time.
    const tp = BASELINES['tosca-parser'].validate_cpu_ms;
    const goals: Record<number, { ratio?: number; cpu_ms?: number; rss_mib?: number }> = { 1000: { ratio: 3 }, 10000: { ratio: 50 }, 100000: { cpu_ms: 2500, rss_mib: 500 } };
    const validate: Record<string, unknown>[] = [];
    const maxNodes = Number(process.env.KAIDU_BENCH_STARTUP_MAX_NODES ?? 100_000);
    for (const n of [1_000, 10_000, 100_000].filter((k) => k <= maxNodes)) {
      writeFileSync(join(dir, `n${n}.yaml`), computeNodes(n));
      // With the ESM bundle's validate alongside (KAIDU_VALIDATE_CODE_CACHE=off), paired: what the code cache saves at this size.
      const r = await paired(n >= 100_000 ? 1 : 3, { v: kaidu('validate', `n${n}.yaml`), ...(n < 100_000 ? { esm: () => runNode([BIN, 'validate', `n${n}.yaml`], { cwd: dir, env: { KAIDU_VALIDATE_CODE_CACHE: 'off' } }) } : {}) });
      const v = r.v!;
      const goal = goals[n]!;
      const ratio = tp[String(n)] ? tp[String(n)]! / v.cpu_ms : undefined;
      const meets = (goal.ratio === undefined || (ratio ?? 0) >= goal.ratio) && (goal.cpu_ms === undefined || v.cpu_ms < goal.cpu_ms) && (goal.rss_mib === undefined || v.max_rss_mib < goal.rss_mib);
      validate.push({
        nodes: n,
        ...v,
        ...(r.esm ? { without_code_cache_cpu_ms: r.esm.cpu_ms, code_cache_saves_cpu_ms: r.esm.cpu_ms - v.cpu_ms } : {}),
        ...(tp[String(n)] ? { tosca_parser_cpu_ms: tp[String(n)], times_less_cpu_than_tosca_parser: round(ratio!) } : {}),
        goal: goal.ratio ? `≥ ${goal.ratio}× less CPU than tosca-parser` : `< ${goal.cpu_ms} ms CPU and < ${goal.rss_mib} MB`,
        meets_goal: meets,
      });
    }

    // Linearity: warm compiles in this process (second run of each size), µs per node.
    const profiles = readOnce(fsReader(fileURLToPath(new URL('../../profiles/', import.meta.url))));
    const cache = createCompileCache();
    const warm: Record<string, number> = {};
    for (const n of [10_000, 100_000].filter((k) => k <= maxNodes)) {
      const text = computeNodes(n);
      const reader = { readFile: async (path: string) => (path === 'n.yaml' ? { path, text, id: String(n) } : undefined), listDir: async () => [] };
      await compileService('n.yaml', reader, { profiles, cache });
      gc();
      const t = await time(() => compileService('n.yaml', reader, { profiles, cache }));
      warm[String(n)] = round((t.ms * 1000) / n);
      gc();
    }
    return {
      startup,
      validate,
      warm_us_per_node: { '10000': warm['10000'], '100000': warm['100000'], growth_10k_to_100k: warm['100000'] && warm['10000'] ? round(warm['100000'] / warm['10000']) : undefined, goal: 'linear (growth ≈ 1)' },
      baselines: 'node -e 0 measured in this run; tosca-parser and the previous release from bench/baselines.json',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
