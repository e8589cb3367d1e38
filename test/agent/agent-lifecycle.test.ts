import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, webService, type Harness } from '../support/agent-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('agent lifecycle', () => {
  it('watches a hub on a local path: a push is applied with no webhook at all', async () => {
    h = await startHarness({ 'kaidu.yaml': 'branch: main\n', 'services/web.yaml': webService('host-a', 'local one') });
    h.relay = false;
    const a = await h.startAgent('host-a', [], join(h.dir, 'hub', 'hub.git'));
    await h.waitReady(a);
    await h.until('first state', async () => (await h!.state())['host-a']?.web?.nodes.web?.status === 'running');
    const rev = await h.push({ 'services/web.yaml': webService('host-a', 'local two') }, 'change');
    await h.until('change applied through the watcher', async () => (await h!.state())['host-a']?.web?.nodes.web?.revision === rev);
  }, 300_000);

  it('records a managed process that exits, and serves /status, /metrics, /healthz and POST /sync', async () => {
    h = await startHarness({ 'kaidu.yaml': 'branch: main\n', 'services/web.yaml': webService('host-a', 'x') });
    const a = await h.startAgent('host-a');
    await h.waitReady(a);
    const st = await h.until('running', async () => (await h!.state())['host-a']?.web?.nodes.web);
    const pid = st.attributes.pid as number;
    process.kill(pid, 'SIGKILL');
    const after = await h.until('the exit recorded in the hub', async () => {
      const n = (await h!.state())['host-a']?.web?.nodes.web;
      return n && n.status !== 'running' ? n : undefined;
    });
    expect(after.status).toBe('failed');
    expect(after.error).toMatch(/exited with signal SIGKILL/);
    expect((await h.log()).join('\n')).toContain('record exit of web/web');

    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    const status = (await (await fetch(`${a.url}/status`)).json()) as { host: string; nodes: { node: string; status: string }[] };
    expect(status.host).toBe('host-a');
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    for (const m of ['kaidu_passes_total', 'kaidu_pass_duration_seconds_bucket', 'kaidu_events_total{source="exit"}', 'kaidu_push_retries_total', 'kaidu_nodes{status="failed"}']) expect(metrics).toContain(m);
    expect((await fetch(`${a.url}/sync`, { method: 'POST' })).status).toBe(401);
    // A manual sync restarts what stopped.
    expect((await fetch(`${a.url}/sync`, { method: 'POST', headers: { authorization: `Bearer ${h.secret}` } })).status).toBe(202);
    const again = await h.until('restarted by the sync', async () => {
      const n = (await h!.state())['host-a']?.web?.nodes.web;
      return n?.status === 'running' && n.attributes.pid !== pid ? n : undefined;
    });
    expect(alive(again.attributes.pid as number)).toBe(true);
  }, 300_000);

  it('SIGTERM stops the agent; the processes it manages keep running', async () => {
    h = await startHarness({ 'kaidu.yaml': 'branch: main\n', 'services/web.yaml': webService('host-a', 'x') });
    const a = await h.startAgent('host-a');
    await h.waitReady(a);
    const st = await h.until('running', async () => (await h!.state())['host-a']?.web?.nodes.web);
    a.proc.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(alive(st.attributes.pid as number)).toBe(true);
    // A new agent re-adopts it rather than starting another.
    const b = await h.startAgent('host-a');
    await h.waitReady(b);
    const status = (await (await fetch(`${b.url}/status`)).json()) as { nodes: { node: string; status: string; attributes: { pid?: number } }[] };
    expect(status.nodes.find((n) => n.node === 'web')).toMatchObject({ status: 'running', attributes: { pid: st.attributes.pid } });
  }, 300_000);
});
