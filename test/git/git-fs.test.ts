/**
 * The caching fs given to isomorphic-git: answers kept while their folders are unchanged, and a
 * pack or loose object added by native git seen at once.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openHub } from '../../src/git/index.js';
import { gitFsStats } from '../../src/git/git-fs.js';
import { tempDir } from '../support/temp-dir.js';

const exec = promisify(execFile);

/** Moves the mtime of every folder under the object store into the past, as in a repository nobody just wrote. */
async function age(dir: string): Promise<void> {
  const old = new Date(Date.now() - 60_000);
  for (const e of await readdir(dir, { withFileTypes: true })) if (e.isDirectory()) await age(join(dir, e.name));
  await utimes(dir, old, old);
}

describe('git fs cache', () => {
  it('reads every blob of a packed hub with few listings, and sees what native git adds later', async () => {
    const root = tempDir('kaidu-gitfs-');
    const work = join(root, 'work');
    const hubDir = join(root, 'hub.git');
    const git = (cwd: string, ...args: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd });
    await mkdir(join(work, 'files'), { recursive: true });
    for (let i = 0; i < 200; i++) await writeFile(join(work, 'files', `f${i}.txt`), `file ${i}\n`);
    await git(root, 'init', '-q', '-b', 'main', work);
    await git(work, 'add', '-A');
    await git(work, 'commit', '-qm', 'one');
    await git(root, 'clone', '-q', '--bare', '--no-local', work, hubDir); // packed, as a real hub's objects mostly are
    await age(join(hubDir, 'objects'));

    const hub = await openHub({ url: hubDir, dataDir: join(root, 'data'), branch: 'main' });
    const head = await hub.resolve('main');
    const reader = hub.reader(head);
    const before = { ...gitFsStats };
    for (let i = 0; i < 200; i++) expect((await reader.readFile(`files/f${i}.txt`))?.text).toBe(`file ${i}\n`);
    // Every blob is packed: each loose probe is answered from the listings, which were read a few times only.
    expect(gitFsStats.looseProbesAnswered - before.looseProbesAnswered).toBeGreaterThanOrEqual(200);
    expect(gitFsStats.readdirs - before.readdirs).toBeLessThan(10);

    // Native git adds a commit (loose objects) and then a pack: both are read at once.
    await writeFile(join(work, 'files', 'new.txt'), 'new\n');
    await git(work, 'add', '-A');
    await git(work, 'commit', '-qm', 'two');
    await git(work, 'push', '-q', hubDir, 'main');
    const second = await hub.resolve('main');
    expect(second).not.toBe(head);
    expect((await hub.reader(second).readFile('files/new.txt'))?.text).toBe('new\n');
    await writeFile(join(work, 'files', 'newer.txt'), 'newer\n');
    await git(work, 'add', '-A');
    await git(work, 'commit', '-qm', 'three');
    await git(work, 'push', '-q', hubDir, 'main');
    await git(hubDir, 'repack', '-q', '-a', '-d');
    const third = await hub.resolve('main');
    expect((await hub.reader(third).readFile('files/newer.txt'))?.text).toBe('newer\n');
    expect((await hub.reader(third).readFile('files/f7.txt'))?.text).toBe('file 7\n');
  });
});
