import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openHub } from '../../src/git/index.js';
import { createBareRepo } from '../../src/git/hub-server.js';

const exec = promisify(execFile);
const author = { name: 'kaidu agent', email: 'kaidu@example.invalid' };
const git = async (cwd: string, ...args: string[]) => (await exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd })).stdout.trim();
let dir: string;
let gitdir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-git-local-'));
  gitdir = await createBareRepo(join(dir, 'repos'), 'hub.git', { files: { 'kaidu.yaml': 'branch: main\n', 'services/a.yaml': 'a: 1\n' } });
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function nativeCommit(files: Record<string, string>, message: string): Promise<string> {
  const work = await mkdtemp(join(dir, 'w-'));
  await git(dir, 'clone', '-q', gitdir, work);
  for (const [p, c] of Object.entries(files)) await writeFile(join(work, p), c);
  await git(work, 'add', '-A');
  await git(work, 'commit', '-qm', message);
  await git(work, 'push', '-q', 'origin', 'HEAD:main');
  return git(work, 'rev-parse', 'HEAD');
}

describe('a hub on the local filesystem (opened directly)', () => {
  it('fetches by reading the ref and commits by swapping it', async () => {
    const hub = await openHub({ url: gitdir, dataDir: join(dir, 'unused'), branch: 'main' });
    expect(hub.gitdir).toBe(gitdir);
    const tip = await hub.fetch();
    expect(tip).toBe(await git(gitdir, 'rev-parse', 'main'));
    const res = await hub.commitAndPush({ files: { 'state/h/s.yaml': 'y\n' }, message: 'local', author, trailers: { 'Kaidu-Host': 'h' } });
    expect(await git(gitdir, 'rev-parse', 'main')).toBe(res.oid);
    expect(await git(gitdir, 'show', 'main:state/h/s.yaml')).toBe('y');
    expect(await git(gitdir, 'log', '-1', '--format=%(trailers:key=Kaidu-Host,valueonly)', 'main')).toBe('h');
    expect((await hub.commitMessage(res.oid!)).parents).toEqual([tip]);
    await git(gitdir, 'fsck', '--strict', '--no-dangling');
    // A native push in between: a local hub's tip is its live ref, so we build on their commit.
    const theirs = await nativeCommit({ 'services/b.yaml': 'b\n' }, 'native');
    expect(await hub.tip()).toBe(theirs);
    const again = await hub.commitAndPush({ files: { 'state/h/s.yaml': 'z\n' }, message: 'local 2', author });
    expect((await hub.commitMessage(again.oid!)).parents).toEqual([theirs]);
    expect(await git(gitdir, 'rev-parse', 'main')).toBe(again.oid);
    expect(await git(gitdir, 'ls-tree', '-r', '--name-only', 'main')).toBe(['kaidu.yaml', 'services/a.yaml', 'services/b.yaml', 'state/h/s.yaml'].join('\n'));
  });

  it('treats a held ref lock as a rejection and gives up after the retries', async () => {
    const hub = await openHub({ url: gitdir, dataDir: join(dir, 'unused'), branch: 'main' });
    const tip = await hub.fetch();
    // A packed ref (after git gc) is read and swapped just the same.
    await git(gitdir, 'pack-refs', '--all');
    await writeFile(join(gitdir, 'refs', 'heads', 'main.lock'), '');
    await expect(hub.commitAndPush({ files: { 'x.yaml': 'x\n' }, message: 'm', author }, { maxRetries: 1 })).rejects.toMatchObject({ code: 'E_GIT_PUSH_REJECTED' });
    expect(await git(gitdir, 'rev-parse', 'main')).toBe(tip);
    await rm(join(gitdir, 'refs', 'heads', 'main.lock'));
    const res = await hub.commitAndPush({ files: { 'x.yaml': 'x\n' }, message: 'm', author });
    expect(await git(gitdir, 'rev-parse', 'main')).toBe(res.oid);
  });

  it('five writers on the same local hub lose nothing', async () => {
    const hubs = await Promise.all([0, 1, 2, 3, 4].map(() => openHub({ url: gitdir, dataDir: join(dir, 'unused'), branch: 'main' })));
    await Promise.all(hubs.map((h) => h.fetch()));
    // Races between reading the ref and swapping it are settled by the lock and the re-read.
    await Promise.all(hubs.map((h, i) => h.commitAndPush({ files: { [`state/h${i}/s.yaml`]: `${i}\n` }, message: `h${i}`, author }, { maxRetries: 30 })));
    const files = await git(gitdir, 'ls-tree', '-r', '--name-only', 'main');
    for (let i = 0; i < 5; i++) expect(files).toContain(`state/h${i}/s.yaml`);
    expect(await git(gitdir, 'rev-list', '--count', 'main')).toBe('6');
  });

  it('opens a non-bare repository through its .git folder, and HEAD as the branch', async () => {
    const work = join(dir, 'checkout');
    await git(dir, 'clone', '-q', gitdir, work);
    const hub = await openHub({ url: work, dataDir: join(dir, 'unused'), branch: 'HEAD' });
    expect(hub.gitdir).toBe(join(work, '.git'));
    const head = await git(work, 'rev-parse', 'HEAD');
    expect(await hub.fetch()).toBe(head);
    expect(await hub.resolve('HEAD')).toBe(head);
    expect(await hub.resolve('origin/main')).toBe(head);
    expect((await hub.reader(head).readFile('services/a.yaml'))!.text).toBe('a: 1\n');
  });
});
