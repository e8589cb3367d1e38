/**
 * Nesting in a Distrobox, for real, through `kaidu apply`: a box of the user `kaidu-box` (rootless
 * podman; `.ci/machines.sh box`), made from a Debian image its init can start (`.ci/box-image.sh`),
 * hosting a Port, Directory, ConfigFile and a redis Process. The first command inside starts the box
 * (as `distrobox enter` would); files are written inside the box (read back through podman, absent
 * on the host); the process runs inside as the box's user, listens on the host's network (a box
 * shares it) and answers PING there; a new delegate re-adopts it from the state; a changed config
 * restarts it; a command that fails inside is an error naming the box; deleting removes what was
 * made; with the box gone, deleting what was in it is a clean no-op (inspect says gone). One box for
 * the whole file. In CI (CI=true) it runs or fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ProcessDelegate, SystemCommandRunner } from '../../src/delegates/index.js';
import type { NodeState } from '../../src/state/model.js';
import { context, desired } from '../support/delegate-context.js';
import { kaidu } from '../support/run-cli.js';

const run = promisify(execFile);
const ci = process.env.CI === 'true';
const ciDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.ci');
const BOX = `kaidu-t-nestbox-${process.pid}`;
const DIR = `/var/tmp/kaidu-nest-${process.pid}`;

function hasDistrobox(): boolean {
  try {
    execFileSync('distrobox', ['version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
const why = process.getuid?.() !== 0 ? 'needs root (to prepare the box user)' : !hasDistrobox() && !ci ? 'distrobox is not installed (.ci/machines.sh box installs it)' : undefined;

interface Parts {
  note?: string;
  nested?: boolean;
  bad?: boolean;
}

/** A port free on this host now (the box shares the host's network). */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Sends PING to redis on 127.0.0.1:port; its first line of answer. */
function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write('PING\r\n'));
    let got = '';
    s.setTimeout(10_000, () => s.destroy(new Error('no answer')));
    s.on('data', (d) => {
      got += String(d);
      if (got.includes('\r\n')) {
        s.end();
        resolve(got.split('\r\n')[0]!);
      }
    });
    s.on('error', reject);
  });
}

