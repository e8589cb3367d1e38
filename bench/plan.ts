/**
 * Planner speed: 100,000 nodes (1,000 hosts × 100) with 1% changed, against the time to build the
 * topology (the baseline, same process); and a one-file change in a 10,000-file repository
 * replanned with the compile cache warm, against the same replan cold.
 */
import { plan } from '../src/plan/plan.js';
import { desiredFingerprint, resolveNode } from '../src/plan/index.js';
import { buildTopology } from '../src/topology/build.js';
import type { StateSnapshot } from '../src/state/model.js';
import type { CompiledNode, CompiledService, SourceFile, SourceReader } from '../src/tosca/model.js';
import { loadRepository, ServiceMemo } from '../src/repository/index.js';
import { createCompileCache } from '../src/tosca/index.js';
import { fsReader, readOnce } from '../src/cli/fs-reader.js';
import { best, gc, peakRssMiB, round, time } from './measure.js';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

function compiledNode(name: string, type: string, properties: CompiledNode['properties'], host?: string): CompiledNode {
  const rel = { type: 'kaidu:HostedOn', types: ['kaidu:HostedOn', 'tosca:HostedOn', 'tosca:Root'], properties: {}, attributes: {}, interfaces: {} };
  const src = { file: 'services/big.yaml', line: 1, column: 1 };
  return {
    name, type, types: [type, 'tosca:Root'], metadata: {}, directives: [], properties, attributes: {}, capabilities: {},
    requirements: host ? [{ name: 'host', target: host, relationship: rel, source: src }] : [], interfaces: {}, artifacts: {}, source: src,
  };
}

function bigService(hosts: number, perHost: number): CompiledService {
  const nodes: Record<string, CompiledNode> = {};
  for (let h = 0; h < hosts; h++) {
    const host = `host-${h}`;
    nodes[host] = compiledNode(host, 'kaidu:Host', { labels: {} });
    for (let p = 0; p < perHost; p++) {
      const name = `h${h}-p${p}`;
      nodes[name] = compiledNode(name, 'kaidu:Process', { command: ['sleep', String(p)], env: { INDEX: String(p) } }, host);
    }
  }
  return { name: 'big', file: 'services/big.yaml', toscaVersion: 'tosca_2_0', metadata: {}, inputs: {}, outputs: {}, nodes, groups: {}, policies: [], workflows: {} };
}

function memoryReader(files: Map<string, string>): SourceReader {
  const ids = new Map<string, string>();
  const idOf = (path: string) => {
    let id = ids.get(path);
    if (!id) {
      id = createHash('sha1').update(files.get(path)!).digest('hex');
      ids.set(path, id);
    }
    return id;
  };
  return {
    async readFile(path): Promise<SourceFile | undefined> {
      const text = files.get(path);
      return text === undefined ? undefined : { path, text, id: idOf(path) };
    },
    async listDir(path) {
      const prefix = path === '.' || path === '' ? '' : `${path}/`;
      const seen = new Map<string, 'file' | 'dir'>();
      for (const f of files.keys()) {
        if (!f.startsWith(prefix)) continue;
        const rest = f.slice(prefix.length);
        const slash = rest.indexOf('/');
        seen.set(slash < 0 ? rest : rest.slice(0, slash), slash < 0 ? 'file' : 'dir');
      }
      return [...seen].map(([name, kind]) => ({ name, kind }));
    },
    async fileId(path) {
      return files.has(path) ? idOf(path) : undefined;
    },
  };
}

