/**
 * `npm run bench -- fleet`: N agents, each in its own network namespace with its own address
 * (fleet.ts), one git http-backend hub, one push that changes every host (one `kaidu:Directory`
 * per host in one service; the push changes every mode). Per N:
 *
 * - time from the hub accepting the push until each host's state for that revision is on the hub
 *   (p50, max), read from the hub for either layout (hub-state.ts);
 * - push attempts per host (receive-pack requests per host address, counted by the hub; and the
 *   agents' own `kaidu_push_retries_total`), failed passes (`kaidu_passes_total`), hub retries;
 * - hosts that needed a second event: phase 1 delivers only the templates push to every agent
 *   (the hosts are independent; a relayed state push would be a second event in disguise) and
 *   waits until the fleet is quiet; hosts still behind then get the webhook again (phase 2);
 * - hub CPU (this process's reaped children: every `git http-backend` and what it ran), agent
 *   RSS and CPU, and where the time went: CPU-bound waiting (each agent's run-queue delay from
 *   schedstat, the machine's CPU pressure) against git waiting (server time of the hub's fetch and
 *   push requests per host, and the agents' own fetch/push durations from their logs);
 * - a model that extrapolates the measured per-operation costs to 1,000 hosts (model.ts).
 *
 * Sizes: `KAIDU_BENCH_FLEET_SIZES` (default `10,40,max`; `max` = as many agents as fit in
 * `KAIDU_BENCH_FLEET_BUDGET_MIB`, default half of MemAvailable, at the largest agent peak RSS
 * measured so far). Root only: it creates network namespaces `kfb-*` on 10.77.0.0/16.
 */
import { readFile, rm } from 'node:fs/promises';
import type { HubRequest, PushNotice } from '../../src/git/hub-server.js';
import { round } from '../measure.js';
import { startFleet, type Fleet, type FleetAgent } from './fleet.js';
import { HubStateReader } from './hub-state.js';
import { fleetModel, type RunFigures } from './model.js';
import { machineLoad, machineSample, memAvailableMiB, reapedChildrenCpuMs, rss, schedStat, type SchedStat } from './proc-stats.js';

const SERVICE = 'fleet';

function service(hosts: string[], version: number): string {
  const mode = ['0755', '0750', '0775', '0700'][version % 4];
  const lines = ['tosca_definitions_version: tosca_2_0', 'service_template:', '  node_templates:'];
  for (const h of hosts) {
    lines.push(`    ${h}: { type: kaidu:Host }`);
    lines.push(`    d-${h}:`, '      type: kaidu:Directory', `      properties: { path: /tmp/kaidu-fleet-bench/${h}, mode: '${mode}' }`, `      requirements: [ { host: ${h} } ]`);
  }
  return lines.join('\n') + '\n';
}

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

type LogLine = { time: number; msg: string; ms?: number; revision?: string; after?: string; code?: string; reqId?: string; req?: { url?: string }; responseTime?: number };

async function logSince(agent: FleetAgent, since: number): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for (const l of (await readFile(agent.log, 'utf8').catch(() => '')).split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      const x = JSON.parse(l) as LogLine;
      if (x.time >= since) out.push(x);
    } catch {
      // not a log line
    }
  }
  return out;
}

const metric = (m: Map<string, number>, name: string) => m.get(name) ?? 0;
const metricSum = (m: Map<string, number>, prefix: string) => sum([...m].filter(([k]) => k === prefix || k.startsWith(`${prefix}{`)).map(([, v]) => v));

