/**
 * The mirror's first fetch of a branch, when it has nothing yet: one upload-pack request for the
 * branch tip, the pack indexed with node's zlib (pack-index.ts) instead of isomorphic-git's
 * JavaScript inflater, and the objects kept in memory for the first pass's reads. Later fetches
 * (which announce what the mirror has, and may receive thin packs) stay isomorphic-git's.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HttpClient } from 'isomorphic-git';
import { KaiduError } from '../errors/kaidu-error.js';
import { httpStatusError } from './errors.js';
import { indexPack, type PackObjectType } from './pack-index.js';
import { phaseClock, type Phases } from './phase-clock.js';

export interface UploadPackTarget {
  http: HttpClient;
  url: string;
  headers: Record<string, string>;
}

/** Objects of a first clone, by id, until the next fetch: what the first pass reads. */
export type ClonedObjects = Map<string, { type: PackObjectType; data: Buffer }>;

/** Blob content kept for the first pass (each handed out once): beyond it, blobs are read from the pack as usual. */
const KEEP_BYTES = 64 * 1024 * 1024;
/** A pack bigger than this is left to isomorphic-git (which streams nothing either, but is the reference). */
const MAX_PACK = 1024 * 1024 * 1024;

function pktLine(s: string): Buffer {
  const data = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0'), 'ascii'), data]);
}

async function collect(body: AsyncIterableIterator<Uint8Array> | undefined, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  if (body) {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > limit) throw new KaiduError('E_GIT', `the hub's answer is larger than ${limit} bytes`);
      parts.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(parts);
}

async function send(t: UploadPackTarget, path: string, method: 'GET' | 'POST', what: string, body?: Buffer, headers: Record<string, string> = {}) {
  const res = await t.http.request({
    url: `${t.url.replace(/\/+$/, '')}/${path}`,
    method,
    headers: { 'user-agent': 'git/kaidu', ...t.headers, ...headers },
    ...(body ? { body: [body] as unknown as AsyncIterableIterator<Uint8Array> } : {}),
  });
  if (res.statusCode !== 200) {
    await collect(res.body, MAX_PACK).catch(() => undefined);
    throw httpStatusError(res.statusCode, res.statusMessage, what);
  }
  return res;
}

