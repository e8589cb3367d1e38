/**
 * A real git server for tests and the demo: git's own CGI program, `git http-backend`, behind a
 * small node:http server on 127.0.0.1. It also plays the forge's part: after a push it reports the
 * ref updates (`onPush`), which the demo and tests turn into webhooks.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface PushNotice {
  repo: string;
  ref: string;
  before: string;
  after: string;
}

export interface HubServer {
  url: string;
  repoUrl(name: string): string;
  /** Answer 503 to everything while down (an outage). */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

let backendPath: Promise<string> | undefined;
function httpBackend(): Promise<string> {
  return (backendPath ??= exec('git', ['--exec-path']).then(({ stdout }) => join(stdout.trim(), 'git-http-backend')));
}

async function refs(gitdir: string): Promise<Map<string, string>> {
  const { stdout } = await exec('git', ['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads'], { cwd: gitdir }).catch(() => ({ stdout: '' }));
  return new Map(stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

export interface HubRequest {
  method: string;
  /** `git-upload-pack` (fetch), `git-receive-pack` (push), or the path for anything else. */
  service: string;
  remoteAddress: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  ms: number;
}

export interface HubServerOptions {
  /** Folder holding the bare repositories (`<root>/<name>.git`). */
  root: string;
  /** Default 127.0.0.1; the fleet bench binds an address of its own private bridge. */
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** Called after each push that moved a branch, as a forge's webhook would be. */
  onPush?: (p: PushNotice) => void;
  /** Called when a request to the git backend finished (the fleet bench counts fetches and pushes per client). */
  onRequest?: (r: HubRequest) => void;
  /** Require this token (Basic password with any user name, or Bearer); 401 otherwise. */
  token?: string;
}

function authorized(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const [scheme, value = ''] = header.split(' ', 2) as [string, string?];
  if (/^bearer$/i.test(scheme)) return value === token;
  if (!/^basic$/i.test(scheme)) return false;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1) === token;
}

export async function startHubServer(opts: HubServerOptions): Promise<HubServer> {
  const backend = await httpBackend();
  let down = false;
  // Running CGI processes: close() waits for them, so a test can delete the repositories after.
  const running = new Set<Promise<void>>();
  const processes = new Set<ChildProcess>();
  // Pushes to one repository are served one at a time, as a forge reports them: each push's notices
  // are the refs it moved, never also those of a push that finished while it ran (two agents
  // pushing their state branches at once were each reported twice, or once in a burst a waiter missed).
  const pushing = new Map<string, Promise<void>>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (down) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('hub is down\n');
      req.resume();
      return;
    }
    if (opts.token !== undefined && !authorized(req.headers.authorization, opts.token)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Basic realm="kaidu hub"' }).end('authentication required\n');
      req.resume();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://hub');
    const isReceive = req.method === 'POST' && url.pathname.endsWith('/git-receive-pack');
    const repoName = url.pathname.split('/').filter(Boolean)[0] ?? '';
    const gitdir = join(opts.root, repoName);
    let release = () => {};
    if (isReceive && opts.onPush) {
      const previous = pushing.get(gitdir) ?? Promise.resolve();
      const mine = new Promise<void>((r) => (release = r));
      const queue = previous.then(() => mine);
      pushing.set(gitdir, queue);
      void queue.then(() => {
        if (pushing.get(gitdir) === queue) pushing.delete(gitdir);
      });
      await previous;
    }
    let before: Map<string, string> | undefined;
    try {
      before = isReceive && opts.onPush ? await refs(gitdir) : undefined;
    } catch (err) {
      release();
      throw err;
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: opts.root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      REMOTE_USER: 'kaidu',
      GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: String(req.headers['content-length']) } : {}),
    };
    const cgi = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const started = performance.now();
    let bytesIn = 0;
    let bytesOut = 0;
    let status = 200;
    if (opts.onRequest) req.on('data', (c: Buffer) => (bytesIn += c.length));
    const exited = new Promise<void>((r) => cgi.once('close', () => r()));
    running.add(exited);
    processes.add(cgi);
    void exited.then(() => {
      running.delete(exited);
      processes.delete(cgi);
    });
    // A client that hangs up, or a backend that exits before reading the body, must not crash us.
    cgi.stdin.on('error', () => undefined);
    cgi.on('error', () => {
      release();
      if (!res.headersSent) res.writeHead(500).end('git http-backend could not start\n');
    });
    res.on('close', () => {
      if (!res.writableFinished && cgi.exitCode === null) cgi.kill();
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      bytesOut += chunk.length;
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      const endLf = end < 0 ? head.indexOf('\n\n') : -1;
      if (end < 0 && endLf < 0) return;
      const cut = end >= 0 ? end : endLf;
      const sep = end >= 0 ? 4 : 2;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, cut).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      headersDone = true;
      const rest = head.subarray(cut + sep);
      if (rest.length) res.write(rest);
    });
    cgi.stderr.resume();
    cgi.on('close', async () => {
      if (!headersDone) {
        if (!res.headersSent) res.writeHead(500).end('git http-backend failed\n');
      }
      else res.end();
      if (opts.onRequest) {
        const last = url.pathname.split('/').pop() ?? '';
        const service = last === 'git-upload-pack' || last === 'git-receive-pack' ? last : url.pathname;
        opts.onRequest({ method: req.method ?? 'GET', service, remoteAddress: req.socket.remoteAddress ?? '', status: headersDone ? status : 500, bytesIn, bytesOut, ms: performance.now() - started });
      }
      try {
        if (before && opts.onPush) {
          const after = await refs(gitdir);
          for (const [ref, oid] of after) {
            const was = before.get(ref) ?? '0'.repeat(40);
            if (was !== oid) opts.onPush({ repo: repoName, ref, before: was, after: oid });
          }
        }
      } finally {
        release();
      }
    });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  const host = opts.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    repoUrl: (name) => `${url}/${name}`,
    setDown: (d) => {
      down = d;
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      // A backend still waiting for the body of a client that is gone would never end: stop it.
      for (const cgi of processes) if (cgi.exitCode === null && cgi.signalCode === null) cgi.kill();
      await Promise.all([...running]);
    },
  };
}

