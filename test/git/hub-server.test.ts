import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGitServer, type TestGitServer } from '../support/git-server.js';

const exec = promisify(execFile);
const git = async (cwd: string, ...args: string[]) => (await exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd })).stdout.trim();
let t: TestGitServer | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

function post(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the hub server (git http-backend on 127.0.0.1)', () => {
  it('serves native clone and push, and reports pushes', async () => {
    t = await startTestGitServer();
    const url = await t.createRepo('hub.git', { 'README.md': 'hello\n', 'a/b.txt': 'b\n' });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hub\.git$/);
    const work = join(t.dir, 'work');
    await git(t.dir, 'clone', '-q', url, work);
    expect(await git(work, 'show', 'HEAD:a/b.txt')).toBe('b');
    const before = await git(work, 'rev-parse', 'HEAD');
    await exec('sh', ['-c', 'echo c > c.txt'], { cwd: work });
    await git(work, 'add', '-A');
    await git(work, 'commit', '-qm', 'c');
    await git(work, 'push', '-q', 'origin', 'HEAD:main');
    const after = await git(work, 'rev-parse', 'HEAD');
    expect(await git(join(t.root, 'hub.git'), 'rev-parse', 'main')).toBe(after);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.pushes).toEqual([{ repo: 'hub.git', ref: 'refs/heads/main', before, after }]);
  });

  it('accepts a gzip-encoded request body', async () => {
    t = await startTestGitServer();
    const url = await t.createRepo('hub.git', { 'README.md': 'hello\n' });
    const tip = await git(join(t.root, 'hub.git'), 'rev-parse', 'main');
    const pkt = (s: string) => (s.length + 4).toString(16).padStart(4, '0') + s;
    const body = gzipSync(Buffer.from(`${pkt(`want ${tip}\n`)}0000${pkt('done\n')}`));
    const res = await post(`${url}/git-upload-pack`, body, { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-git-upload-pack-result');
    expect(res.body.includes(Buffer.from('PACK'))).toBe(true);
  });

  it('answers 503 while down, 404 for a missing repository, 401 without the token', async () => {
    t = await startTestGitServer({ token: 'sekrit' });
    const url = await t.createRepo('hub.git', { 'README.md': 'hello\n' });
    const ls = (...args: string[]) => exec('git', [...args, 'ls-remote', url], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    await expect(ls()).rejects.toThrow(/401|Authentication failed|could not read Username/i);
    expect((await ls('-c', 'http.extraHeader=Authorization: Bearer sekrit')).stdout).toContain('refs/heads/main');
    t.server.setDown(true);
    await expect(ls('-c', 'http.extraHeader=Authorization: Bearer sekrit')).rejects.toThrow(/503/);
    t.server.setDown(false);
    await expect(exec('git', ['-c', 'http.extraHeader=Authorization: Bearer sekrit', 'ls-remote', t.server.repoUrl('nope.git')])).rejects.toThrow(/not found|404/i);
  });
});
