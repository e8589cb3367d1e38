/**
 * Per-host state branches over a real git http-backend hub: creating a host's branch, a foreign
 * commit on it, fetching only the branches wanted out of many, and the lag of a templates revision.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitsBehind, openHub, readStateBranches, stateBranch, hostOfStateBranch, type Hub } from '../../src/git/index.js';
import { makeHub, type GitFixture } from '../support/git-fixtures.js';

const exec = promisify(execFile);
const author = { name: 'kaidu agent', email: 'kaidu@h1' };
let h: GitFixture;
let hub: Hub;

const git = async (cwd: string, ...args: string[]) => (await exec('git', ['-c', 'user.name=Other', '-c', 'user.email=o@example.invalid', ...args], { cwd })).stdout.trim();

beforeEach(async () => {
  h = await makeHub({ 'kaidu.yaml': 'branch: main\n', 'services/a.yaml': 'a: 1\n' });
  hub = await openHub({ url: h.url, dataDir: join(h.dir, 'agent'), branch: 'main' });
});
afterEach(async () => h.cleanup());

/** Branches on the hub, set straight in the bare repository (one `git fast-import`): each a root commit holding one file. */
async function branchesOnHub(branches: { name: string; path: string; text: string }[]): Promise<void> {
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const stream = branches
    .map((b) => `commit refs/heads/${b.name}\ncommitter Other <o@example.invalid> 1700000000 +0000\n${data(`state of ${b.name}\n\nKaidu-Revision: ${'b'.repeat(40)}\n`)}M 100644 inline ${b.path}\n${data(b.text)}`)
    .join('');
  await new Promise<void>((resolve, reject) => {
    const child = execFile('git', ['fast-import', '--quiet'], { cwd: h.gitdir }, (err) => (err ? reject(err) : resolve()));
    child.stdin!.end(stream);
  });
}

