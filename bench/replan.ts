/**
 * `kaidu plan` as a user runs it, whole processes, on a git repository of 100 service files and
 * 10,000 templates whose state says everything is applied: cold (no cache), warm, after a one-file
 * change, and `--base/--head`; `node -e 0` and `kaidu --version` in the same run as baselines; the
 * previous release's figures from bench/baselines.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan } from '../src/plan/model.js';
import { serializeServiceState, stateFilePath } from '../src/state/index.js';
import type { PlainValue, ServiceState } from '../src/state/model.js';
import { median, runNode, type ProcessUsage } from './process-usage.js';
import { round } from './measure.js';

const BIN = fileURLToPath(new URL('../../bin/kaidu.js', import.meta.url));
const PREVIOUS = (JSON.parse(readFileSync(fileURLToPath(new URL('../../bench/baselines.json', import.meta.url)), 'utf8')) as { 'kaidu-previous': Record<string, number> })['kaidu-previous'];

function serviceFile(f: number, tag: string): string {
  const out = ['tosca_definitions_version: tosca_2_0', 'service_template:', '  node_templates:', `    host-${f}:`, '      type: kaidu:Host'];
  for (let p = 0; p < 99; p++) {
    out.push(`    proc-${p}:`, '      type: kaidu:Process', '      properties:', `        command: [ /usr/bin/worker, --id, '${p}${p === 0 ? tag : ''}' ]`, '      requirements:', `        - host: host-${f}`);
  }
  return out.join('\n') + '\n';
}

export async function benchReplan(): Promise<Record<string, unknown>> {
  const repo = mkdtempSync(join(tmpdir(), 'kaidu-bench-replan-'));
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=B', '-c', 'user.email=b@example.invalid', ...args], { cwd: repo, stdio: 'pipe' }).toString().trim();
  try {
    mkdirSync(join(repo, 'services'));
    writeFileSync(join(repo, 'kaidu.yaml'), 'branch: main\n');
    writeFileSync(join(repo, '.gitignore'), '.kaidu/\n');
    for (let f = 0; f < 100; f++) writeFileSync(join(repo, 'services', `s${f}.yaml`), serviceFile(f, ''));
    git('init', '-q', '-b', 'main');
    // State as a perfect apply would record it: every node running with its desired fingerprint.
    // (through the built CLI: the profiles are found relative to dist/)
    const plan = JSON.parse((await runNode([BIN, 'plan', '--json', '--no-cache'], { cwd: repo })).stdout) as Plan;
    const states = new Map<string, ServiceState>();
    for (const h of plan.hosts) for (const wave of h.waves) for (const a of wave) {
      if (a.kind !== 'create' || !a.desired) continue;
      const key = `${a.host}/${a.service}`;
      const st = states.get(key) ?? { schema: 'kaidu/state/v1', host: a.host, service: a.service, revision: 'r0', updatedAt: '2026-01-01T00:00:00.000Z', nodes: {} };
      st.nodes[a.key] = { type: a.type, status: 'running', fingerprint: a.desired.fingerprint, properties: a.desired.properties as Record<string, PlainValue>, attributes: { pid: 4242 }, revision: 'r0', appliedAt: '2026-01-01T00:00:00.000Z' };
      states.set(key, st);
    }
    for (const st of states.values()) {
      const file = join(repo, stateFilePath('state', st.host, st.service));
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, serializeServiceState(st));
    }
    git('add', '-A');
    git('commit', '-qm', 'applied');
    const runs = Number(process.env.KAIDU_BENCH_REPLAN_RUNS ?? 5);
    const kaidu = (...args: string[]) => runNode([BIN, ...args], { cwd: repo });
    const sample: Record<string, ProcessUsage[]> = { node_e0: [], version: [], cold: [], warm: [], one_file_change: [], base_head: [] };
    let check = '';
    for (let i = 0; i < runs; i++) {
      sample.node_e0!.push(await runNode(['-e', '0']));
      sample.version!.push(await kaidu('--version'));
      rmSync(join(repo, '.kaidu'), { recursive: true, force: true });
      sample.cold!.push(await kaidu('plan'));
      sample.warm!.push(await kaidu('plan'));
      writeFileSync(join(repo, 'services', 's42.yaml'), serviceFile(42, `-edit${i}`));
      const changed = await kaidu('plan');
      check = changed.stdout;
      sample.one_file_change!.push(changed);
      sample.base_head!.push(await kaidu('plan', '--base', 'HEAD', '--head', 'HEAD'));
    }
    git('checkout', '-q', '--', 'services');
    const summary = /Plan: .*/.exec(check)?.[0] ?? check.slice(-200);
    const stat = (name: string) => {
      const us = sample[name]!;
      const cpu = us.map((u) => u.cpu_ms);
      return { wall_ms: Math.round(median(us.map((u) => u.wall_ms))), cpu_ms: Math.round(median(cpu)), cpu_range_ms: [Math.round(Math.min(...cpu)), Math.round(Math.max(...cpu))], max_rss_mib: Math.max(...us.map((u) => u.max_rss_mib)) };
    };
    const version = stat('version');
    const change = stat('one_file_change');
    const above = change.cpu_ms - version.cpu_ms;
    return {
      templates: 100 * 100,
      files: 100,
      runs,
      node_e0: stat('node_e0'),
      kaidu_version: version,
      cold_plan: { ...stat('cold'), previous_release_ms: PREVIOUS.plan_10000_templates_cold_ms },
      warm_plan_no_change: stat('warm'),
      plan_after_one_file_change: {
        ...change,
        output: summary,
        cpu_above_startup_ms: above,
        goal_cpu_above_startup_ms: 300,
        meets_goal: above < 300,
        previous_release_ms: PREVIOUS.plan_after_one_file_change_ms,
      },
      base_head_warm: { ...stat('base_head'), previous_release_ms: PREVIOUS.plan_base_head_ms },
      ratio_cold_to_one_file_change: round(stat('cold').cpu_ms / change.cpu_ms),
    };
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
}
