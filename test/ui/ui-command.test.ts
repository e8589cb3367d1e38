import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, webService } from '../support/agent-harness.js';
import { createBareRepo, startHubServer, type HubServer } from '../../src/git/hub-server.js';
import type { UiSnapshot } from '../../src/ui/snapshot.js';

const exec = promisify(execFile);
const git = (cwd: string, ...args: string[]) => exec('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd });

const stateFile = (status: string, error?: string) => `schema: kaidu/state/v1
host: host-a
service: web
revision: ${'a'.repeat(40)}
updatedAt: 2026-11-24T07:00:00.000Z
nodes:
  web:
    type: kaidu:Process
    status: ${status}
    fingerprint: sha256:x
    revision: ${'a'.repeat(40)}
    appliedAt: 2026-11-24T07:00:00.000Z
${error ? `    error: ${JSON.stringify(error)}\n` : ''}    delegate: process
    properties: {}
    attributes: { pid: 4242 }
`;

let cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** Starts `kaidu ui ARGS` and resolves with its URL once it prints it (or rejects with its output when it exits first). */
async function startUi(args: string[]): Promise<{ url: string; proc: ChildProcess; output: () => string }> {
  const proc = spawn(process.execPath, [BIN, 'ui', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const look = (chunk: Buffer) => {
      out += String(chunk);
      const m = /kaidu ui: (http:\/\/\S+)/.exec(out) ?? /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    };
    proc.stdout!.on('data', look);
    proc.stderr!.on('data', look);
    void exited.then((code) => reject(new Error(`kaidu ui exited with ${code}:\n${out}`)));
  });
  return { url, proc, output: () => out };
}

async function snapshot(url: string, headers: Record<string, string> = {}): Promise<UiSnapshot> {
  const res = await fetch(url + 'ui/snapshot', { headers });
  expect(res.status).toBe(200);
  return (await res.json()) as UiSnapshot;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kaidu-ui-test-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('kaidu ui', () => {
  it('on a checkout: state, passes from state commits, and a "changed" event when the branch moves', async () => {
    const dir = await tempDir();
    await git(dir, 'init', '-q');
    await writeFile(join(dir, 'kaidu.yaml'), 'branch: main\n');
    await mkdir(join(dir, 'services'));
    await writeFile(join(dir, 'services', 'web.yaml'), webService('host-a', 'hi'));
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-qm', 'add the web <service>');
    const templates = (await git(dir, 'rev-parse', 'HEAD')).stdout.trim();
    await mkdir(join(dir, 'state', 'host-a'), { recursive: true });
    await writeFile(join(dir, 'state', 'host-a', 'web.yaml'), stateFile('failed', 'exited with code 1\nstderr:\n<script>alert(1)</script>'));
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-qm', `kaidu(host-a): apply ${templates.slice(0, 12)}: 2 created, 0 updated, 0 deleted, 1 FAILED\n\nKaidu-Host: host-a\nKaidu-Revision: ${templates}`);

    const ui = await startUi([dir]);
    expect(ui.output()).toMatch(/checkout .* 2 nodes on 1 hosts; live/);
    const first = await snapshot(ui.url);
    expect(first.source).toMatchObject({ kind: 'checkout', live: true });
    const web = first.nodes.find((n) => n.id === 'web/web')!;
    expect(web).toMatchObject({ status: 'failed', error: 'exited with code 1\nstderr:\n<script>alert(1)</script>', attributes: { pid: 4242 } });
    expect(first.nodes.find((n) => n.id === 'web/web-port')!.status).toBe('not recorded');
    expect(first.passes).toEqual([{ at: expect.any(String), host: 'host-a', revision: templates, message: 'add the web <service>', result: 'failed', durationMs: null, detail: `apply ${templates.slice(0, 12)}: 2 created, 0 updated, 0 deleted, 1 FAILED` }]);
    expect(first.plan!.hosts.map((h) => h.host)).toEqual(['host-a']);

    // Live: a commit moves the branch; the stream says "look again" and the next snapshot shows it.
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    const res = await fetch(ui.url + 'ui/events', { signal: abort.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const until = async (what: string) => {
      while (!text.includes(what)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${what}: ${text}`);
        text += new TextDecoder().decode(value);
      }
    };
    await until('event: hello');
    await writeFile(join(dir, 'state', 'host-a', 'web.yaml'), stateFile('running'));
    await git(dir, 'commit', '-qam', `kaidu(host-a): apply ${templates.slice(0, 12)}: 0 created, 1 updated, 0 deleted\n\nKaidu-Host: host-a\nKaidu-Revision: ${templates}`);
    await until('event: changed');
    const second = await snapshot(ui.url);
    expect(second.nodes.find((n) => n.id === 'web/web')!.status).toBe('running');
    expect(second.passes.map((p) => p.result)).toEqual(['applied', 'failed']);

    ui.proc.kill('SIGTERM');
    expect(await new Promise((r) => ui.proc.once('exit', (code) => r(code)))).toBe(0);
  }, 60_000);

  it('on a hub URL, with --api-token-file', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'hub'));
    await createBareRepo(join(dir, 'hub'), 'hub.git', { files: { 'kaidu.yaml': 'branch: main\n', 'services/web.yaml': webService('host-a', 'hi'), 'state/host-a/web.yaml': stateFile('running') } });
    const hub: HubServer = await startHubServer({ root: join(dir, 'hub') });
    cleanups.push(() => hub.close());
    await writeFile(join(dir, 'token'), 'sesame\n');
    const ui = await startUi(['--repo', hub.repoUrl('hub.git'), '--api-token-file', join(dir, 'token'), '--json']);
    expect(JSON.parse(ui.output().split('\n')[0]!)).toMatchObject({ url: ui.url, source: { kind: 'hub', live: false }, nodes: 2, hosts: 1 });
    expect((await fetch(ui.url + 'ui/snapshot')).status).toBe(401);
    expect((await fetch(ui.url)).status).toBe(401);
    const snap = await snapshot(ui.url, { authorization: 'Bearer sesame' });
    expect(snap.source).toMatchObject({ kind: 'hub', live: false, name: hub.repoUrl('hub.git') });
    expect(snap.nodes.find((n) => n.id === 'web/web')!.status).toBe('running');

    // Each event stream holds a socket: at most 64 are served at once.
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    const auth = { authorization: 'Bearer sesame' };
    const open = await Promise.all(Array.from({ length: 64 }, () => fetch(ui.url + 'ui/events', { headers: auth, signal: abort.signal })));
    expect(open.map((r) => r.status).every((c) => c === 200)).toBe(true);
    const refused = await fetch(ui.url + 'ui/events', { headers: auth });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('10');
  }, 60_000);

  it('on a hub path with state branches: the state from the branch, its state commits as passes, and the lag per host', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'hub'));
    // main also holds a stale state/ (as before state branches): the branch wins.
    await createBareRepo(join(dir, 'hub'), 'hub.git', { files: { 'kaidu.yaml': 'branch: main\n', 'services/web.yaml': webService('host-a', 'hi'), 'state/host-a/web.yaml': stateFile('failed', 'stale') } });
    const gitdir = join(dir, 'hub', 'hub.git');
    const templates = (await git(gitdir, 'rev-parse', 'main')).stdout.trim();
    const work = join(dir, 'work');
    await git(dir, 'clone', '-q', gitdir, work);
    await git(work, 'checkout', '-q', '--orphan', 'kaidu/state/host-a');
    await git(work, 'rm', '-rqf', '.');
    await mkdir(join(work, 'state', 'host-a'), { recursive: true });
    await writeFile(join(work, 'state', 'host-a', 'web.yaml'), stateFile('running'));
    await git(work, 'add', 'state');
    await git(work, 'commit', '-qm', `kaidu(host-a): apply ${templates.slice(0, 12)}: 2 created, 0 updated, 0 deleted\n\nKaidu-Host: host-a\nKaidu-Revision: ${templates}`);
    await git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/kaidu/state/host-a');
    const stateCommit = (await git(work, 'rev-parse', 'HEAD')).stdout.trim();
    // One more templates commit: host-a's state is one behind.
    await git(work, 'checkout', '-q', 'main');
    await writeFile(join(work, 'README.md'), 'more\n');
    await git(work, 'add', 'README.md');
    await git(work, 'commit', '-qm', 'docs');
    await git(work, 'push', '-q', 'origin', 'main');

    const ui = await startUi(['--repo', gitdir]);
    const snap = await snapshot(ui.url);
    expect(snap.nodes.find((n) => n.id === 'web/web')!.status).toBe('running');
    expect(snap.lag).toEqual([{ host: 'host-a', source: 'branch', stateCommit, templatesRevision: templates, behind: 1 }]);
    expect(snap.passes).toEqual([expect.objectContaining({ host: 'host-a', revision: templates, result: 'applied' })]);
  }, 60_000);

  it('a path that is not there is a usage error, before any URL is printed', async () => {
    const dir = await tempDir();
    const r = await exec(process.execPath, [BIN, 'ui', join(dir, 'nope'), '--listen', '127.0.0.1:0']).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('does not exist');
    expect(r.stdout).not.toContain('kaidu ui:');
  }, 30_000);
});
