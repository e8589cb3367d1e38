import { existsSync, readdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { openHub, type Hub } from '../../src/git/index.js';
import { makeHub, type GitFixture } from '../support/git-fixtures.js';
import { startTestGitServer } from '../support/git-server.js';

const author = { name: 'kaidu agent', email: 'kaidu@host-a' };
let h: GitFixture;
let hub: Hub;

const seed: Record<string, string> = { 'kaidu.yaml': 'branch: main\n', 'services/a.yaml': 'a: 1\n', 'services/deep/x/y.txt': 'y\n' };
// Incompressible bulk, so the clone's pack is clearly bigger than a one-file fetch's.
for (let i = 0; i < 40; i++) seed[`bulk/d${i % 5}/f${i}.txt`] = `${randomBytes(300).toString('hex')}\n`;

beforeEach(async () => {
  h = await makeHub(seed);
  hub = await openHub({ url: h.url, dataDir: join(h.dir, 'agent'), branch: 'main' });
});
afterEach(async () => h.cleanup());

const packs = (gitdir: string) =>
  readdirSync(join(gitdir, 'objects', 'pack'))
    .filter((f) => f.endsWith('.pack'))
    .map((f) => statSync(join(gitdir, 'objects', 'pack', f)).size);

describe('a remote hub (smart HTTP, git http-backend)', () => {
  it('clones bare without a checkout or an index, then fetches only what is new', async () => {
    expect(await hub.tip()).toBeUndefined();
    const first = await hub.fetch();
    expect(first).toBe(await h.tip());
    expect(await hub.tip()).toBe(first);
    expect(hub.gitdir).toBe(join(h.dir, 'agent', 'hub.git'));
    expect(existsSync(join(hub.gitdir, 'index'))).toBe(false);
    expect(readdirSync(join(h.dir, 'agent'))).toEqual(['hub.git']);
    expect(await hub.fetch()).toBe(first); // nothing new: same tip

    const before = packs(hub.gitdir);
    const second = await h.push({ 'services/a.yaml': 'a: 2\n' }, 'one file');
    expect(await hub.fetch()).toBe(second);
    const after = packs(hub.gitdir);
    expect(after.length).toBe(before.length + 1);
    // The first pack holds ~45 files; the fetch after a one-file push carries a commit, 2 trees, 1 blob.
    const newest = after.find((s) => !before.includes(s)) ?? Math.min(...after);
    expect(newest).toBeLessThan(2000);
    expect(Math.max(...before)).toBeGreaterThan(newest * 2);
  });

  it('lists changed paths between commits: added, modified, deleted, nested', async () => {
    const first = await hub.fetch();
    const second = await h.push({ 'services/a.yaml': 'a: 2\n', 'services/deep/x/z.txt': 'z\n', 'services/deep/x/y.txt': null, 'new/dir/n.yaml': 'n\n' }, 'change');
    await hub.fetch();
    expect(await hub.changedPaths(first, second)).toEqual(['new/dir/n.yaml', 'services/a.yaml', 'services/deep/x/y.txt', 'services/deep/x/z.txt']);
    expect(await hub.changedPaths(second, first)).toEqual(['new/dir/n.yaml', 'services/a.yaml', 'services/deep/x/y.txt', 'services/deep/x/z.txt']);
    expect(await hub.changedPaths(second, second)).toEqual([]);
    const all = await hub.changedPaths(undefined, first);
    expect(all).toEqual(Object.keys(seed).sort());
    // A whole folder removed lists every file under it.
    const third = await h.push({ 'services/deep/x/z.txt': null }, 'remove folder');
    await hub.fetch();
    expect(await hub.changedPaths(second, third)).toEqual(['services/deep/x/z.txt']);
  });

  it('reads files, folders and blobs at any fetched revision', async () => {
    const first = await hub.fetch();
    const second = await h.push({ 'services/a.yaml': 'a: 2\n', 'services/deep/x/y.txt': null, 'services/deep/x/z.txt': 'z\n' }, 'change');
    await hub.fetch();
    const old = hub.reader(first);
    const now = hub.reader(second);
    expect(await old.readFile('services/a.yaml')).toMatchObject({ path: 'services/a.yaml', text: 'a: 1\n' });
    expect((await now.readFile('services/a.yaml'))!.text).toBe('a: 2\n');
    expect((await now.readFile('services/a.yaml'))!.id).toMatch(/^[0-9a-f]{40}$/);
    expect((await old.readFile('services/a.yaml'))!.id).not.toBe((await now.readFile('services/a.yaml'))!.id);
    expect(await now.fileId!('services/a.yaml')).toBe((await now.readFile('services/a.yaml'))!.id);
    expect(await now.readFile('services/deep/x/y.txt')).toBeUndefined();
    expect(await now.readFile('services')).toBeUndefined();
    expect(await now.readFile('nope/nothing.yaml')).toBeUndefined();
    expect((await now.listDir('services')).map((e) => `${e.kind}:${e.name}`).sort()).toEqual(['dir:deep', 'file:a.yaml']);
    expect((await now.listDir('')).map((e) => e.name).sort()).toEqual(['bulk', 'kaidu.yaml', 'services']);
    expect(await now.listDir('missing')).toEqual([]);
    expect(Buffer.from((await hub.readBlob(second, 'services/deep/x/z.txt'))!).toString()).toBe('z\n');
    expect(Buffer.from((await hub.readBlob(first, 'services/deep/x/y.txt'))!).toString()).toBe('y\n');
    expect(await hub.readBlob(second, 'services/deep/x/y.txt')).toBeUndefined();
  });

  it('resolves branches, HEAD, full and abbreviated oids, and reports unknown revisions', async () => {
    const tip = await hub.fetch();
    expect(await hub.resolve('main')).toBe(tip);
    expect(await hub.resolve('HEAD')).toBe(tip);
    expect(await hub.resolve(tip)).toBe(tip);
    expect(await hub.resolve(tip.slice(0, 8))).toBe(tip);
    await expect(hub.resolve('no-such-branch')).rejects.toMatchObject({ code: 'E_GIT_NOT_FOUND' });
    await expect(hub.resolve('0123456789abcdef0123456789abcdef01234567')).rejects.toMatchObject({ code: 'E_GIT_NOT_FOUND' });
  });

  it('commits and pushes only the change, with trailers, on top of the tip; a native clone sees it', async () => {
    const tip = await hub.fetch();
    const res = await hub.commitAndPush({
      files: { 'state/host-a/web.yaml': 'nodes: {}\n' },
      message: 'kaidu(host-a): apply web',
      author,
      trailers: { 'Kaidu-Host': 'host-a', 'Kaidu-Revision': tip },
    });
    expect(res.retries).toBe(0);
    expect(res.oid).toMatch(/^[0-9a-f]{40}$/);
    expect(await h.tip()).toBe(res.oid);
    expect(await hub.tip()).toBe(res.oid);
    const [last] = await h.log();
    expect(last).toMatchObject({ oid: res.oid, parents: [tip], subject: 'kaidu(host-a): apply web', author });
    expect(last!.message).toContain(`\n\nKaidu-Host: host-a\nKaidu-Revision: ${tip}\n`);
    expect(await h.show('state/host-a/web.yaml')).toBe('nodes: {}\n');
    expect(await h.files()).toEqual([...Object.keys(seed), 'state/host-a/web.yaml'].sort());
    expect(await hub.changedPaths(tip, res.oid!)).toEqual(['state/host-a/web.yaml']);
    const info = await hub.commitMessage(res.oid!);
    expect(info).toMatchObject({ parents: [tip], trailers: { 'Kaidu-Host': 'host-a', 'Kaidu-Revision': tip }, author: { name: author.name, email: author.email } });

    // Same content again: no commit, nothing pushed.
    expect(await hub.commitAndPush({ files: { 'state/host-a/web.yaml': 'nodes: {}\n' }, message: 'again', author })).toEqual({ oid: undefined, retries: 0 });
    expect(await h.tip()).toBe(res.oid);
    // Deleting a file that is not there is a no-op too.
    expect((await hub.commitAndPush({ files: { 'state/host-a/none.yaml': null }, message: 'noop', author })).oid).toBeUndefined();

    // Modify and delete in one commit; the emptied folder disappears.
    const del = await hub.commitAndPush({ files: { 'state/host-a/web.yaml': null, 'services/a.yaml': 'a: 3\n' }, message: 'remove', author });
    expect(await h.files()).toEqual(Object.keys(seed).sort());
    expect(await h.show('services/a.yaml')).toBe('a: 3\n');
    expect(await hub.changedPaths(res.oid, del.oid!)).toEqual(['services/a.yaml', 'state/host-a/web.yaml']);
    // The hub's own fsck is happy with what we wrote.
    const { execFile } = await import('node:child_process');
    await new Promise<void>((resolve, reject) => execFile('git', ['fsck', '--strict', '--no-dangling'], { cwd: h.gitdir }, (err) => (err ? reject(err) : resolve())));
  });

  it('starts an empty hub with a root commit', async () => {
    const t = await startTestGitServer();
    onTestFinished(() => t.cleanup());
    const empty = await openHub({ url: await t.createRepo('empty.git'), dataDir: join(t.dir, 'agent'), branch: 'main' });
    await expect(empty.fetch()).rejects.toMatchObject({ code: 'E_GIT_NOT_FOUND', message: expect.stringContaining('no branch "main"') });
    const res = await empty.commitAndPush({ files: { 'kaidu.yaml': 'branch: main\n' }, message: 'init', author });
    expect(res.oid).toBeDefined();
    expect(await empty.fetch()).toBe(res.oid);
    expect((await empty.commitMessage(res.oid!)).parents).toEqual([]);
  });
});

describe('the first clone, indexed by Kaidu', () => {
  it('leaves a mirror native git finds whole (the index is the one git index-pack writes), and every file reads back', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { readFile } = await import('node:fs/promises');
    const exec = promisify(execFile);
    const tip = await hub.fetch();
    const dir = join(hub.gitdir, 'objects', 'pack');
    const pack = readdirSync(dir).find((f) => f.endsWith('.pack'))!;
    await exec('git', ['index-pack', '-o', join(h.dir, 'native.idx'), join(dir, pack)]);
    expect(Buffer.compare(await readFile(join(dir, pack.replace(/\.pack$/, '.idx'))), await readFile(join(h.dir, 'native.idx')))).toBe(0);
    await exec('git', ['--git-dir', hub.gitdir, 'fsck', '--full', '--no-dangling']);
    expect((await exec('git', ['--git-dir', hub.gitdir, 'rev-parse', 'refs/heads/main', 'refs/remotes/origin/main'])).stdout.split('\n').filter(Boolean)).toEqual([tip, tip]);
    // the first pass's reads (from the clone's objects), then the same reads again (from the pack)
    const reader = hub.reader(tip);
    for (let round = 0; round < 2; round++) for (const [path, text] of Object.entries(seed)) expect((await reader.readFile(path))?.text).toBe(text);
    // and later fetches build on it
    const second = await h.push({ 'services/a.yaml': 'a: 3\n' }, 'again');
    expect(await hub.fetch()).toBe(second);
    expect((await hub.reader(second).readFile('services/a.yaml'))?.text).toBe('a: 3\n');
  });
});
