/**
 * The agent keeps track of the truth through a hub outage, a hub that keeps refusing pushes,
 * templates with errors, a damaged state file of its own, and credentials in the hub URL.
 * Real agents (child processes), a real git http-backend hub, real managed processes.
 */
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHubServer } from '../../src/git/hub-server.js';
import { startHarness, webService, type Harness, type RunningAgent, metric } from '../support/agent-harness.js';

const KAIDU_YAML = 'branch: main\n';
const FAST_RETRY = ['--retry-base-ms', '100', '--retry-max-ms', '800'];

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Status {
  ready: boolean;
  hubReachable: boolean;
  revision: string | null;
  lastPass: { result: string; error?: string; skippedServices?: string[]; diagnostics?: { file: string; line: number; column: number; code: string }[] } | null;
  hubRetry: { attempts: number; scheduled: boolean } | null;
  stateRepairs: { file: string; service: string; error: string; nodes: number }[];
}

const status = async (a: RunningAgent) => (await (await fetch(`${a.url}/status`)).json()) as Status;
const readyz = async (a: RunningAgent) => (await fetch(`${a.url}/readyz`)).status;

/** Stops the hub's HTTP server (connections refused from now on); the returned function starts it again on the same port. */
async function stopHub(harness: Harness): Promise<() => Promise<void>> {
  const port = Number(new URL(harness.url).port);
  await harness.hub.close();
  return async () => {
    harness.hub = await startHubServer({ root: join(harness.dir, 'hub'), port });
  };
}

/** `h.push`, again on top of the new tip when the agent pushed first (it reacts to the previous push). */
async function pushRacing(harness: Harness, files: Record<string, string>, message: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await harness.push(files, message);
    } catch (err) {
      if (attempt >= 10 || !/rejected|fetch first/.test((err as Error).message)) throw err;
    }
  }
}

/** host-a's web service once its process runs: its nodes as the hub records them. */
function webRunning(harness: Harness) {
  return harness.until('running', async () => {
    const n = (await harness.state())['host-a']?.web?.nodes;
    return n?.web?.status === 'running' ? n : undefined;
  });
}

async function served(port: number): Promise<string | undefined> {
  return fetch(`http://127.0.0.1:${port}/`).then((r) => r.text()).catch(() => undefined);
}

describe('agent: hub outage recovery', () => {
  it('a process that died and a commit made while the hub was stopped both reach the hub once it is back, with no event', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web.yaml': webService('host-a', 'before') });
    const a = await h.startAgent('host-a', FAST_RETRY);
    await h.waitReady(a);
    const first = await webRunning(h);
    const port = first['web-port']!.attributes.port as number;
    h.relay = false; // from here on no webhook at all: recovery must come from the agent itself
    const restart = await stopHub(h);
    process.kill(first.web!.attributes.pid as number, 'SIGKILL');
    const rev = await h.push({ 'services/web.yaml': webService('host-a', 'after the outage') }, 'changed during the outage', { behindTheServer: true });
    const down = await h.until('the pass the outage interrupted', async () => {
      const s = await status(a);
      return s.lastPass?.result === 'error' && s.hubRetry && s.hubRetry.attempts > 0 ? s : undefined;
    });
    expect(down.hubReachable).toBe(false);
    expect(down.lastPass!.error).toMatch(/cannot be reached/);
    expect(await readyz(a)).toBe(503);
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);

    await restart();
    await h.until('the commit made during the outage applied', async () => {
      const n = (await h!.state())['host-a']?.web?.nodes.web;
      return n?.revision === rev && n.status === 'running';
    }, 60_000);
    const log = (await h.log()).join('\n');
    expect(log).toContain('record exit of web/web');
    expect(await served(port)).toBe('after the outage');
    await h.until('ready again', async () => (await readyz(a)) === 200);
    const after = await status(a);
    expect(after.hubReachable).toBe(true);
    expect(after.hubRetry).toBeNull();
    // Recovery, not polling: once the hub answered, no retry is armed and none runs.
    const retries = await metric(a.url, 'kaidu_hub_retries_total');
    expect(retries).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await metric(a.url, 'kaidu_hub_retries_total')).toBe(retries);
  }, 120_000);

  it('an agent started while the hub is down is not ready; once the hub is back it applies, pushes and becomes ready', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web.yaml': webService('host-a', 'late start') });
    h.relay = false;
    const restart = await stopHub(h);
    const a = await h.startAgent('host-a', FAST_RETRY);
    await h.until('the first pass failed', async () => {
      const s = await fetch(`${a.url}/status`).then((r) => r.json() as Promise<Status>).catch(() => undefined);
      return s?.lastPass?.result === 'error';
    });
    expect(await readyz(a)).toBe(503);
    const body = (await (await fetch(`${a.url}/readyz`)).json()) as { reason: string };
    expect(body.reason).toMatch(/the last pass failed/);
    await restart();
    await h.until('state pushed', async () => (await h!.state())['host-a']?.web?.nodes.web?.status === 'running', 60_000);
    await h.until('ready', async () => (await readyz(a)) === 200);
    expect((await status(a)).lastPass?.result).toMatch(/applied|unchanged|irrelevant|noop/);
  }, 120_000);

  it('a hub that keeps refusing the push: the state is pushed once it accepts again, nothing dropped', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web.yaml': webService('host-a', 'refused') });
    h.relay = false;
    const gitdir = join(h.dir, 'hub', 'hub.git');
    const flag = join(h.dir, 'refuse-pushes');
    await writeFile(flag, '');
    const hook = join(gitdir, 'hooks', 'pre-receive');
    await mkdir(join(gitdir, 'hooks'), { recursive: true });
    await writeFile(hook, `#!/bin/sh\nif [ -e '${flag}' ]; then echo 'refused for the test' >&2; exit 1; fi\nexit 0\n`);
    await chmod(hook, 0o755);
    const a = await h.startAgent('host-a', FAST_RETRY);
    const failed = await h.until('the push given up by the hub layer', async () => {
      const s = await fetch(`${a.url}/status`).then((r) => r.json() as Promise<Status>).catch(() => undefined);
      return s?.lastPass?.result === 'error' ? s : undefined;
    }, 60_000);
    expect(failed.lastPass!.error).toMatch(/rejected the push \d+ times/);
    expect((await h.state())['host-a']).toBeUndefined();
    await rm(flag);
    await h.until('the state pushed', async () => (await h!.state())['host-a']?.web?.nodes.web?.status === 'running', 60_000);
    await h.until('ready', async () => (await readyz(a)) === 200);
  }, 120_000);
});