describe('state branches on a remote hub', () => {
  it('names: kaidu/state/<host>, and nothing else is a state branch', () => {
    expect(stateBranch('web-1')).toBe('kaidu/state/web-1');
    expect(hostOfStateBranch('refs/heads/kaidu/state/web-1')).toBe('web-1');
    expect(hostOfStateBranch('kaidu/state/web-1')).toBe('web-1');
    expect(hostOfStateBranch('refs/heads/main')).toBeUndefined();
    expect(hostOfStateBranch('refs/heads/kaidu/state/a/b')).toBeUndefined();
    expect(hostOfStateBranch('refs/heads/kaidu/state/')).toBeUndefined();
  });

  it("the first push creates the host's branch with only its files; main is not touched; the commit records the templates revision", async () => {
    const main = await hub.fetch();
    const res = await hub.commitAndPush({ files: { 'state/h1/web.yaml': 'one\n' }, message: 'kaidu(h1): apply', author, trailers: { 'Kaidu-Host': 'h1', 'Kaidu-Revision': main } }, { branch: 'kaidu/state/h1' });
    expect(res).toMatchObject({ oid: expect.any(String), retries: 0 });
    expect(await h.tip()).toBe(main);
    expect(await git(h.gitdir, 'rev-parse', 'refs/heads/kaidu/state/h1')).toBe(res.oid);
    expect((await git(h.gitdir, 'ls-tree', '-r', '--name-only', 'kaidu/state/h1')).split('\n')).toEqual(['state/h1/web.yaml']);
    expect(await git(h.gitdir, 'rev-list', '--count', 'kaidu/state/h1')).toBe('1');
    const [tip] = await readStateBranches(hub, { hosts: ['h1'] });
    expect(tip).toMatchObject({ host: 'h1', commit: res.oid, templatesRevision: main });
    expect((await tip!.reader.readFile('state/h1/web.yaml'))?.text).toBe('one\n');
    // The second push has the first as its parent.
    const again = await hub.commitAndPush({ files: { 'state/h1/web.yaml': 'two\n' }, message: 'kaidu(h1): apply', author }, { branch: 'kaidu/state/h1' });
    expect((await hub.commitMessage(again.oid!)).parents).toEqual([res.oid]);
  });

  it('a foreign commit on the branch: the push is rejected once, rebuilt on the new tip, and keeps what the other commit added', async () => {
    const first = await hub.commitAndPush({ files: { 'state/h1/web.yaml': 'one\n' }, message: 'kaidu(h1): apply', author }, { branch: 'kaidu/state/h1' });
    // Someone else commits on h1's branch over HTTP; this hub's mirror does not know.
    const work = join(h.dir, 'foreign');
    await git(h.dir, 'clone', '-q', '-b', 'kaidu/state/h1', h.url, work);
    await exec('sh', ['-c', 'echo note > NOTE.txt'], { cwd: work });
    await git(work, 'add', 'NOTE.txt');
    await git(work, 'commit', '-qm', 'a foreign commit');
    await git(work, 'push', '-q', 'origin', 'HEAD:kaidu/state/h1');
    const foreign = await git(work, 'rev-parse', 'HEAD');
    expect(foreign).not.toBe(first.oid);

    const res = await hub.commitAndPush({ files: { 'state/h1/web.yaml': 'two\n' }, message: 'kaidu(h1): apply', author }, { branch: 'kaidu/state/h1' });
    expect(res.retries).toBe(1);
    expect((await hub.commitMessage(res.oid!)).parents).toEqual([foreign]);
    expect((await git(h.gitdir, 'ls-tree', '-r', '--name-only', 'kaidu/state/h1')).split('\n')).toEqual(['NOTE.txt', 'state/h1/web.yaml']);
    expect(await git(h.gitdir, 'show', 'kaidu/state/h1:state/h1/web.yaml')).toBe('two');
  });

  it('with 40 state branches on the hub, reading two hosts fetches those two and no other', async () => {
    await branchesOnHub([...Array.from({ length: 40 }, (_, i) => ({ name: `kaidu/state/h${i}`, path: `state/h${i}/web.yaml`, text: `host ${i}\n` })), { name: 'feature/x', path: 'x.txt', text: 'not state\n' }]);
    await hub.fetch();
    const tips = await readStateBranches(hub, { hosts: ['h3', 'h17', 'absent'] });
    expect(tips.map((t) => t.host)).toEqual(['h17', 'h3']);
    expect(tips[0]!.templatesRevision).toBe('b'.repeat(40));
    expect((await tips[1]!.reader.readFile('state/h3/web.yaml'))?.text).toBe('host 3\n');
    const mirrored = (await git(hub.gitdir, 'for-each-ref', '--format=%(refname)', 'refs/heads')).split('\n').sort();
    expect(mirrored).toEqual(['refs/heads/kaidu/state/h17', 'refs/heads/kaidu/state/h3', 'refs/heads/main']);
    // Again: same tip, still only those branches.
    expect((await readStateBranches(hub, { hosts: ['h3'] })).map((t) => t.commit)).toEqual([tips[1]!.commit]);
  });

  it('lag: commits of the templates branch since a revision, or unknown when it is not in the history', async () => {
    const r0 = await hub.fetch();
    await h.push({ 'services/a.yaml': 'a: 2\n' }, 'two');
    await h.push({ 'services/a.yaml': 'a: 3\n' }, 'three');
    const tip = await hub.fetch();
    expect(await commitsBehind(hub, r0, tip)).toBe(2);
    expect(await commitsBehind(hub, tip, tip)).toBe(0);
    expect(await commitsBehind(hub, 'c'.repeat(40), tip)).toBeNull();
    expect(await commitsBehind(hub, r0, tip, 1)).toBeNull();
  });
});

describe('state branches in a local repository', () => {
  it('lists, reads and writes them in place', async () => {
    const local = await openHub({ url: h.gitdir, dataDir: join(h.dir, 'unused'), branch: 'main' });
    const res = await local.commitAndPush({ files: { 'state/h2/db.yaml': 'db\n' }, message: 'kaidu(h2): apply', author, trailers: { 'Kaidu-Revision': await local.fetch() } }, { branch: 'kaidu/state/h2' });
    const tips = await readStateBranches(local, { fetch: false });
    expect(tips.map((t) => [t.host, t.commit])).toEqual([['h2', res.oid]]);
    await expect(local.commitAndPush({ files: { x: 'x' }, message: 'm', author }, { branch: 'kaidu/../../x' })).rejects.toMatchObject({ code: 'E_GIT' });
  });
});

describe('state branch names', () => {
  it('a safe host name whose branch git would refuse is named before anything starts', async () => {
    const { stateBranchProblem } = await import('../../src/git/index.js');
    expect(stateBranchProblem('web-1.example.com')).toBeUndefined();
    expect(stateBranchProblem('db.lock')).toMatch(/\.lock/);
    expect(stateBranchProblem('db.')).toMatch(/"\."/);
  });
});
