/**
 * Smart-HTTP transport: isomorphic-git's node client with an idle timeout, and our own
 * receive-pack push.
 *
 * Why our own push: isomorphic-git's `push` lists every object reachable from the new commit
 * and from the merge base to work out what to send (two full tree walks: 20,000 object reads
 * on a 10,000-file repository), and when the remote moved it walks the whole history before
 * finding out the push is not a fast-forward. We already know exactly which objects are new
 * (the blobs, subtrees and commit we just wrote on top of the hub's tip), so we pack those and
 * send one ref update whose old value is the tip we built on. The server applies it atomically
 * (compare-and-swap on the ref) or answers `ng`, which is a rejection we retry.
 */
import { gitFs as fs } from './git-fs.js';
import git, { type HttpClient, type GitHttpRequest } from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import { KaiduError } from '../errors/kaidu-error.js';
import { httpStatusError } from './errors.js';

export const ZERO_OID = '0'.repeat(40);

/** isomorphic-git's node client, failing a request whose socket stays idle for `idleMs`. */
export function httpClient(idleMs: number): HttpClient {
  return {
    request: (req: GitHttpRequest) =>
      nodeHttp.request({ ...req, fetchOptions: { ...(req.fetchOptions ?? {}), timeout: idleMs } }),
  };
}

async function collect(body: AsyncIterableIterator<Uint8Array> | undefined): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

function pktLine(payload: string | Buffer): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0'), 'ascii'), data]);
}

const FLUSH = Buffer.from('0000', 'ascii');

/** The payloads of a pkt-line stream (flush packets are dropped). */
function* readPktLines(buf: Buffer): Generator<Buffer> {
  let at = 0;
  while (at + 4 <= buf.length) {
    const len = Number.parseInt(buf.subarray(at, at + 4).toString('ascii'), 16);
    if (Number.isNaN(len)) throw new KaiduError('E_GIT', 'the hub sent a malformed pkt-line');
    if (len < 4) {
      at += 4; // 0000 flush, 0001 delim, 0002 response-end
      continue;
    }
    yield buf.subarray(at + 4, at + len);
    at += len;
  }
}

export interface ReceivePackAdvertisement {
  refs: Map<string, string>;
  capabilities: Set<string>;
}

export interface PushTarget {
  http: HttpClient;
  url: string;
  headers: Record<string, string>;
}

function endpoint(url: string, path: string): string {
  return `${url.replace(/\/+$/, '')}/${path}`;
}

async function send(target: PushTarget, req: Omit<GitHttpRequest, 'url'> & { path: string }, what: string) {
  const res = await target.http.request({ ...req, url: endpoint(target.url, req.path), headers: { 'user-agent': 'git/kaidu', ...target.headers, ...req.headers } });
  if (res.statusCode !== 200) {
    await collect(res.body).catch(() => undefined);
    throw httpStatusError(res.statusCode, res.statusMessage, what);
  }
  return collect(res.body);
}

/** The hub's refs as receive-pack advertises them (what a push would update, and from which value). */
export async function advertiseReceivePack(target: PushTarget): Promise<ReceivePackAdvertisement> {
  const body = await send(target, { path: 'info/refs?service=git-receive-pack', method: 'GET' }, 'asking the hub for its refs');
  const refs = new Map<string, string>();
  const capabilities = new Set<string>();
  let first = true;
  for (const raw of readPktLines(body)) {
    const line = raw.toString('utf8').replace(/\n$/, '');
    if (line.startsWith('# service=')) continue;
    const [head, caps] = line.split('\0') as [string, string | undefined];
    if (first && caps !== undefined) for (const c of caps.trim().split(' ')) if (c) capabilities.add(c);
    first = false;
    const [oid, ref] = head.split(' ');
    if (oid && ref && oid !== ZERO_OID) refs.set(ref, oid);
  }
  if (first) throw new KaiduError('E_GIT', 'the hub did not answer as a smart-HTTP git server (empty receive-pack advertisement)');
  return { refs, capabilities };
}

export type ReceivePackResult = { ok: true } | { ok: false; reason: string };

/**
 * Send `oids` (objects the hub does not have) and move `ref` from `oldOid` to `newOid`.
 * `{ ok: false }` means the hub refused the update (its ref moved); transport and protocol
 * failures throw.
 */
export async function receivePack(
  target: PushTarget,
  gitdir: string,
  cache: object,
  update: { ref: string; oldOid: string; newOid: string; oids: string[] },
  capabilities: Set<string>,
): Promise<ReceivePackResult> {
  // Ask only for what the server offers (some servers abort on an unknown capability, even `agent`).
  if (!capabilities.has('report-status')) throw new KaiduError('E_GIT', 'the hub does not offer report-status, so a push result could not be known');
  const caps = ['report-status', ...(capabilities.has('side-band-64k') ? ['side-band-64k'] : []), ...([...capabilities].some((c) => c.startsWith('agent=')) ? ['agent=kaidu'] : [])];
  const { packfile } = await git.packObjects({ fs, gitdir, oids: update.oids, cache, write: false });
  const body = Buffer.concat([
    pktLine(`${update.oldOid} ${update.newOid} ${update.ref}\0${caps.join(' ')}\n`),
    FLUSH,
    Buffer.from(packfile ?? new Uint8Array()),
  ]);
  const res = await send(
    target,
    {
      path: 'git-receive-pack',
      method: 'POST',
      headers: {
        'content-type': 'application/x-git-receive-pack-request',
        accept: 'application/x-git-receive-pack-result',
      },
      // An array body is sent as one buffer with a Content-Length.
      body: [body] as unknown as AsyncIterableIterator<Uint8Array>,
    },
    'pushing to the hub',
  );
  let report: Buffer;
  if (caps.includes('side-band-64k')) {
    const data: Buffer[] = [];
    for (const pkt of readPktLines(res)) {
      const band = pkt[0];
      if (band === 1) data.push(pkt.subarray(1));
      else if (band === 3) throw new KaiduError('E_GIT', `the hub failed the push: ${pkt.subarray(1).toString('utf8').trim()}`);
    }
    report = Buffer.concat(data);
  } else {
    report = res;
  }
  const lines = [...readPktLines(report)].map((l) => l.toString('utf8').replace(/\n$/, ''));
  const unpack = lines.find((l) => l.startsWith('unpack '));
  if (unpack && unpack !== 'unpack ok') throw new KaiduError('E_GIT', `the hub could not store the pushed objects (${unpack})`);
  for (const l of lines) {
    if (l === `ok ${update.ref}`) return { ok: true };
    if (l.startsWith(`ng ${update.ref} `)) return { ok: false, reason: l.slice(`ng ${update.ref} `.length) };
  }
  throw new KaiduError('E_GIT', `the hub sent no status for ${update.ref} (${lines.join('; ') || 'empty report'})`);
}
