import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import git from 'isomorphic-git';
import * as nodeFs from 'node:fs';
import { openHub } from '../../src/git/index.js';
import { parseTreeObject } from '../../src/git/tree-object.js';
import { makeHub, type GitFixture } from '../support/git-fixtures.js';

const exec = promisify(execFile);
let h: GitFixture | undefined;
let proxy: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (proxy ? proxy.close(r) : r(undefined)));
  proxy = undefined;
  await h?.cleanup();
  h = undefined;
});

/**
 * A proxy in front of the real hub that damages the answer to the first clone's upload-pack
 * request (`damage` gets the whole answer and returns what is sent instead), then lets later
 * requests through untouched.
 */
async function damagingProxy(target: string, damage: (answer: Buffer) => Buffer): Promise<{ url: string; damaged: () => number }> {
  const to = new URL(target);
  let damaged = 0;
  proxy = createServer((req, res) => {
    const up = httpRequest({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      const parts: Buffer[] = [];
      answer.on('data', (c: Buffer) => parts.push(c));
      answer.on('end', () => {
        let body: Buffer = Buffer.concat(parts);
        if (req.url?.endsWith('/git-upload-pack') && damaged === 0) {
          damaged++;
          body = damage(body);
        }
        const headers = { ...answer.headers, 'content-length': String(body.length) };
        delete headers['transfer-encoding'];
        res.writeHead(answer.statusCode ?? 502, headers);
        res.end(body);
      });
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy!.listen(0, '127.0.0.1', r));
  const port = (proxy.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}${to.pathname}`, damaged: () => damaged };
}

const seed: Record<string, string> = { 'kaidu.yaml': 'branch: main\n' };
for (let i = 0; i < 30; i++) seed[`services/d${i % 3}/f${i}.yaml`] = `value: ${i}\n${'padding line\n'.repeat(i)}`;

describe('the first clone refuses a damaged answer and indexes nothing', () => {
  const cases: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
    ['cut short inside a pkt-line', (b) => b.subarray(0, Math.floor(b.length / 2)), /malformed pkt-line \(its answer ends inside one\)/],
    // Whole pkt-lines, but the pack in them stops early (its checksum is not there).
    ['whose pack is cut short', (b) => withPack(b, (pack) => pack.subarray(0, Math.floor(pack.length / 2))), /damaged pack: its checksum does not match/],
    ['whose pack has a byte changed', (b) => withPack(b, (pack) => flip(pack, 40)), /damaged pack: its checksum does not match/],
    // A changed byte inside a compressed entry, with the trailing checksum made to match: the entry itself is refused.
    ['whose pack has a compressed entry changed (checksum recomputed)', (b) => withPack(b, (pack) => resum(flip(pack, 14))), /damaged pack: entry at 12 /],
  ];
  for (const [what, damage, error] of cases) {
    it(`an answer ${what}: E_GIT naming the damage, no pack or ref written, and the next fetch clones`, async () => {
      h = await makeHub(seed);
      const p = await damagingProxy(h.url, damage);
      const hub = await openHub({ url: p.url, dataDir: join(h.dir, 'agent'), branch: 'main' });
      await expect(hub.fetch()).rejects.toMatchObject({ code: 'E_GIT', message: expect.stringMatching(error) });
      expect(p.damaged()).toBe(1);
      const packDir = join(hub.gitdir, 'objects', 'pack');
      expect(existsSync(packDir) ? readdirSync(packDir) : []).toEqual([]);
      expect(await hub.tip()).toBeUndefined();
      // The hub answers whole again: the clone happens, and every file reads back.
      const tip = await hub.fetch();
      expect(tip).toBe(await h.tip());
      const reader = hub.reader(tip);
      for (const [path, text] of Object.entries(seed)) expect((await reader.readFile(path))?.text).toBe(text);
      await exec('git', ['--git-dir', hub.gitdir, 'fsck', '--full', '--no-dangling']);
    });
  }
});

/** An upload-pack answer (NAK, the pack on band 1, a flush) with its pack replaced by `change(pack)`, framed anew. */
function withPack(answer: Buffer, change: (pack: Buffer) => Buffer): Buffer {
  const lines: Buffer[] = [];
  const pack: Buffer[] = [];
  for (let at = 0; at < answer.length; ) {
    const len = Number.parseInt(answer.toString('latin1', at, at + 4), 16);
    if (len === 0) {
      at += 4;
      continue;
    }
    const payload = answer.subarray(at + 4, at + len);
    if (payload[0] === 1) pack.push(payload.subarray(1));
    else if (pack.length === 0) lines.push(answer.subarray(at, at + len)); // NAK
    at += len;
  }
  expect(Buffer.concat(pack).toString('latin1', 0, 4)).toBe('PACK');
  const changed = change(Buffer.concat(pack));
  for (let at = 0; at < changed.length; at += 60_000) {
    const data = Buffer.concat([Buffer.from([1]), changed.subarray(at, at + 60_000)]);
    lines.push(Buffer.from((data.length + 4).toString(16).padStart(4, '0'), 'latin1'), data);
  }
  lines.push(Buffer.from('0000'));
  return Buffer.concat(lines);
}

function flip(pack: Buffer, at: number): Buffer {
  const out = Buffer.from(pack);
  out[at] ^= 0x55;
  return out;
}

/** The pack with its trailing SHA-1 made to match its (changed) content. */
function resum(pack: Buffer): Buffer {
  const body = pack.subarray(0, pack.length - 20);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

describe('trees read from the objects a first clone received', () => {
  it('are the entries isomorphic-git reads (modes, order, kinds); unusual trees are left to isomorphic-git', async () => {
    h = await makeHub({ 'kaidu.yaml': 'branch: main\n' });
    const g = (...args: string[]) => exec('git', args, { cwd: h!.gitdir });
    const blob = (await exec('sh', ['-c', `printf 'x\\n' | git hash-object -w --stdin`], { cwd: h.gitdir })).stdout.trim();
    const inner = (await exec('sh', ['-c', `printf '100644 blob ${blob}\\ta\\n' | git mktree`], { cwd: h.gitdir })).stdout.trim();
    const commit = (await g('rev-parse', 'refs/heads/main')).stdout.trim();
    // Every kind of entry, names that sort differently as folders ("a-b" < "a/" < "a0" in git's order, not in readTree's).
    const listing = [
      `100644 blob ${blob}\tz.yaml`,
      `100755 blob ${blob}\trun.sh`,
      `120000 blob ${blob}\tlink`,
      `160000 commit ${commit}\tsub`,
      `040000 tree ${inner}\ta`,
      `100644 blob ${blob}\ta-b`,
      `100644 blob ${blob}\ta0`,
      `100644 blob ${blob}\tB`,
    ].join('\n');
    const plain = (await exec('sh', ['-c', `printf '${listing}\\n' | git mktree`], { cwd: h.gitdir })).stdout.trim();
    const nonAscii = (await exec('sh', ['-c', `printf '100644 blob ${blob}\\tcaf\\303\\251\\n' | git mktree`], { cwd: h.gitdir })).stdout.trim();
    const raw = async (oid: string) => Buffer.from((await exec('git', ['cat-file', 'tree', oid], { cwd: h!.gitdir, encoding: 'buffer' })).stdout);
    const theirs = async (oid: string) => (await git.readTree({ fs: nodeFs, gitdir: h!.gitdir, oid })).tree;
    expect(parseTreeObject(await raw(plain))).toEqual(await theirs(plain));
    expect(parseTreeObject(await raw(inner))).toEqual(await theirs(inner));
    expect(parseTreeObject(await raw(nonAscii))).toBeUndefined();
    for (const name of ['.git', '.GIT.', 'git~1', 'a:b', 'a\\b']) {
      const tree = Buffer.concat([Buffer.from(`100644 ${name}\0`, 'latin1'), Buffer.from(blob, 'hex')]);
      expect(parseTreeObject(tree)).toBeUndefined();
    }
    expect(parseTreeObject(Buffer.concat([Buffer.from('100600 odd\0'), Buffer.from(blob, 'hex')]))).toBeUndefined();
    expect(parseTreeObject(Buffer.from('100644 cut\0abc'))).toBeUndefined();
  });

  it('a first clone of a tree with a non-ASCII name reads as isomorphic-git reads it', async () => {
    h = await makeHub({ 'kaidu.yaml': 'branch: main\n', 'services/café.yaml': 'a: 1\n', 'services/b.yaml': 'b: 1\n' });
    const hub = await openHub({ url: h.url, dataDir: join(h.dir, 'agent'), branch: 'main' });
    const tip = await hub.fetch();
    const reader = hub.reader(tip);
    expect(await reader.listDir('services')).toEqual([
      { name: 'b.yaml', kind: 'file' },
      { name: 'café.yaml', kind: 'file' },
    ]);
    expect((await reader.readFile('services/café.yaml'))?.text).toBe('a: 1\n');
    expect(await hub.changedPaths(undefined, tip)).toEqual(['kaidu.yaml', 'services/b.yaml', 'services/café.yaml']);
  });

  it('the first pass reads commit, trees and blobs from the objects received, not from the pack just written', async () => {
    h = await makeHub(seed);
    const hub = await openHub({ url: h.url, dataDir: join(h.dir, 'agent'), branch: 'main' });
    const tip = await hub.fetch();
    // Move the pack away: what the first pass reads must come from memory.
    const packDir = join(hub.gitdir, 'objects', 'pack');
    const aside = join(h.dir, 'aside');
    renameSync(packDir, aside);
    mkdirSync(packDir);
    const reader = hub.reader(tip);
    expect(await hub.changedPaths(undefined, tip)).toEqual(Object.keys(seed).sort());
    expect((await reader.listDir('services')).map((e) => e.name)).toEqual(['d0', 'd1', 'd2']);
    for (const [path, text] of Object.entries(seed)) expect((await reader.readFile(path))?.text).toBe(text);
    // Each blob is handed out once: a second read goes to the pack, which is not there now.
    await expect(reader.readFile('kaidu.yaml')).rejects.toMatchObject({ code: 'E_GIT_NOT_FOUND' });
    rmSync(packDir, { recursive: true });
    renameSync(aside, packDir);
    expect((await reader.readFile('kaidu.yaml'))?.text).toBe(seed['kaidu.yaml']);
  });
});