describe.skipIf(why !== undefined && !ci)(`nesting in a distrobox through kaidu apply${why ? ` (skipped: ${why})` : ''}`, () => {
  let user: string;
  let image: string;
  let port: number;
  let repo: string;
  /** As the box's owner (another route than Kaidu's). */
  const asUser = async (argv: string[]) => {
    const r = await new SystemCommandRunner(120_000).run({ argv: ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--reset-env', ...argv], cwd: '/' });
    return { code: r.exitCode, out: r.stdout, err: r.stderr };
  };
  const template = ({ note = 'one', nested = true, bad = false }: Parts) => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    box: { type: kaidu:Host }
    b:
      type: kaidu:Distrobox
      properties: { image: ${image}, user: ${user}, box_name: ${BOX} }
      requirements: [ { host: box } ]
${
  nested
    ? `    port:
      type: kaidu:Port
      properties: { port: ${port} }
      requirements: [ { host: b } ]
    data:
      type: kaidu:Directory
      properties: { path: ${DIR}/data, mode: '0750', purge: true }
      requirements: [ { host: b } ]
    conf:
      type: kaidu:ConfigFile
      properties: { path: ${DIR}/redis.conf, template: services/files/redis.tmpl, variables: { port: ${port}, dir: ${DIR}/data, note: ${note} } }
      requirements: [ { host: b }, { dependency: data } ]
    redis:
      type: kaidu:Process
      properties: { command: [ redis-server, ${DIR}/redis.conf ], stop_grace: 5 }
      requirements: [ { host: b }, { dependency: conf }, { dependency: port } ]
`
    : ''
}${
  bad
    ? `    bad:
      type: kaidu:Process
      properties: { command: [ sh, -c, 'echo broken on purpose >&2; exit 3' ] }
      requirements: [ { host: b } ]
`
    : ''
}`;
  const setTemplates = (parts: Parts) => writeFile(join(repo, 'services', 'nest.yaml'), template(parts));
  const apply = () => kaidu(['apply', '--yes', '--host', 'box'], repo);
  const nodes = async () => (parse(await readFile(join(repo, 'state', 'box', 'nest.yaml'), 'utf8')) as { nodes: Record<string, { attributes: Record<string, unknown> }> }).nodes;

  beforeAll(async () => {
    expect(why, 'CI=true: the distrobox nesting test must run (as root, with .ci/machines.sh box)').toBeUndefined();
    const env = (out: string) => Object.fromEntries(out.trim().split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    user = env((await run('bash', [join(ciDir, 'machines.sh'), 'box'], { timeout: 10 * 60_000 })).stdout).KAIDU_TEST_BOX_USER!;
    image = env((await run('bash', [join(ciDir, 'box-image.sh'), 'up'], { timeout: 15 * 60_000 })).stdout).KAIDU_TEST_BOX_DISTRO_IMAGE!;
    expect(user).toBeTruthy();
    expect(image).toBeTruthy();
    port = await freePort();
    repo = await mkdtemp(join(tmpdir(), 'kaidu-nest-box-'));
    await mkdir(join(repo, 'services', 'files'), { recursive: true });
    await writeFile(join(repo, 'kaidu.yaml'), 'branch: main\n');
    await writeFile(join(repo, 'services', 'files', 'redis.tmpl'), 'port {{ port }}\nbind 127.0.0.1\nsave ""\nappendonly no\ndaemonize no\ndir {{ dir }}\n# {{ note }}\n');
  }, 26 * 60_000);

  afterAll(async () => {
    if (user) await asUser(['podman', 'rm', '-f', '-t', '0', BOX]).catch(() => undefined);
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  it('starts the box, writes and runs inside it on the host network, restarts on a changed config, fails naming the box, deletes inside, and is a no-op once the box is gone', async () => {
    await setTemplates({});
    const first = await apply();
    expect(first.stderr + first.stdout).toContain('Applied.');
    expect(first.code).toBe(0);
    const n1 = await nodes();
    for (const key of ['data', 'conf', 'redis', 'port']) expect(n1[key]!.attributes.inside, key).toEqual({ kind: 'distrobox', box_name: BOX, user });
    expect(n1.port!.attributes).toMatchObject({ port, address: '127.0.0.1', container_port: port });
    // The box runs now (Kaidu started it for the first command inside).
    expect((await asUser(['podman', 'container', 'inspect', '--format', '{{.State.Status}}', BOX])).out.trim()).toBe('running');

    // Written inside the box (read through podman), not on the host.
    expect((await asUser(['podman', 'exec', BOX, 'cat', `${DIR}/redis.conf`])).out).toContain(`port ${port}\n`);
    expect((await asUser(['podman', 'exec', BOX, 'stat', '-c', '%a %U', `${DIR}/data`])).out.trim()).toBe(`750 ${user}`);
    expect(existsSync(DIR)).toBe(false);
    // Running inside as the box's user, and serving on the host's network.
    const pid1 = n1.redis!.attributes.pid as number;
    expect((await asUser(['podman', 'exec', BOX, 'sh', '-c', 'cat /proc/$1/comm; stat -c %U /proc/$1', 'x', String(pid1)])).out.split('\n').slice(0, 2)).toEqual(['redis-server', user]);
    expect(await ping(port)).toBe('+PONG');
    // Re-adoption (a restarted agent): a new delegate finds the process from the state alone.
    const state1 = parse(await readFile(join(repo, 'state', 'box', 'nest.yaml'), 'utf8')).nodes.redis as NodeState;
    const readopt = (st: NodeState) => {
      const runner = new SystemCommandRunner(120_000);
      const dataDir = join(repo, '.kaidu', 'box');
      return new ProcessDelegate({ dataDir, runner }).inspect(context(dataDir, desired('kaidu:Process', st.properties, { service: 'nest', name: 'redis', id: 'nest/redis' }), { runner, previous: st }));
    };
    expect(await readopt(state1)).toMatchObject({ exists: true, status: 'running', attributes: { pid: pid1 } });

    // A changed config: rewritten inside, the process restarted.
    await setTemplates({ note: 'two' });
    const second = await apply();
    expect(second.code).toBe(0);
    expect((await asUser(['podman', 'exec', BOX, 'cat', `${DIR}/redis.conf`])).out).toContain('# two\n');
    const pid2 = (await nodes()).redis!.attributes.pid as number;
    expect(pid2).not.toBe(pid1);
    expect((await asUser(['podman', 'exec', BOX, 'cat', `/proc/${pid2}/comm`])).out.trim()).toBe('redis-server');
    expect((await asUser(['podman', 'exec', BOX, 'test', '-e', `/proc/${pid1}`])).code).toBe(1);
    expect(await ping(port)).toBe('+PONG');

    // A command that fails inside: an error naming the node and the box, with its stderr.
    await setTemplates({ note: 'two', bad: true });
    const failing = await apply();
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain(`FAILED nest/bad: nest/bad exited at once (exit code 3) in distrobox ${BOX} of ${user}`);
    expect(failing.stderr).toContain('broken on purpose');

    // The nested nodes removed: the process stops, the files go; the box stays.
    await setTemplates({ nested: false });
    const removed = await apply();
    expect(removed.code).toBe(0);
    expect((await asUser(['podman', 'exec', BOX, 'test', '-e', `/proc/${pid2}`])).code).toBe(1);
    expect((await asUser(['podman', 'exec', BOX, 'test', '-e', `${DIR}/redis.conf`])).code).toBe(1);
    expect((await asUser(['podman', 'exec', BOX, 'test', '-e', `${DIR}/data`])).code).toBe(1);
    await expect(ping(port)).rejects.toThrow();

    // Made again, then the box removed behind Kaidu's back: deleting what was in it is a clean no-op.
    await setTemplates({});
    expect((await apply()).code).toBe(0);
    expect((await asUser(['podman', 'rm', '-f', '-t', '0', BOX])).code).toBe(0);
    // Inspect reports what was inside gone (observed: podman knows no such container).
    const state3 = parse(await readFile(join(repo, 'state', 'box', 'nest.yaml'), 'utf8')).nodes.redis as NodeState;
    expect(await readopt(state3)).toMatchObject({ exists: false, status: 'stopped', attributes: { status: 'gone' } });
    await rm(join(repo, 'services', 'nest.yaml'));
    const gone = await apply();
    expect(gone.stderr).not.toContain('FAILED');
    expect(gone.code).toBe(0);
    expect(existsSync(join(repo, 'state', 'box', 'nest.yaml'))).toBe(false);
  }, 10 * 60_000);
});