describe('agent: what a pass reports', () => {
  it('templates with errors: the pass is failed with the diagnostics in /status and metrics; a token in --repo is written nowhere', async () => {
    const broken = `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    thing:
      type: kaidu:NoSuchType
`;
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web.yaml': webService('host-a', 'fine'), 'services/broken.yaml': broken });
    const token = `tok-${Math.random().toString(36).slice(2)}-agent`;
    const a = await h.startAgent('host-a', FAST_RETRY, h.url.replace('http://', `http://kaidu:${token}@`));
    await h.waitReady(a);
    await h.until('web running', async () => (await h!.state())['host-a']?.web?.nodes.web?.status === 'running');
    const s = await status(a);
    expect(s.lastPass?.result).toBe('failed');
    expect(s.lastPass?.skippedServices).toEqual(['broken']);
    expect(s.lastPass?.diagnostics?.[0]).toMatchObject({ file: 'services/broken.yaml', line: 5 });
    expect(await metric(a.url, 'kaidu_passes_total{result="failed"}')).toBeGreaterThanOrEqual(1);
    expect(await metric(a.url, 'kaidu_skipped_services')).toBe(1);
    const log = await readFile(a.log, 'utf8');
    expect(log.split('\n').some((l) => l.includes('"level":50') && l.includes('services/broken.yaml'))).toBe(true);
    // Still ready: the agent did its work and reports the problem.
    expect(await readyz(a)).toBe(200);

    // The token given in the URL: in no file of the data dir (mirror, journal, logs), config private.
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(dir, e.name));
        else if (e.isFile()) files.push(join(dir, e.name));
      }
    };
    await walk(a.dataDir);
    expect(files).toContain(join(a.dataDir, 'hub.git', 'config'));
    for (const f of files) expect((await readFile(f)).includes(token), f).toBe(false);
  }, 90_000);
});

describe('agent: a damaged state file of its own host', () => {
  it('is rebuilt from what runs, committed naming the damage, reported; later changes apply again', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web.yaml': webService('host-a', 'one') });
    const a = await h.startAgent('host-a', FAST_RETRY);
    await h.waitReady(a);
    const first = await webRunning(h);
    const port = first['web-port']!.attributes.port as number;
    // The host's state lives on its own branch: the damage is done there.
    await h.push({ 'state/host-a/web.yaml': 'schema: kaidu/state/v1\nhost: host-a\nnodes: [unclosed\n' }, 'a bad hand edit', { branch: 'kaidu/state/host-a' });
    const rev = await pushRacing(h, { 'services/web.yaml': webService('host-a', 'two') }, 'change after the damage');
    await h.until('the change applied', async () => {
      const n = (await h!.state())['host-a']?.web?.nodes.web;
      return n?.revision === rev && n.status === 'running';
    }, 60_000);
    expect(await served(port)).toBe('two');
    const log = (await h.log()).join('\n');
    expect(log).toMatch(/rebuild damaged state from what runs: state\/host-a\/web\.yaml \(state\/host-a\/web\.yaml:\d+:\d+ E_STATE_\w+/);
    const s = await status(a);
    expect(s.stateRepairs[0]).toMatchObject({ file: 'state/host-a/web.yaml', service: 'web', nodes: 2 });
    expect(s.stateRepairs[0]!.error).toMatch(/^state\/host-a\/web\.yaml:\d+:\d+ E_STATE_/);
    expect(await metric(a.url, 'kaidu_state_repairs_total{service="web"}')).toBe(1);
    const agentLog = await readFile(a.log, 'utf8');
    expect(agentLog.split('\n').some((l) => l.includes('"level":50') && l.includes('damaged'))).toBe(true);

    // An agent that starts on a damaged file and knows nothing of it inspects what runs.
    a.proc.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    await h.push({ 'state/host-a/web.yaml': '{{{ not yaml\n' }, 'damaged while the agent was stopped', { branch: 'kaidu/state/host-a' });
    const b = await h.startAgent('host-a', FAST_RETRY);
    await h.waitReady(b);
    const rebuilt = await h.until('rebuilt and running', async () => {
      const n = (await h!.state())['host-a']?.web?.nodes;
      return n?.web?.status === 'running' && n['web-port']?.status === 'running' ? n : undefined;
    }, 60_000);
    expect(await served(rebuilt['web-port']!.attributes.port as number)).toBe('two');
    expect((await status(b)).stateRepairs[0]).toMatchObject({ file: 'state/host-a/web.yaml', service: 'web' });
  }, 150_000);
});
