/**
 * Nesting in a Distrobox, for real, through `kaidu apply`: a box of the user `kaidu-box` (rootless
 * podman; `.ci/machines.sh box`), made from a Debian image its init can start (`.ci/box-image.sh`),
 * hosting a Port, Directory, ConfigFile and a redis Process. The first command inside starts the box
 * (as `distrobox enter` would); files are written inside the box (read back through podman, absent
 * on the host); the process runs inside as the box's user, listens on the host's network (a box
 * shares it) and answers PING there; a new delegate re-adopts it from the state; a changed config
 * restarts it; a command that fails inside is an error naming the box; deleting removes what was
 * made. With the box removed behind Kaidu's back, the redis still runs (a box shares the host's
 * pids, and removing it does not end the process): Kaidu reports it running, not gone, and
 * deleting stops it; nothing of this test's is left running. One box for the whole file, named for
 * this run alone, so leftovers of earlier runs are not taken for its own. In CI (CI=true) it runs or fails.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ProcessDelegate, SystemCommandRunner } from '../../src/delegates/index.js';
import type { NodeState } from '../../src/state/model.js';
import { asBoxUser, boxTestsCannotRun, prepareBoxDistroImage, prepareBoxUser } from '../support/box-user.js';
import { freePort } from '../support/container-engine.js';
import { context, desired } from '../support/delegate-context.js';
import { leftOver, processesOf, runsNow } from '../support/host-processes.js';
import { NESTED_KEYS, nestRepo, nestService, ping, type NestParts } from '../support/nested-redis.js';
import { kaidu } from '../support/run-cli.js';
import type { ServiceRepo } from '../support/service-repo.js';

const ci = process.env.CI === 'true';
const why = boxTestsCannotRun();
// This run's own: a pid alone can come again in a later run, whose leftovers would then look like ours.
const RUN = `${process.pid}-${randomBytes(4).toString('hex')}`;
const BOX = `kaidu-t-nestbox-${RUN}`;
const DIR = `/var/tmp/kaidu-nest-${RUN}`;

describe.skipIf(why !== undefined && !ci)(`nesting in a distrobox through kaidu apply${why ? ` (skipped: ${why})` : ''}`, () => {
  let user: string;
  let uid: number;
  let image: string;
  let port: number;
  let repo: ServiceRepo;
  const asUser = (argv: string[]) => asBoxUser(user, argv);
  const setTemplates = (parts: NestParts) => repo.write('services/nest.yaml', nestService({ key: 'b', type: 'kaidu:Distrobox', properties: `{ image: ${image}, user: ${user}, box_name: ${BOX} }`, servesOutside: true }, port, DIR, parts));
  const apply = () => kaidu(['apply', '--yes', '--host', 'box'], repo.dir);
  const stateFile = () => join(repo.dir, 'state', 'box', 'nest.yaml');
  const nodes = async () => (parse(await readFile(stateFile(), 'utf8')) as { nodes: Record<string, NodeState> }).nodes;
  /** Re-adoption (a restarted agent): a new delegate inspects the node from its state alone. */
  const readopt = (st: NodeState) => {
    const runner = new SystemCommandRunner(120_000);
    const dataDir = join(repo.dir, '.kaidu', 'box');
    return new ProcessDelegate({ dataDir, runner }).inspect(context(dataDir, desired('kaidu:Process', st.properties, { service: 'nest', name: 'redis', id: 'nest/redis' }), { runner, previous: st }));
  };
  /** Whether the redis a state records runs now (the box shares the host's pids: its pid is this machine's). */
  const runs = (st: NodeState) => runsNow(st.attributes.pid as number, st.attributes.start_time as string);

  beforeAll(async () => {
    expect(why, 'CI=true: the distrobox nesting test must run (as root, with .ci/machines.sh box)').toBeUndefined();
    ({ user } = await prepareBoxUser());
    image = await prepareBoxDistroImage();
    uid = Number((await asUser(['id', '-u'])).out.trim());
    expect(uid).toBeGreaterThan(0);
    port = await freePort();
    repo = await nestRepo('kaidu-nest-box-');
  }, 26 * 60_000);

  afterAll(async () => {
    if (user) await asUser(['podman', 'rm', '-f', '-t', '0', BOX]).catch(() => undefined);
    // What the test itself left (it failed before its delete): never a process for the next run to meet.
    if (uid) for (const p of await processesOf(uid, DIR)) process.kill(p.pid, 'SIGKILL');
    if (repo) await rm(repo.dir, { recursive: true, force: true });
  });

  it('starts the box, writes and runs inside it on the host network, restarts on a changed config, fails naming the box, deletes inside', async () => {
    await setTemplates({});
    const first = await apply();
    expect(first.stderr + first.stdout).toContain('Applied.');
    expect(first.code).toBe(0);
    const n1 = await nodes();
    for (const key of NESTED_KEYS) expect(n1[key]!.attributes.inside, key).toEqual({ kind: 'distrobox', box_name: BOX, user });
    expect(n1.port!.attributes).toMatchObject({ port, address: '127.0.0.1', container_port: port });
    // Observed, not assumed: the redis is in the host's pid namespace.
    expect(n1.redis!.attributes.shares_host_pids).toBe(true);
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
    expect(await readopt(n1.redis!)).toMatchObject({ exists: true, status: 'running', attributes: { pid: pid1 } });

    // A changed config: rewritten inside, the process restarted.
    await setTemplates({ note: 'two' });
    const second = await apply();
    expect(second.code).toBe(0);
    expect((await asUser(['podman', 'exec', BOX, 'cat', `${DIR}/redis.conf`])).out).toContain('# two\n');
    const n2 = await nodes();
    expect(n2.redis!.attributes.pid).not.toBe(pid1);
    expect((await asUser(['podman', 'exec', BOX, 'cat', `/proc/${n2.redis!.attributes.pid}/comm`])).out.trim()).toBe('redis-server');
    expect(await runs(n1.redis!)).toBe(false);
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
    expect(await runs(n2.redis!)).toBe(false);
    expect((await asUser(['podman', 'exec', BOX, 'test', '-e', `${DIR}/redis.conf`])).code).toBe(1);
    expect((await asUser(['podman', 'exec', BOX, 'test', '-e', `${DIR}/data`])).code).toBe(1);
    await expect(ping(port)).rejects.toThrow();
    expect(await leftOver(uid, DIR)).toEqual([]);
  }, 10 * 60_000);

  it('with the box removed behind its back, reports the redis that outlived it running, not gone, and deleting stops it: nothing is left', async () => {
    await setTemplates({});
    expect((await apply()).code).toBe(0);
    const made = (await nodes()).redis!;
    expect(await runs(made)).toBe(true);
    expect((await asUser(['podman', 'rm', '-f', '-t', '0', BOX])).code).toBe(0);
    expect((await asUser(['podman', 'container', 'exists', BOX])).code).toBe(1);
    // What is so: the box is gone, its redis is not (not in the box's cgroup; the pids are the host's).
    expect(await runs(made)).toBe(true);
    expect(await ping(port)).toBe('+PONG');
    // What Kaidu says must match it.
    expect(await readopt(made)).toMatchObject({ exists: true, status: 'running', attributes: { pid: made.attributes.pid } });

    // The service removed: deleting what was in the box stops that very process, and fails nothing.
    await rm(join(repo.dir, 'services', 'nest.yaml'));
    const gone = await apply();
    expect(gone.stderr).not.toContain('FAILED');
    expect(gone.code).toBe(0);
    expect(existsSync(stateFile())).toBe(false);
    expect(await runs(made)).toBe(false);
    await expect(ping(port)).rejects.toThrow();
    // Nothing of this test's runs as the box's user: not the redis, not Kaidu's launcher shell.
    expect(await leftOver(uid, DIR)).toEqual([]);
  }, 10 * 60_000);
});
