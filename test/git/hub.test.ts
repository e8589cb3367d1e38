import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openHub } from '../../src/git/index.js';
import { createBareRepo, startHubServer, type HubServer, type PushNotice } from '../../src/git/hub-server.js';

const exec = promisify(execFile);
let dir: string;
let server: HubServer;
let pushes: PushNotice[];
const author = { name: 'kaidu agent', email: 'kaidu@host-a' };

const git = (cwd: string, ...args: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd });

async function nativePush(files: Record<string, string | null>, message: string): Promise<string> {
  const work = await mkdtemp(join(dir, 'w-'));
  await git(dir, 'clone', '-q', server.repoUrl('hub.git'), work);
  for (const [p, c] of Object.entries(files)) {
    if (c === null) await git(work, 'rm', '-q', p);
    else {
      await mkdir(join(work, p, '..'), { recursive: true });
      await writeFile(join(work, p), c);
    }
  }
  await git(work, 'add', '-A');
  await git(work, 'commit', '-qm', message);
  await git(work, 'push', '-q', 'origin', 'HEAD:main');
  return (await git(work, 'rev-parse', 'HEAD')).stdout.trim();
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-git-'));
  await createBareRepo(join(dir, 'repos'), 'hub.git', { files: { 'kaidu.yaml': 'branch: main\n', 'services/a.yaml': 'a: 1\n', 'services/deep/x/y.txt': 'y\n' } });
  pushes = [];
  server = await startHubServer({ root: join(dir, 'repos'), onPush: (p) => pushes.push(p) });
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('git hub over smart HTTP (git http-backend)', () => {
  it('clones without a checkout, fetches a native push, diffs trees and reads old revisions', async () => {
    const hub = await openHub({ url: server.repoUrl('hub.git'), dataDir: join(dir, 'agent'), branch: 'main' });
    const first = await hub.fetch();
    const second = await nativePush({ 'services/a.yaml': 'a: 2\n', 'services/deep/x/z.txt': 'z\n', 'services/deep/x/y.txt': null }, 'change');
    expect(await hub.fetch()).toBe(second);
    expect(await hub.changedPaths(first, second)).toEqual(['services/a.yaml', 'services/deep/x/y.txt', 'services/deep/x/z.txt']);
    expect((await hub.reader(first).readFile('services/a.yaml'))!.text).toBe('a: 1\n');
    expect((await hub.reader(second).readFile('services/a.yaml'))!.text).toBe('a: 2\n');
    expect(await hub.reader(second).readFile('services/deep/x/y.txt')).toBeUndefined();
    expect((await hub.reader(second).listDir('services')).map((e) => `${e.kind}:${e.name}`).sort()).toEqual(['dir:deep', 'file:a.yaml']);
    expect(Buffer.from((await hub.readBlob(second, 'services/deep/x/z.txt'))!).toString()).toBe('z\n');
    expect(await hub.resolve(second.slice(0, 10))).toBe(second);
    expect(pushes.map((p) => p.after)).toContain(second);
  });

  it('commits only the changed files, with trailers, seen by a native clone', async () => {
    const hub = await openHub({ url: server.repoUrl('hub.git'), dataDir: join(dir, 'agent'), branch: 'main' });
    const tip = await hub.fetch();
    const res = await hub.commitAndPush({ files: { 'state/host-a/web.yaml': 'nodes: {}\n' }, message: 'kaidu(host-a): apply', author, trailers: { 'Kaidu-Host': 'host-a' } });
    expect(res).toMatchObject({ retries: 0 });
    const work = join(dir, 'check');
    await git(dir, 'clone', '-q', server.repoUrl('hub.git'), work);
    expect((await git(work, 'rev-parse', 'HEAD')).stdout.trim()).toBe(res.oid);
    expect((await git(work, 'rev-parse', 'HEAD^')).stdout.trim()).toBe(tip);
    expect((await git(work, 'show', 'HEAD:state/host-a/web.yaml')).stdout).toBe('nodes: {}\n');
    expect((await git(work, 'log', '-1', '--format=%(trailers:key=Kaidu-Host,valueonly)')).stdout.trim()).toBe('host-a');
    expect((await git(work, 'show', '--name-only', '--format=', 'HEAD')).stdout.trim()).toBe('state/host-a/web.yaml');
    expect((await hub.commitInfo(res.oid!)).trailers).toEqual({ 'Kaidu-Host': 'host-a' });
    // Same content again: no commit.
    expect((await hub.commitAndPush({ files: { 'state/host-a/web.yaml': 'nodes: {}\n' }, message: 'again', author })).oid).toBeUndefined();
  });

  it('rebuilds on the new tip when someone pushed first, and 5 concurrent writers lose nothing', { timeout: 120_000 }, async () => {
    const hubs = await Promise.all([0, 1, 2, 3, 4].map((i) => openHub({ url: server.repoUrl('hub.git'), dataDir: join(dir, `agent-${i}`), branch: 'main' })));
    await Promise.all(hubs.map((h) => h.fetch()));
    await nativePush({ 'services/b.yaml': 'b\n' }, 'someone else');
    const results = await Promise.all(hubs.map((h, i) => h.commitAndPush({ files: { [`state/h${i}/s.yaml`]: `${i}\n` }, message: `h${i}`, author }, { maxRetries: 10 })));
    expect(results.some((r) => r.retries > 0)).toBe(true);
    const work = join(dir, 'check');
    await git(dir, 'clone', '-q', server.repoUrl('hub.git'), work);
    const { stdout } = await git(work, 'ls-files');
    for (let i = 0; i < 5; i++) expect(stdout).toContain(`state/h${i}/s.yaml`);
    expect(stdout).toContain('services/b.yaml');
  });

  it('reports an unreachable hub clearly, and works again when it is back', async () => {
    const hub = await openHub({ url: server.repoUrl('hub.git'), dataDir: join(dir, 'agent'), branch: 'main' });
    await hub.fetch();
    server.setDown(true);
    await expect(hub.fetch()).rejects.toMatchObject({ code: 'E_GIT_UNREACHABLE' });
    server.setDown(false);
    expect(await hub.fetch()).toMatch(/^[0-9a-f]{40}$/);
    const closed = await openHub({ url: 'http://127.0.0.1:9/hub.git', dataDir: join(dir, 'nowhere'), branch: 'main' });
    await expect(closed.fetch()).rejects.toMatchObject({ code: 'E_GIT_UNREACHABLE' });
  });

  it('keeps a token out of error messages', async () => {
    process.env.KAIDU_TEST_TOKEN = 'tok-very-secret-123';
    const hub = await openHub({ url: server.repoUrl('missing.git'), dataDir: join(dir, 'agent'), branch: 'main', auth: { tokenEnv: 'KAIDU_TEST_TOKEN' } });
    const err = await hub.fetch().catch((e: Error) => e);
    expect(String((err as Error).message)).not.toContain('tok-very-secret-123');
    delete process.env.KAIDU_TEST_TOKEN;
  });

  it('opens a local hub directly and swaps its ref safely', async () => {
    const hub = await openHub({ url: join(dir, 'repos', 'hub.git'), dataDir: join(dir, 'unused'), branch: 'main' });
    const tip = await hub.fetch();
    const res = await hub.commitAndPush({ files: { 'state/x/y.yaml': 'y\n' }, message: 'local', author });
    expect(res.oid).toBeDefined();
    expect((await git(join(dir, 'repos', 'hub.git'), 'rev-parse', 'main')).stdout.trim()).toBe(res.oid);
    expect((await hub.commitInfo(res.oid!)).parents).toEqual([tip]);
  });
});