async function request(t: UploadPackTarget, path: string, method: 'GET' | 'POST', what: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Buffer> {
  return collect((await send(t, path, method, what, body, headers)).body, MAX_PACK + 1024 * 1024);
}

/**
 * The pack in an upload-pack answer (NAK, then the pack on side-band 1; band 2 is progress,
 * band 3 an error), taken out of its pkt-lines as the chunks arrive, into one buffer: the answer
 * itself is never held whole beside the pack.
 */
async function receivePack(body: AsyncIterableIterator<Uint8Array> | undefined): Promise<Buffer> {
  let pack = Buffer.allocUnsafe(256 * 1024);
  let size = 0;
  const append = (data: Buffer) => {
    if (size + data.length > pack.length) {
      if (size + data.length > MAX_PACK) throw new KaiduError('E_GIT', `the hub's pack is larger than ${MAX_PACK} bytes`);
      const bigger = Buffer.allocUnsafe(Math.min(MAX_PACK, Math.max(pack.length * 2, size + data.length)));
      pack.copy(bigger, 0, 0, size);
      pack = bigger;
    }
    data.copy(pack, size);
    size += data.length;
  };
  let acked = false;
  let rest: Buffer = Buffer.alloc(0);
  let received = 0;
  for await (const chunk of body ?? []) {
    received += chunk.byteLength;
    if (received > MAX_PACK + 1024 * 1024) throw new KaiduError('E_GIT', `the hub's answer is larger than ${MAX_PACK + 1024 * 1024} bytes`);
    const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    while (at + 4 <= buf.length) {
      const len = Number.parseInt(buf.toString('latin1', at, at + 4), 16);
      if (Number.isNaN(len) || (len > 0 && len < 4)) throw new KaiduError('E_GIT', 'the hub sent a malformed pkt-line');
      if (len === 0) {
        at += 4;
        continue;
      }
      if (at + len > buf.length) break;
      const payload = buf.subarray(at + 4, at + len);
      at += len;
      if (!acked) {
        const line = payload.toString('utf8').trim();
        if (line === 'NAK' || line.startsWith('ACK')) {
          acked = true;
          continue;
        }
        if (line.startsWith('ERR ')) throw new KaiduError('E_GIT', `the hub refused the fetch: ${line.slice(4)}`);
      }
      const band = payload[0];
      if (band === 1) append(payload.subarray(1));
      else if (band === 3) throw new KaiduError('E_GIT', `the hub failed the fetch: ${payload.subarray(1).toString('utf8').trim()}`);
    }
    // At most one unfinished pkt-line (< 64 KiB) waits for the next chunk.
    rest = Buffer.from(buf.subarray(at));
  }
  if (rest.length > 0) throw new KaiduError('E_GIT', 'the hub sent a malformed pkt-line (its answer ends inside one)');
  return pack.subarray(0, size);
}

/** pkt-lines from `at`: each payload with where the next starts; a flush is an empty payload. */
function* pktLines(buf: Buffer, at = 0): Generator<{ payload: Buffer | undefined; next: number }> {
  while (at + 4 <= buf.length) {
    const len = Number.parseInt(buf.toString('ascii', at, at + 4), 16);
    if (Number.isNaN(len) || (len > 0 && len < 4) || at + Math.max(len, 4) > buf.length) throw new KaiduError('E_GIT', 'the hub sent a malformed pkt-line');
    if (len === 0) {
      at += 4;
      yield { payload: undefined, next: at };
      continue;
    }
    yield { payload: buf.subarray(at + 4, at + len), next: at + len };
    at += len;
  }
}

/** The branch's tip and the server's capabilities, from the upload-pack advertisement; tip undefined when there is no such branch. */
async function advertised(t: UploadPackTarget, branch: string): Promise<{ tip: string | undefined; caps: Set<string> }> {
  const body = await request(t, 'info/refs?service=git-upload-pack', 'GET', 'asking the hub for its refs');
  const caps = new Set<string>();
  let tip: string | undefined;
  let first = true;
  let seen = false;
  for (const { payload } of pktLines(body)) {
    if (!payload) continue;
    const line = payload.toString('utf8').replace(/\n$/, '');
    seen = true;
    if (line.startsWith('# service=')) continue;
    const [head, capList] = line.split('\0') as [string, string | undefined];
    if (first && capList !== undefined) for (const c of capList.trim().split(' ')) if (c) caps.add(c);
    first = false;
    const [oid, ref] = head.split(' ');
    if (ref === `refs/heads/${branch}` && oid && /^[0-9a-f]{40}$/.test(oid)) tip = oid;
  }
  // An empty repository advertises no ref at all (not even capabilities): no branch yet.
  if (!seen) throw new KaiduError('E_GIT', 'the hub did not answer as a smart-HTTP git server (empty upload-pack advertisement)');
  return { tip, caps };
}

/**
 * Fetches `branch` into an empty bare mirror: writes the pack and its index under `objects/pack`
 * (index last, so a reader never finds an index without its pack). The tip, or undefined when
 * the hub has no such branch; undefined `objects` when the server cannot send what this needs
 * (the caller then fetches with isomorphic-git).
 */
export async function firstClone(t: UploadPackTarget, gitdir: string, branch: string): Promise<{ tip: string | undefined; objects?: ClonedObjects; supported: boolean; phases: Phases }> {
  const phases: Phases = {};
  const phase = phaseClock(phases);
  const { tip, caps } = await advertised(t, branch);
  phase('advertise');
  if (!tip) return { tip: undefined, supported: true, phases };
  if (!caps.has('side-band-64k') || !caps.has('ofs-delta')) return { tip, supported: false, phases };
  const wants = ['side-band-64k', 'ofs-delta', 'no-progress', ...([...caps].some((c) => c.startsWith('agent=')) ? ['agent=kaidu'] : [])];
  const body = Buffer.concat([pktLine(`want ${tip} ${wants.join(' ')}\n`), Buffer.from('0000', 'ascii'), pktLine('done\n')]);
  const res = await send(t, 'git-upload-pack', 'POST', 'fetching from the hub', body, {
    'content-type': 'application/x-git-upload-pack-request',
    accept: 'application/x-git-upload-pack-result',
  });
  const pack = await receivePack(res.body);
  phase('receive');
  const indexed = indexPack(pack, { keepBytes: KEEP_BYTES });
  if (indexed.types.get(tip) !== 'commit') throw new KaiduError('E_GIT', `the hub sent a pack without the commit its branch ${branch} points at`);
  phase('index');
  const dir = join(gitdir, 'objects', 'pack');
  await mkdir(dir, { recursive: true });
  const base = join(dir, `pack-${indexed.sha}`);
  const put = async (file: string, data: Buffer) => {
    const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(tmp, data);
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  };
  await put(`${base}.pack`, pack);
  await put(`${base}.idx`, indexed.idx);
  phase('write');
  return { tip, objects: indexed.objects, supported: true, phases };
}