export async function runFleet(n: number): Promise<RunFigures> {
  const hosts = Array.from({ length: n }, (_, i) => `h-${i}`);
  const requests: Array<HubRequest & { at: number }> = [];
  const userPushes = new Set<string>();
  let onPushSeen: (p: PushNotice, at: number) => void = () => undefined;
  const relayAll = process.env.KAIDU_BENCH_FLEET_RELAY_ALL === '1';
  const fleet: Fleet = await startFleet({
    prefix: 'kfb',
    base: '10.77',
    hosts,
    files: { 'kaidu.yaml': 'branch: main\n', [`services/${SERVICE}.yaml`]: service(hosts, 0) },
    // The forge's webhook: the templates pushes only (unless asked), to every agent.
    deliver: (p) => (relayAll || userPushes.has(p.after) ? 'all' : 'none'),
    onPush: (p) => onPushSeen(p, performance.now()),
    onRequest: (r) => requests.push({ ...r, at: performance.now() }),
    logLevel: 'debug',
  });
  try {
    const reader = new HubStateReader(fleet.gitdir);
    const initial = (await reader.read(hosts[0]!, SERVICE))!.commit;
    const startAt = performance.now();
    await fleet.startAgents();
    // Settled: every agent's catch-up pass has put its first state on the hub (on the shared
    // branch this start is itself a race of N writers). Bounded; hosts still missing are reported.
    const startupCap = Number(process.env.KAIDU_BENCH_FLEET_STARTUP_S ?? 900) * 1000;
    const unsettled = new Set(hosts);
    while (unsettled.size > 0 && performance.now() - startAt < startupCap) {
      for (const h of [...unsettled]) if ((await reader.read(h, SERVICE))?.revision === initial) unsettled.delete(h);
      for (const a of fleet.agents) if (a.proc.exitCode !== null || a.proc.signalCode !== null) throw new Error(`agent ${a.host} exited (${a.proc.exitCode ?? a.proc.signalCode}); see ${a.log}`);
      if (unsettled.size > 0) await new Promise((r) => setTimeout(r, 2000));
    }
    const readyMs = performance.now() - startAt;

    // Quiet before the measured push: no request to the hub for 3 s.
    await quiet(requests, 3_000, 60_000);
    const before = await Promise.all(fleet.agents.map((a) => fleet.metrics(a)));
    const schedBefore = await Promise.all(fleet.agents.map((a) => schedStat(a.proc.pid!)));
    const idleSample = await machineSample();
    await new Promise((r) => setTimeout(r, 1000));
    const machineIdle = machineLoad(idleSample, await machineSample());

    // Converged hosts and when (the hub's notice of the push that carried their state).
    const converged = new Map<string, number>();
    let revision = '';
    let t0 = 0;
    let checks: Promise<void> = Promise.resolve();
    let pushesAfter = 0;
    onPushSeen = (p, at) => {
      if (!t0 || p.after === revision) return;
      pushesAfter++;
      const own = /^refs\/heads\/kaidu\/state\/(.+)$/.exec(p.ref)?.[1];
      const candidates = own ? [own] : p.ref === 'refs/heads/main' ? hosts.filter((h) => !converged.has(h)) : [];
      checks = checks.then(async () => {
        for (const h of candidates) {
          if (converged.has(h)) continue;
          const st = await reader.read(h, SERVICE);
          if (st?.revision === revision) converged.set(h, at - t0);
        }
      });
    };

    const reqFrom = requests.length;
    const cpuHub0 = await reapedChildrenCpuMs();
    const m0 = await machineSample();
    const pushStarted = performance.now();
    let notice!: PushNotice;
    const noticed = new Promise<void>((resolve) => {
      const prev = onPushSeen;
      onPushSeen = (p, at) => {
        if (p.after === revision && !t0) {
          t0 = at;
          notice = p;
          onPushSeen = prev;
          resolve();
        } else prev(p, at);
      };
    });
    // The hub's notice may come before `git push` returns: the revision is known before it starts.
    await fleet.push({ [`services/${SERVICE}.yaml`]: service(hosts, 1) }, 'change every host', (oid) => {
      revision = oid;
      userPushes.add(oid);
    });
    await noticed;
    const userPushMs = t0 - pushStarted;

    // Phase 1: one event. Wait for every host, or for a quiet fleet with no retry scheduled.
    const phase1Cap = Number(process.env.KAIDU_BENCH_FLEET_PHASE1_S ?? 300) * 1000;
    const retryScheduled = new Set<string>();
    for (;;) {
      await checks;
      if (converged.size === n) break;
      const elapsed = performance.now() - t0;
      if (elapsed > phase1Cap) break;
      const lastRequest = requests.length > reqFrom ? requests[requests.length - 1]!.at : t0;
      if (performance.now() - lastRequest > 15_000) {
        retryScheduled.clear();
        for (const a of fleet.agents.filter((x) => !converged.has(x.host))) {
          const s = (await (await fetch(`${a.url}/status`, { signal: AbortSignal.timeout(10_000) })).json().catch(() => ({}))) as { hubRetry?: { scheduled?: boolean } | null; pendingPush?: boolean };
          if (s.hubRetry?.scheduled) retryScheduled.add(a.host);
        }
        if (retryScheduled.size === 0) break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const phase1Ms = performance.now() - t0;
    const cpuHub1 = await reapedChildrenCpuMs();
    const m1 = await machineSample();
    const schedAfter = await Promise.all(fleet.agents.map((a) => schedStat(a.proc.pid!)));
    const reqPhase1 = requests.slice(reqFrom);
    const convergedPhase1 = new Map(converged);

    // Phase 2: a second event for the hosts still behind.
    const behind = hosts.filter((h) => !converged.has(h));
    let phase2Ms = 0;
    if (behind.length > 0) {
      const t2 = performance.now();
      await fleet.deliver(notice, behind);
      const cap = Number(process.env.KAIDU_BENCH_FLEET_PHASE2_S ?? 300) * 1000;
      while (hosts.some((h) => !converged.has(h)) && performance.now() - t2 < cap) {
        await new Promise((r) => setTimeout(r, 1000));
        await checks;
      }
      phase2Ms = performance.now() - t2;
    }
    const after = await Promise.all(fleet.agents.map((a) => fleet.metrics(a)));
    const mems = await Promise.all(fleet.agents.map((a) => rss(a.proc.pid!)));

    // Per host: push attempts and git time at the hub (by its address), the agents' own view from logs.
    const perHost = await Promise.all(
      fleet.agents.map(async (a, i) => {
        const mine = reqPhase1.filter((r) => r.remoteAddress === a.address || r.remoteAddress === `::ffff:${a.address}`);
        const pushes = mine.filter((r) => r.service === 'git-receive-pack' && r.method === 'POST');
        const fetches = mine.filter((r) => r.service === 'git-upload-pack' && r.method === 'POST');
        const log = await logSince(a, Date.now() - (performance.now() - t0));
        const sched = { cpuMs: schedAfter[i]!.cpuMs - schedBefore[i]!.cpuMs, runQueueMs: schedAfter[i]!.runQueueMs - schedBefore[i]!.runQueueMs } satisfies SchedStat;
        const fetched = log.filter((l) => l.msg === 'fetched the hub');
        const pushed = log.filter((l) => l.msg === 'pushed');
        const webhook = log.find((l) => l.msg === 'webhook accepted' && l.after === revision);
        const applying = log.find((l) => l.msg === 'applying' && l.revision === revision);
        const hookIds = new Set(log.filter((l) => l.msg === 'incoming request' && l.req?.url?.startsWith('/hooks/')).map((l) => l.reqId));
        const webhookMs = log.filter((l) => l.msg === 'request completed' && hookIds.has(l.reqId)).map((l) => l.responseTime ?? 0);
        const firstFetchAfterHook = webhook ? fetched.find((l) => l.time >= webhook.time) : undefined;
        return {
          host: a.host,
          convergedMs: converged.get(a.host),
          phase1: convergedPhase1.has(a.host),
          pushAttempts: pushes.length,
          fetches: fetches.length,
          fetchBytes: sum(fetches.map((r) => r.bytesOut)),
          pushBytes: sum(pushes.map((r) => r.bytesIn)),
          hubPushMs: sum(pushes.map((r) => r.ms)),
          hubFetchMs: sum(fetches.map((r) => r.ms)),
          agentFetchMs: sum(fetched.map((l) => l.ms ?? 0)),
          agentPushMs: sum(pushed.map((l) => l.ms ?? 0)),
          webhookMs,
          compilePlanMs: firstFetchAfterHook && applying ? applying.time - firstFetchAfterHook.time : undefined,
          cpuMs: sched.cpuMs,
          runQueueMs: sched.runQueueMs,
          pushRetries: metric(after[i]!, 'kaidu_push_retries_total') - metric(before[i]!, 'kaidu_push_retries_total'),
          hubRetries: metric(after[i]!, 'kaidu_hub_retries_total') - metric(before[i]!, 'kaidu_hub_retries_total'),
          failedPasses: ['error', 'failed'].map((r) => metric(after[i]!, `kaidu_passes_total{result="${r}"}`) - metric(before[i]!, `kaidu_passes_total{result="${r}"}`)).reduce((x, y) => x + y, 0),
          passes: metricSum(after[i]!, 'kaidu_passes_total') - metricSum(before[i]!, 'kaidu_passes_total'),
          rssMiB: mems[i]!.rssMiB,
          peakRssMiB: mems[i]!.peakMiB,
        };
      }),
    );
    const times = perHost.map((h) => h.convergedMs).filter((x): x is number => x !== undefined);
    const phase1Times = perHost.filter((h) => h.phase1).map((h) => h.convergedMs!);
    const load = machineLoad(m0, m1);
    const hubCpuMs = cpuHub1 - cpuHub0;
    const q = (xs: number[]) => ({ p50: round(quantile(xs, 0.5) ?? NaN, 0), max: round(Math.max(...xs), 0) });
    return {
      hosts: n,
      layout: (await reader.read(hosts[0]!, SERVICE))?.layout ?? 'unknown',
      startup_until_all_state_on_hub_ms: round(readyMs, 0),
      hosts_without_first_state_at_start: unsettled.size,
      user_push_ms: round(userPushMs, 0),
      converged_hosts: times.length,
      converged_in_phase1: phase1Times.length,
      phase1_ms: round(phase1Ms, 0),
      phase2_ms: round(phase2Ms, 0),
      // One event (phase 1) only; `_with_second_event` adds the hosts phase 2 brought over.
      time_to_state_on_hub_ms: phase1Times.length ? q(phase1Times) : null,
      time_to_state_on_hub_with_second_event_ms: phase2Ms && times.length ? q(times) : null,
      webhook_ms: q(perHost.flatMap((h) => h.webhookMs)),
      hosts_needing_second_event: behind.length,
      hosts_never_converged: hosts.length - times.length,
      hosts_with_retry_scheduled_at_phase1_end: retryScheduled.size,
      push_attempts_per_host: { ...q(perHost.map((h) => h.pushAttempts)), total: sum(perHost.map((h) => h.pushAttempts)), mean: round(sum(perHost.map((h) => h.pushAttempts)) / n) },
      push_retries_metric_total: sum(perHost.map((h) => h.pushRetries)),
      hub_retries_metric_total: sum(perHost.map((h) => h.hubRetries)),
      failed_passes: sum(perHost.map((h) => h.failedPasses)),
      passes: sum(perHost.map((h) => h.passes)),
      state_pushes_seen_by_hub: pushesAfter,
      fetches_per_host: q(perHost.map((h) => h.fetches)),
      fetch_response_bytes_per_host: q(perHost.map((h) => h.fetchBytes)),
      push_request_bytes_per_host: q(perHost.map((h) => h.pushBytes)),
      hub_cpu_ms: round(hubCpuMs, 0),
      hub_requests: { fetch: reqPhase1.filter((r) => r.service === 'git-upload-pack' && r.method === 'POST').length, push: reqPhase1.filter((r) => r.service === 'git-receive-pack' && r.method === 'POST').length, all: reqPhase1.length },
      hub_cpu_ms_per_git_operation: round(hubCpuMs / Math.max(1, reqPhase1.filter((r) => r.method === 'POST' && r.service.startsWith('git-')).length), 1),
      hub_server_ms_per_request: { fetch: q(reqPhase1.filter((r) => r.service === 'git-upload-pack' && r.method === 'POST').map((r) => r.ms)), push: q(reqPhase1.filter((r) => r.service === 'git-receive-pack' && r.method === 'POST').map((r) => r.ms)) },
      agent_rss_mib: { ...q(perHost.map((h) => h.rssMiB)), total: round(sum(perHost.map((h) => h.rssMiB)), 0) },
      agent_peak_rss_mib: q(perHost.map((h) => h.peakRssMiB)),
      waiting: {
        note: 'per host over phase 1: CPU used, run-queue delay (runnable, no CPU free: CPU-bound waiting), and git time (server time of its fetch/push requests at the hub; the agent-side fetch/push durations include their own CPU and queueing)',
        agent_cpu_ms: q(perHost.map((h) => h.cpuMs)),
        agent_run_queue_wait_ms: q(perHost.map((h) => h.runQueueMs)),
        hub_fetch_ms: q(perHost.map((h) => h.hubFetchMs)),
        hub_push_ms: q(perHost.map((h) => h.hubPushMs)),
        agent_fetch_ms: q(perHost.map((h) => h.agentFetchMs)),
        agent_push_ms: q(perHost.map((h) => h.agentPushMs)),
        compile_plan_ms: q(perHost.map((h) => h.compilePlanMs).filter((x): x is number => x !== undefined)),
        machine_cpu_busy_share: round(load.cpu_busy_share),
        machine_cpu_pressure_share: load.cpu_pressure_share === null ? null : round(load.cpu_pressure_share),
        machine_before_push: { cpu_busy_share: round(machineIdle.cpu_busy_share), cpu_pressure_share: machineIdle.cpu_pressure_share === null ? null : round(machineIdle.cpu_pressure_share) },
      },
    };
  } finally {
    await fleet.close();
    await rm('/tmp/kaidu-fleet-bench', { recursive: true, force: true }); // the hosts' directories
  }
}

/** Resolves once no request reached the hub for `ms` (bounded by `capMs`). */
async function quiet(requests: Array<{ at: number }>, ms: number, capMs: number): Promise<void> {
  const start = performance.now();
  for (;;) {
    const last = requests.length ? requests[requests.length - 1]!.at : 0;
    if (performance.now() - last >= ms || performance.now() - start > capMs) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function benchFleet(): Promise<Record<string, unknown>> {
  // Reported as skipped, never as a result: the whole bench runs without root elsewhere.
  if (process.getuid?.() !== 0) return { skipped: 'needs root: the fleet lives in network namespaces (ip netns add)' };
  const sizes = (process.env.KAIDU_BENCH_FLEET_SIZES ?? '10,40,max').split(',').map((s) => s.trim());
  const budget = Number(process.env.KAIDU_BENCH_FLEET_BUDGET_MIB ?? Math.floor((await memAvailableMiB()) / 2));
  const runs: RunFigures[] = [];
  let peak = 0;
  const skipped: string[] = [];
  const failed: Array<{ hosts: number; error: string }> = [];
  for (const s of sizes) {
    let n: number;
    if (s === 'max') {
      if (peak === 0) {
        skipped.push('max: no agent RSS measured yet');
        continue;
      }
      n = Math.floor(budget / peak);
      if (runs.some((r) => r.hosts >= n)) {
        skipped.push(`max: ${n} agents fit in ${budget} MiB at ${round(peak, 0)} MiB each, no more than already run`);
        continue;
      }
    } else n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`KAIDU_BENCH_FLEET_SIZES: "${s}" is not a size`);
    console.log(`fleet: ${n} agents…`);
    let r: RunFigures;
    try {
      r = await runFleet(n);
    } catch (err) {
      // One size that could not be measured must not lose the others: reported as such.
      console.log(`fleet: ${n} agents failed: ${(err as Error).message}`);
      failed.push({ hosts: n, error: (err as Error).message });
      continue;
    }
    console.log(JSON.stringify(r));
    runs.push(r);
    peak = Math.max(peak, (r.agent_peak_rss_mib as { max: number }).max);
  }
  return {
    runs,
    failed,
    memory_budget_mib: budget,
    agents_that_fit_in_budget: peak ? Math.floor(budget / peak) : null,
    skipped,
    goal: 'every host converges on one push with no failed pass and no second event; push attempts per host <= 2',
    meets_goal: runs.map((r) => ({ hosts: r.hosts, ok: r.hosts_needing_second_event === 0 && r.failed_passes === 0 && (r.push_attempts_per_host as { max: number }).max <= 2 })),
    model_1000_hosts: fleetModel(runs, 1000),
  };
}
