import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { headCommit } from '../../src/git/head-commit.js';
import { tempDir } from '../support/temp-dir.js';

const exec = promisify(execFile);
const git = async (cwd: string, ...args: string[]) => (await exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd })).stdout.trim();

async function repoWithCommit(): Promise<{ dir: string; oid: string }> {
  const dir = tempDir('kaidu-head-');
  await git(dir, 'init', '-q', '-b', 'main');
  await writeFile(join(dir, 'a'), 'a\n');
  await git(dir, 'add', 'a');
  await git(dir, 'commit', '-qm', 'one');
  return { dir, oid: await git(dir, 'rev-parse', 'HEAD') };
}

describe('headCommit (HEAD read from git\'s files)', () => {
  it('agrees with git rev-parse: loose ref, packed ref, detached HEAD, a symbolic ref to a symbolic ref', async () => {
    const { dir, oid } = await repoWithCommit();
    expect(await headCommit(dir)).toEqual({ oid });
    await git(dir, 'pack-refs', '--all');
    expect(await headCommit(dir)).toEqual({ oid });
    await git(dir, 'symbolic-ref', 'refs/heads/alias', 'refs/heads/main');
    await git(dir, 'symbolic-ref', 'HEAD', 'refs/heads/alias');
    expect(await headCommit(dir)).toEqual({ oid });
    await writeFile(join(dir, 'b'), 'b\n');
    await git(dir, 'add', 'b');
    await git(dir, 'commit', '-qm', 'two');
    const second = await git(dir, 'rev-parse', 'HEAD');
    await git(dir, 'checkout', '-q', '--detach', oid);
    expect(await headCommit(dir)).toEqual({ oid });
    await git(dir, 'checkout', '-q', 'main');
    expect(await headCommit(dir)).toEqual({ oid: second });
  });

  it('a branch with no commit yet is unborn; a .git file pointing elsewhere is followed', async () => {
    const dir = tempDir('kaidu-head-');
    await git(dir, 'init', '-q', '-b', 'main');
    expect(await headCommit(dir)).toEqual({ unborn: true });
    const work = tempDir('kaidu-head-work-');
    const store = tempDir('kaidu-head-git-');
    await git(work, 'init', '-q', '-b', 'main', '--separate-git-dir', join(store, 'g'));
    await writeFile(join(work, 'a'), 'a\n');
    await git(work, 'add', 'a');
    await git(work, 'commit', '-qm', 'one');
    expect(await headCommit(work)).toEqual({ oid: await git(work, 'rev-parse', 'HEAD') });
  });

  it('is unknown (never a guess) for what it does not understand', async () => {
    const dir = tempDir('kaidu-head-');
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git', 'HEAD'), 'ref: ../../etc/passwd\n');
    expect(await headCommit(dir)).toBeUndefined();
    await writeFile(join(dir, '.git', 'HEAD'), 'garbage\n');
    expect(await headCommit(dir)).toBeUndefined();
    // refs in a reftable: the branch has no file, which is not "no commit"
    await writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/.invalid\n');
    await mkdir(join(dir, '.git', 'reftable'));
    expect(await headCommit(dir)).toBeUndefined();
    const notGit = tempDir('kaidu-head-');
    await writeFile(join(notGit, '.git'), 'not a gitdir line\n');
    expect(await headCommit(notGit)).toBeUndefined();
  });
});
