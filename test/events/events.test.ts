import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { buildWebhookApp, PassQueue, signGithub, watchRepository, type RepoEvent } from '../../src/events/index.js';

const exec = promisify(execFile);
const SECRET = 's3cret';
const push = JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: 'a'.repeat(40) });

async function app(events: RepoEvent[], bodyLimit?: number) {
  return buildWebhookApp({ branch: 'main', secrets: { github: SECRET, gitlab: SECRET, gitea: SECRET, generic: SECRET }, onEvent: (e) => events.push(e), ...(bodyLimit ? { bodyLimit } : {}) });
}

const gh = (body: string, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url: '/hooks/github',
  payload: body,
  headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signGithub(body, SECRET), ...headers },
});

describe('webhooks', () => {
  it('GitHub: a good signature is accepted once; bad, short or missing ones get 401', async () => {
    const events: RepoEvent[] = [];
    const a = await app(events);
    const ok = await a.inject(gh(push, { 'x-github-delivery': 'd1' }));
    expect(ok.statusCode).toBe(202);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ source: 'github', ref: 'refs/heads/main', after: 'a'.repeat(40), deliveryId: 'd1' });
    expect((await a.inject(gh(push, { 'x-github-delivery': 'd1' }))).json()).toEqual({ duplicate: true });
    expect((await a.inject(gh(push, { 'x-hub-signature-256': 'sha256=' + createHmac('sha256', 'nope').update(push).digest('hex') }))).statusCode).toBe(401);
    expect((await a.inject(gh(push, { 'x-hub-signature-256': 'sha256=abc' }))).statusCode).toBe(401);
    const missing = gh(push);
    delete (missing.headers as Record<string, string>)['x-hub-signature-256'];
    expect((await a.inject(missing)).statusCode).toBe(401);
    // A body changed after signing fails: the HMAC is over the raw bytes.
    expect((await a.inject({ ...gh(push), payload: push.replace('main', 'main ') })).statusCode).toBe(401);
    expect(events).toHaveLength(1);
  });

  it('GitHub: ping, other branches, other events, malformed JSON, too large', async () => {
    const events: RepoEvent[] = [];
    const a = await app(events, 1000);
    expect((await a.inject(gh('{}', { 'x-github-event': 'ping' }))).json()).toEqual({ ok: true, pong: true });
    const other = JSON.stringify({ ref: 'refs/heads/dev', after: 'b'.repeat(40) });
    expect((await a.inject(gh(other))).json()).toMatchObject({ accepted: false });
    expect((await a.inject(gh(push, { 'x-github-event': 'issues' }))).json()).toMatchObject({ accepted: false });
    const bad = await a.inject(gh('{"ref": '));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/malformed JSON/);
    const big = JSON.stringify({ ref: 'refs/heads/main', pad: 'x'.repeat(5000) });
    expect((await a.inject(gh(big))).statusCode).toBe(413);
    expect(events).toHaveLength(0);
  });

  it('GitLab token, Gitea signature, generic bearer token and body schema', async () => {
    const events: RepoEvent[] = [];
    const a = await app(events);
    const gl = (token: string) => a.inject({ method: 'POST', url: '/hooks/gitlab', payload: push, headers: { 'content-type': 'application/json', 'x-gitlab-token': token, 'x-gitlab-event': 'Push Hook' } });
    expect((await gl(SECRET)).statusCode).toBe(202);
    expect((await gl('wrong')).statusCode).toBe(401);
    const gt = (sig: string) => a.inject({ method: 'POST', url: '/hooks/gitea', payload: push, headers: { 'content-type': 'application/json', 'x-gitea-signature': sig, 'x-gitea-event': 'push' } });
    expect((await gt(createHmac('sha256', SECRET).update(push).digest('hex'))).statusCode).toBe(202);
    expect((await gt('00')).statusCode).toBe(401);
    const gen = (token: string, body: string) => a.inject({ method: 'POST', url: '/hooks/generic', payload: body, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
    expect((await gen(SECRET, JSON.stringify({ after: 'c'.repeat(40) }))).statusCode).toBe(202);
    expect((await gen('nope', '{}')).statusCode).toBe(401);
    expect((await gen(SECRET, JSON.stringify({ after: 'not a sha' }))).statusCode).toBe(400);
    expect(events.map((e) => e.source)).toEqual(['gitlab', 'gitea', 'generic']);
  });

  it('refuses a provider without a secret, over a real socket', async () => {
    const a = await buildWebhookApp({ branch: 'main', secrets: {}, onEvent: () => undefined });
    await a.listen({ host: '127.0.0.1', port: 0 });
    const port = (a.server.address() as { port: number }).port;
    const res = await fetch(`http://127.0.0.1:${port}/hooks/github`, { method: 'POST', body: push, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(404);
    await a.close();
  });
});

describe('PassQueue', () => {
  it('a burst of 100 events gives at most 3 passes, the last on the newest event', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new PassQueue(async (e) => {
      seen.push(e.after!);
      if (seen.length === 1) await gate;
    });
    for (let i = 0; i < 100; i++) q.push({ source: 'github', after: String(i), receivedAt: '' });
    release();
    await q.idle();
    expect(seen.length).toBeLessThanOrEqual(3);
    expect(seen.at(-1)).toBe('99');
    expect(q.coalesced).toBe(98);
  });

  it('a failing pass does not stop the next', async () => {
    const seen: string[] = [];
    const q = new PassQueue(async (e) => {
      seen.push(e.after!);
      if (e.after === 'a') throw new Error('boom');
    });
    q.push({ source: 'sync', after: 'a', receivedAt: '' });
    q.push({ source: 'sync', after: 'b', receivedAt: '' });
    await q.idle();
    expect(seen).toEqual(['a', 'b']);
    await q.close();
    q.push({ source: 'sync', after: 'c', receivedAt: '' });
    await q.idle();
    expect(seen).toEqual(['a', 'b']);
  });
});

describe('watchRepository', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports commits; after events settle, re-reading the ref gives the last commit', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kaidu-watch-'));
    const git = (...args: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: dir });
    await git('init', '-q', '-b', 'main');
    await git('commit', '-q', '--allow-empty', '-m', 'one');
    const events: RepoEvent[] = [];
    let notify: () => void = () => undefined;
    const w = await watchRepository({ path: dir, branch: 'main', onEvent: (e) => { events.push(e); notify(); } });
    const got = new Promise<void>((r) => (notify = r));
    await git('commit', '-q', '--allow-empty', '-m', 'two');
    await git('commit', '-q', '--allow-empty', '-m', 'three');
    await got;
    const { stdout } = await git('rev-parse', 'main');
    const onDisk = (await readFile(join(dir, '.git', 'refs', 'heads', 'main'), 'utf8')).trim();
    expect(onDisk).toBe(stdout.trim());
    expect(events[0]!.source).toBe('watch');
    await w.close();
  });
});
