import { readdir, readFile } from 'node:fs/promises';
import { createHmac, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, webService, type Harness, metric, WEB_DB_SERVICE } from '../support/agent-harness.js';

const KAIDU_YAML = 'branch: main\n';
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Processes whose command line contains `marker`, from /proc. */
async function processesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const cmd = await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
    // The supervisor's command line holds the child's argv too: count the service itself.
    if (cmd.includes(marker) && !cmd.includes('vitest') && !cmd.includes('supervisor.cjs')) pids.push(Number(p));
  }
  return pids;
}

describe('agent', () => {
  it('push → webhook → applied → state commit visible in the hub', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web.yaml': webService('host-a', 'hello one') });
    const a = await h.startAgent('host-a');
    await h.waitReady(a);
    const first = await h.until('the first state commit', async () => (await h!.state())['host-a']?.web);
    expect(first.nodes.web!.status).toBe('running');
    const port = first.nodes['web-port']!.attributes.port as number;
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('hello one');
    const log = await h.log();
    expect(log.join('\n')).toContain('Kaidu-Host: host-a');

    const rev = await h.push({ 'services/web.yaml': webService('host-a', 'hello two') }, 'Change the greeting');
    await h.until('the change applied', async () => (await h!.state())['host-a']?.web?.nodes.web?.revision === rev);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('hello two');
    const status = (await (await fetch(`${a.url}/status`)).json()) as { revision: string; nodes: { node: string; status: string }[] };
    expect(status.revision).toBe(rev);
    expect(status.nodes.map((n) => `${n.node}:${n.status}`)).toEqual(['web:running', 'web-port:running']);
  }, 300_000);

  it('two hosts with a cross-host dependency converge by reacting to each other’s state commits', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web-db.yaml': WEB_DB_SERVICE });
    const a = await h.startAgent('host-a');
    const b = await h.startAgent('host-b');
    await Promise.all([h.waitReady(a), h.waitReady(b)]);
    const state = await h.until('both hosts running', async () => {
      const s = await h!.state();
      return s['host-a']?.['web-db']?.nodes.web?.status === 'running' && s['host-b']?.['web-db']?.nodes.db?.status === 'running' ? s : undefined;
    });
    const dbPort = state['host-b']!['web-db']!.nodes['db-port']!.attributes.port;
    const web = state['host-a']!['web-db']!.nodes.web as unknown as { env: Record<string, string> };
    expect(web.env.DB_PORT_PORT).toBe(String(dbPort));
    const env = await readFile(`/proc/${state['host-a']!['web-db']!.nodes.web!.attributes.pid}/environ`, 'utf8');
    expect(env).toContain(`DB_PORT_PORT=${dbPort}`);
  }, 300_000);

  it('a bad signature gets 401 and no pass', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web.yaml': webService('host-a', 'x') });
    const a = await h.startAgent('host-a');
    await h.waitReady(a);
    await h.until('first pass', async () => (await h!.state())['host-a']);
    h.relay = false;
    await new Promise((r) => setTimeout(r, 1_500)); // let the pass for our own state commit finish
    const before = await metric(a.url, 'kaidu_passes_total');
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'f'.repeat(40) });
    const res = await fetch(`${a.url}/hooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': 'sha256=' + createHmac('sha256', 'wrong').update(body).digest('hex') },
      body,
    });
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 500));
    expect(await metric(a.url, 'kaidu_passes_total')).toBe(before);
  }, 300_000);

  it('100 webhooks in a burst give at most 3 passes and the newest revision applied', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web.yaml': webService('host-a', 'v0') });
    const a = await h.startAgent('host-a');
    await h.waitReady(a);
    await h.until('first pass', async () => (await h!.state())['host-a']?.web?.nodes.web?.status === 'running');
    h.relay = false;
    const rev = await h.push({ 'services/web.yaml': webService('host-a', 'v1') }, 'v1');
    const before = await metric(a.url, 'kaidu_passes_total');
    const body = JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: rev, repository: { full_name: 'x/y' } });
    const sig = 'sha256=' + createHmac('sha256', h.secret).update(body).digest('hex');
    const codes = await Promise.all(
      Array.from({ length: 100 }, () =>
        fetch(`${a.url}/hooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': sig }, body }).then((r) => r.status),
      ),
    );
    expect(codes.every((c) => c === 202)).toBe(true);
    await h.until('v1 applied', async () => (await h!.state())['host-a']?.web?.nodes.web?.revision === rev);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await metric(a.url, 'kaidu_passes_total')) - before).toBeLessThanOrEqual(3);
  }, 300_000);

  it('the hub down during an event leaves the agent up, and the next event applies', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web.yaml': webService('host-a', 'up') });
    const a = await h.startAgent('host-a');
    await h.waitReady(a);
    await h.until('first pass', async () => (await h!.state())['host-a']?.web?.nodes.web?.status === 'running');
    h.relay = false;
    const rev = await h.push({ 'services/web.yaml': webService('host-a', 'after outage') }, 'change during outage');
    h.hub.setDown(true);
    const body = JSON.stringify({ ref: 'refs/heads/main', after: rev });
    const send = () => fetch(`${a.url}/hooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': 'sha256=' + createHmac('sha256', h!.secret).update(body).digest('hex') }, body });
    expect((await send()).status).toBe(202);
    await h.until('the failed pass', async () => ((await (await fetch(`${a.url}/status`)).json()) as { lastPass?: { result: string } }).lastPass?.result === 'error');
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    h.hub.setDown(false);
    expect((await send()).status).toBe(202);
    await h.until('applied after the outage', async () => (await h!.state())['host-a']?.web?.nodes.web?.revision === rev);
  }, 300_000);

  it('5 agents pushing state at once lose no commit', async () => {
    const files: Record<string, string> = { 'kaidu.yaml': KAIDU_YAML };
    const hosts = ['h1', 'h2', 'h3', 'h4', 'h5'];
    // Five "hosts" share this machine: give each its own port range so they cannot race for one port.
    hosts.forEach((host, i) => (files[`services/svc-${host}.yaml`] = webService(host, `hi from ${host}`, `web-${host}`, [29000 + i * 100, 29099 + i * 100])));
    h = await startHarness(files);
    const agents = await Promise.all(hosts.map((host) => h!.startAgent(host)));
    await Promise.all(agents.map((a) => h!.waitReady(a)));
    const state = await h.until('all five states', async () => {
      const s = await h!.state();
      return hosts.every((host) => s[host]?.[`svc-${host}`]?.nodes[`web-${host}`]?.status === 'running') ? s : undefined;
    });
    for (const host of hosts) expect(state[host]![`svc-${host}`]!.nodes[`web-${host}-port`]!.status).toBe('running');
    const log = (await h.log()).join('\n');
    for (const host of hosts) expect(log).toContain(`Kaidu-Host: ${host}`);
  }, 300_000);

  it('an agent killed with SIGKILL in the middle of an apply converges after restart, with no duplicate process', async () => {
    const marker = `kaidu-crash-${Math.random().toString(36).slice(2)}`;
    const nodes = Array.from({ length: 6 }, (_, i) => `    p${i}:
      type: kaidu:Process
      properties:
        command: [node, -e, "setInterval(()=>{},1e6)", ${marker}-${i}]
      requirements: [ { host: host-a } ]
`).join('');
    const svc = `tosca_definitions_version: tosca_2_0\nservice_template:\n  node_templates:\n    host-a: { type: kaidu:Host }\n${nodes}`;
    h = await startHarness({ 'kaidu.yaml': 'branch: main\nagent:\n  concurrency: 1\n', 'services/many.yaml': svc });
    const a = await h.startAgent('host-a');
    // Kill it as soon as the first process runs, before the pass can push.
    await h.until('a first process', async () => (await processesWith(marker)).length >= 1);
    a.proc.kill('SIGKILL');
    await a.exited;
    const survivors = await processesWith(marker);
    expect(survivors.length).toBeGreaterThanOrEqual(1);
    expect(survivors.length).toBeLessThan(6);
    const again = await h.startAgent('host-a');
    await h.waitReady(again);
    await h.until('all six running', async () => {
      const s = await h!.state();
      const n = s['host-a']?.many?.nodes;
      return n && Object.values(n).length === 6 && Object.values(n).every((x) => x.status === 'running');
    });
    for (let i = 0; i < 6; i++) expect((await processesWith(`${marker}-${i}`)).length).toBe(1);
    // The processes started before the crash are the ones recorded: nothing was started twice.
    const s = await h.state();
    const pids = Object.values(s['host-a']!.many!.nodes).map((n) => n.attributes.pid as number);
    for (const pid of survivors) expect(pids).toContain(pid);
  }, 300_000);
});