/** A bare repository (pushable over http-backend) with an initial commit of `files`, made with native git. */
export async function createBareRepo(root: string, name: string, opts: { files?: Record<string, string>; branch?: string } = {}): Promise<string> {
  const branch = opts.branch ?? 'main';
  const gitdir = join(root, name);
  await mkdir(root, { recursive: true });
  await exec('git', ['init', '-q', '--bare', '-b', branch, gitdir]);
  await exec('git', ['config', 'http.receivepack', 'true'], { cwd: gitdir });
  // No background `git gc --auto` after a push: it would outlive the request and race a test's cleanup.
  await exec('git', ['config', 'receive.autogc', 'false'], { cwd: gitdir });
  if (opts.files && Object.keys(opts.files).length > 0) {
    const work = await mkdtemp(join(tmpdir(), 'kaidu-seed-'));
    try {
      // gc.auto=0: a commit of thousands of files would start a detached `git gc --auto` that is
      // still writing into the seed's objects when it is removed below (ENOTEMPTY).
      const g = (...args: string[]) => exec('git', ['-c', 'user.name=Kaidu', '-c', 'user.email=kaidu@example.invalid', '-c', 'gc.auto=0', ...args], { cwd: work });
      await g('init', '-q', '-b', branch);
      for (const [path, content] of Object.entries(opts.files)) {
        await mkdir(dirname(join(work, path)), { recursive: true });
        await writeFile(join(work, path), content);
      }
      await g('add', '-A');
      await g('commit', '-q', '-m', 'Initial commit');
      await g('push', '-q', gitdir, `HEAD:refs/heads/${branch}`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  return gitdir;
}
