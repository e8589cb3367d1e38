import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openHub } from '../../src/git/index.js';
import { splitUrlCredentials } from '../../src/git/remote-url.js';
import { makeHub, type GitFixture } from '../support/git-fixtures.js';

let h: GitFixture | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

/** Every file below `dir` (the whole data dir: mirror, objects, refs, config, logs). */
async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesBelow(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe('credentials in the hub URL', () => {
  it('are split off the URL, kept as written otherwise', () => {
    expect(splitUrlCredentials('https://user:t%40k@git.example:8443/o/r.git')).toEqual({ url: 'https://git.example:8443/o/r.git', credentials: { username: 'user', password: 't@k' } });
    expect(splitUrlCredentials('https://TOKEN@git.example/o/r.git')).toEqual({ url: 'https://git.example/o/r.git', credentials: { username: 'TOKEN', password: '' } });
    expect(splitUrlCredentials('https://git.example/o/r.git?x=a@b')).toEqual({ url: 'https://git.example/o/r.git?x=a@b' });
  });

  it('authenticate clone, fetch and push, and never reach a file of the data dir (config is private)', async () => {
    const token = `tok-${Math.random().toString(36).slice(2)}-secret`;
    h = await makeHub({ 'kaidu.yaml': 'branch: main\n' }, { token });
    const withCreds = h.url.replace('http://', `http://kaidu:${token}@`);
    const dataDir = join(h.dir, 'agent');
    // The server answers 401 without the token: the URL's credentials are what authenticates.
    await expect(openHub({ url: h.url, dataDir: join(h.dir, 'anon'), branch: 'main' }).then((x) => x.fetch())).rejects.toMatchObject({ code: 'E_GIT_AUTH' });
    const hub = await openHub({ url: withCreds, dataDir, branch: 'main' });
    const first = await hub.fetch();
    const pushed = await hub.commitAndPush({ files: { 'state/host-a/web.yaml': 'x: 1\n' }, message: 'state', author: { name: 'a', email: 'a@b' } });
    expect(pushed.oid).toBeDefined();
    await h.push({ 'services/web.yaml': 'y: 1\n' }, 'someone else');
    expect(await hub.fetch()).not.toBe(first);
    expect(await h.tip()).toBe(await hub.fetch());

    // A reopened mirror (the agent restarted) works the same and still writes nothing secret.
    const again = await openHub({ url: withCreds, dataDir, branch: 'main' });
    await again.fetch();

    const encoded = Buffer.from(`kaidu:${token}`).toString('base64');
    const files = await filesBelow(dataDir);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const bytes = await readFile(f);
      expect(bytes.includes(token), f).toBe(false);
      expect(bytes.includes(encoded), f).toBe(false);
    }
    const config = join(dataDir, 'hub.git', 'config');
    expect(await readFile(config, 'utf8')).toContain(`url = ${h.url}`);
    expect((await stat(config)).mode & 0o777).toBe(0o600);
  });

  it('a mirror written with the token in its config is cleaned when opened', async () => {
    const token = `tok-${Math.random().toString(36).slice(2)}-old`;
    h = await makeHub({ 'kaidu.yaml': 'branch: main\n' }, { token });
    const withCreds = h.url.replace('http://', `http://kaidu:${token}@`);
    const dataDir = join(h.dir, 'agent');
    const hub = await openHub({ url: withCreds, dataDir, branch: 'main' });
    await hub.fetch();
    const { writeFile } = await import('node:fs/promises');
    const config = join(dataDir, 'hub.git', 'config');
    await writeFile(config, (await readFile(config, 'utf8')).replace(`url = ${h.url}`, `url = ${withCreds}`), { mode: 0o644 });
    expect(await readFile(config, 'utf8')).toContain(token);
    await (await openHub({ url: withCreds, dataDir, branch: 'main' })).fetch();
    expect(await readFile(config, 'utf8')).not.toContain(token);
  });
});