export async function benchPlan(): Promise<Record<string, unknown>> {
  const svc = bigService(1000, 99);
  // a fresh service object each time: buildTopology keeps what it placed per service object
  const baseline = await best(3, () => buildTopology([{ ...svc }]));
  const topology = baseline.value;
  // State as a perfect apply would have recorded it, then 1% of the nodes changed.
  const snapshot: StateSnapshot = {};
  const ids = Object.values(topology.nodes).filter((n) => !n.isHost);
  for (const inst of ids) {
    const r = resolveNode(inst, topology, {});
    const svcState = ((snapshot[inst.host!] ??= {}).big ??= { schema: 'kaidu/state/v1', host: inst.host!, service: 'big', revision: 'r0', updatedAt: 'x', nodes: {} });
    svcState.nodes[inst.name] = { type: inst.template.type, status: 'running', fingerprint: desiredFingerprint(inst, r), properties: r.display, attributes: { pid: 1 }, revision: 'r0', appliedAt: 'x' };
  }
  // 1% changed, as a new revision compiles them: new template objects (compiled templates are never edited in place).
  let changed = 0;
  for (const inst of ids) if (changed < ids.length / 100 && Number(inst.name.split('-p')[1]) % 100 === 7) {
    const t = inst.template;
    inst.template = { ...t, properties: { ...t.properties, env: { ...(t.properties.env as Record<string, string>), INDEX: 'changed' } } };
    changed++;
  }
  gc();
  const planned = await best(3, () => plan(topology, snapshot, { revision: 'r1' }));
  const oneHost = await best(5, () => plan(topology, snapshot, { revision: 'r1', host: 'host-7' }));

  // Incremental: 10,000 service files, one edited.
  const files = new Map<string, string>();
  files.set('kaidu.yaml', 'branch: main\n');
  for (let i = 0; i < 10_000; i++) {
    files.set(`services/s${i}.yaml`, `tosca_definitions_version: tosca_2_0\nservice_template:\n  node_templates:\n    host:\n      type: kaidu:Host\n      properties:\n        name: host-${i % 100}\n    app:\n      type: kaidu:Process\n      properties:\n        command: [sleep, "${i}"]\n      requirements:\n        - host: host\n`);
  }
  // read once, as the CLI and the agent do (`profilesReader`)
  const profiles = readOnce(fsReader(fileURLToPath(new URL('../../profiles/', import.meta.url))));
  const cache = createCompileCache();
  const memo = new ServiceMemo();
  const cold = await time(() => loadRepository(memoryReader(files), { profiles, cache, memo, revision: 'r0' }));
  // Each round edits one file and replans host-42, as an agent does after a push: told the changed
  // paths by a tree diff (`changedSince`), and, for comparison, checking every file id instead.
  let edits = 0;
  const edit = () => {
    edits++;
    files.set('services/s42.yaml', files.get('services/s42.yaml')!.replace(/sleep, "\d+"/, `sleep, "${edits}42"`));
    return { from: `r${edits - 1}`, to: `r${edits}` };
  };
  const warm = await best(5, async () => {
    const { from, to } = edit();
    const repo = await loadRepository(memoryReader(files), { profiles, cache, memo, revision: to, changedSince: { revision: from, paths: ['services/s42.yaml'] } });
    return plan(repo.topology, {}, { revision: to, host: 'host-42' });
  });
  const warmById = await best(5, async () => {
    const { to } = edit();
    const repo = await loadRepository(memoryReader(files), { profiles, cache, memo, revision: to });
    return plan(repo.topology, {}, { revision: to, host: 'host-42' });
  });
  return {
    nodes: ids.length,
    changed,
    baseline_build_topology_ms: round(baseline.ms),
    plan_all_hosts_ms: round(planned.ms),
    plan_all_hosts_ratio_to_baseline: round(planned.ms / baseline.ms),
    plan_one_host_ms: round(oneHost.ms),
    plan_actions_changed: planned.value.summary.update,
    target_plan_all_hosts_ms: 1000,
    incremental: {
      files: 10_000,
      cold_load_ms: round(cold.ms),
      cold_diagnostics: cold.value.diagnostics.filter((d) => d.severity === 'error').length,
      warm_one_file_change_replan_ms: round(warm.ms),
      warm_replan_checking_every_file_id_ms: round(warmById.ms),
      ratio_warm_to_cold: round(warm.ms / cold.ms, 4),
      warm_plan_actions: warm.value.summary.create,
      target_warm_ms: 200,
    },
    peak_rss_mib: await peakRssMiB(),
  };
}
