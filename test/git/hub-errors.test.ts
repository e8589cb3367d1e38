import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openHub } from '../../src/git/index.js';
import { isKaiduError } from '../../src/errors/kaidu-error.js';
import { makeHub, type GitFixture } from '../support/git-fixtures.js';

const author = { name: 'kaidu agent', email: 'kaidu@example.invalid' };
const TOKEN = 'tok-VERY-secret-4242';
let h: GitFixture | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
  delete process.env.KAIDU_TEST_GIT_TOKEN;
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function memoryLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines };
}

describe('a hub that is down, missing or locked', () => {
  it('reports an outage as E_GIT_UNREACHABLE, and works again when the hub is back', async () => {
    h = await makeHub();
    const hub = await openHub({ url: h.url, dataDir: join(h.dir, 'agent'), branch: 'main' });
    const tip = await hub.fetch();
    h.server.setDown(true);
    const err = await hub.fetch().catch((e: unknown) => e);
    expect(isKaiduError(err, 'E_GIT_UNREACHABLE')).toBe(true);
    expect((err as Error).message).toMatch(/fetching main from the hub: the hub is not available \(HTTP 503/);
    await expect(hub.commitAndPush({ files: { 'state/a.yaml': 'a\n' }, message: 'm', author })).rejects.toMatchObject({ code: 'E_GIT_UNREACHABLE' });
    // Reads need no network.
    expect(await hub.tip()).toBe(tip);
    expect((await hub.reader(tip).readFile('kaidu.yaml'))!.text).toBe('branch: main\n');
    h.server.setDown(false);
    expect(await hub.fetch()).toBe(tip);
    expect((await hub.commitAndPush({ files: { 'state/a.yaml': 'a\n' }, message: 'm', author })).oid).toBe(await h.tip());
  });

  it('reports a refused connection as E_GIT_UNREACHABLE without crashing', async () => {
    h = await makeHub();
    const port = await closedPort();
    const hub = await openHub({ url: `http://127.0.0.1:${port}/hub.git`, dataDir: join(h.dir, 'nowhere'), branch: 'main' });
    const err = await hub.fetch().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_GIT_UNREACHABLE', message: expect.stringContaining('ECONNREFUSED') });
    expect((err as { hint?: string }).hint).toBeTruthy();
  });

  it('gives up on a hub that accepts connections but never answers (E_GIT_UNREACHABLE)', async () => {
    h = await makeHub();
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((sock) => void sockets.push(sock)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const { port } = silent.address() as { port: number };
      const hub = await openHub({ url: `http://127.0.0.1:${port}/hub.git`, dataDir: join(h.dir, 'silent'), branch: 'main', idleTimeoutMs: 300 });
      await expect(hub.fetch()).rejects.toMatchObject({ code: 'E_GIT_UNREACHABLE', message: expect.stringMatching(/timed out/i) });
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('reports a missing repository as E_GIT_NOT_FOUND, and a local path that is no repository', async () => {
    h = await makeHub();
    const hub = await openHub({ url: h.server.repoUrl('missing.git'), dataDir: join(h.dir, 'agent'), branch: 'main' });
    await expect(hub.fetch()).rejects.toMatchObject({ code: 'E_GIT_NOT_FOUND' });
    await expect(openHub({ url: h.dir, dataDir: join(h.dir, 'x'), branch: 'main' })).rejects.toMatchObject({ code: 'E_GIT_NOT_FOUND' });
  });

  it('authenticates with a token from the environment or a file, and never shows it', async () => {
    h = await makeHub({ 'kaidu.yaml': 'branch: main\n' }, { token: TOKEN });
    const { logger, lines } = memoryLogger();
    process.env.KAIDU_TEST_GIT_TOKEN = TOKEN;
    const hub = await openHub({ url: h.url, dataDir: join(h.dir, 'agent'), branch: 'main', auth: { tokenEnv: 'KAIDU_TEST_GIT_TOKEN' }, logger });
    expect(await hub.fetch()).toBe(await h.tip());
    await h.push({ 'services/b.yaml': 'b\n' }, 'someone else');
    const res = await hub.commitAndPush({ files: { 'state/a.yaml': 'a\n' }, message: 'with token', author });
    expect(res).toMatchObject({ retries: 1 });
    expect(await h.tip()).toBe(res.oid);

    const tokenFile = join(h.dir, 'token');
    await writeFile(tokenFile, `${TOKEN}\n`);
    const fromFile = await openHub({ url: h.url, dataDir: join(h.dir, 'agent-2'), branch: 'main', auth: { tokenFile } });
    expect(await fromFile.fetch()).toBe(res.oid);

    // A wrong token: E_GIT_AUTH, and neither token in the message, the cause or the log.
    process.env.KAIDU_TEST_GIT_TOKEN = `${TOKEN}-wrong`;
    const wrong = await openHub({ url: h.url, dataDir: join(h.dir, 'agent-3'), branch: 'main', auth: { tokenEnv: 'KAIDU_TEST_GIT_TOKEN' }, logger });
    const errors = [
      await wrong.fetch().catch((e: unknown) => e),
      await wrong.commitAndPush({ files: { 'x.yaml': 'x\n' }, message: 'm', author }).catch((e: unknown) => e),
    ];
    for (const err of errors) {
      expect(err).toMatchObject({ code: 'E_GIT_AUTH' });
      const everything = JSON.stringify({ m: (err as Error).message, s: (err as Error).stack, c: String((err as Error).cause), cs: ((err as Error).cause as Error | undefined)?.stack });
      expect(everything).not.toContain(TOKEN);
    }
    // No token at all.
    const none = await openHub({ url: h.url, dataDir: join(h.dir, 'agent-4'), branch: 'main' });
    await expect(none.fetch()).rejects.toMatchObject({ code: 'E_GIT_AUTH' });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain(TOKEN);
    expect(lines.join('')).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString('base64'));
  });

  it('fails clearly when the token variable is unset or the file is missing', async () => {
    await expect(openHub({ url: 'http://127.0.0.1:1/x.git', dataDir: '/tmp/unused', branch: 'main', auth: { tokenEnv: 'KAIDU_TEST_GIT_TOKEN' } })).rejects.toMatchObject({
      code: 'E_GIT_AUTH',
      message: expect.stringContaining('KAIDU_TEST_GIT_TOKEN'),
    });
    await expect(openHub({ url: 'http://127.0.0.1:1/x.git', dataDir: '/tmp/unused', branch: 'main', auth: { tokenFile: '/nonexistent/token' } })).rejects.toMatchObject({ code: 'E_GIT_AUTH' });
  });
});
