/**
 * Distrobox, for real: distrobox refuses root, so boxes belong to a normal user with rootless podman
 * (`.ci/machines.sh box` prepares one), and the delegate runs distrobox as that user. Lifecycle:
 * create, inspect, update with a changed property, re-adopt (a new delegate), delete, already gone.
 * Root without a user is an error before anything runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DistroboxDelegate, RecordingRunner, SystemCommandRunner } from '../../src/delegates/index.js';
import { asBoxUser, boxTestsCannotRun, prepareBoxUser } from '../support/box-user.js';
import { context, desired, stateOf } from '../support/delegate-context.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-box-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TABLE = 'ID           | NAME                 | STATUS                         | IMAGE                         \n';

describe('distrobox delegate (pinned commands)', () => {
  it('as the agent\'s own user: create with init and packages, list, remove', async () => {
    let listed = 0;
    const runner = new RecordingRunner()
      .on((a) => a.join(' ') === 'distrobox list --no-color' && ++listed > 3, { stdout: TABLE })
      .on('distrobox list', { stdout: `${TABLE}1a2b3c | kaidu-svc-tools | Up 2 minutes | fedora\n` });
    // A failed list says nothing about the box: it is an error, not "gone".
    const failing = new RecordingRunner().on('distrobox list', { exitCode: 1, stderr: 'Error: podman: command not found' });
    await expect(new DistroboxDelegate({ uid: 1000 }).inspect(context(dir, desired('kaidu:Distrobox', { image: 'x' }), { runner: failing }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    // Nor is output that is not distrobox's table.
    const garbled = new RecordingRunner().on('distrobox list', { stdout: 'kaidu-svc-tools\n' });
    await expect(new DistroboxDelegate({ uid: 1000 }).inspect(context(dir, desired('kaidu:Distrobox', { image: 'x' }, { name: 'tools' }), { runner: garbled }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    const d = new DistroboxDelegate({ uid: 1000 });
    const node = desired('kaidu:Distrobox', { image: 'fedora-toolbox:40', init: true, additional_packages: ['git', 'make'] }, { name: 'tools' });
    expect(await d.create(context(dir, node, { runner }))).toEqual({ attributes: { status: 'Up 2 minutes', box_name: 'kaidu-svc-tools' } });
    expect(await d.inspect(context(dir, node, { runner }))).toEqual({ exists: true, status: 'running', attributes: { status: 'Up 2 minutes' } });
    await d.delete(context(dir, node, { runner }));
    expect(runner.lines).toEqual([
      'distrobox create --yes --name kaidu-svc-tools --image fedora-toolbox:40 --init --additional-packages git make',
      'distrobox list --no-color',
      'distrobox list --no-color',
      'distrobox list --no-color',
      'distrobox rm --force kaidu-svc-tools',
      'distrobox list --no-color',
    ]);
    // A failed rm is an error while list still shows the box; fine when the box is gone anyway.
    const stuck = new RecordingRunner().on('distrobox list', { stdout: `${TABLE}1a2b3c | kaidu-svc-tools | Up 2 minutes | fedora\n` }).on('distrobox rm', { exitCode: 1, stderr: 'Error: cannot remove container: device busy' });
    await expect(d.delete(context(dir, node, { runner: stuck }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED', message: expect.stringContaining('device busy') });
    let looks = 0;
    const raced = new RecordingRunner().on((a) => a[1] === 'list' && ++looks === 1, { stdout: `${TABLE}1a2b3c | kaidu-svc-tools | Up 2 minutes | fedora\n` }).on('distrobox list', { stdout: TABLE }).on('distrobox rm', { exitCode: 125, stderr: 'Error: inspecting object: no such container kaidu-svc-tools' });
    await d.delete(context(dir, node, { runner: raced }));
    // A box whose image (not name) is the name asked about is not that box.
    const other = new RecordingRunner().on('distrobox list', { stdout: `${TABLE}1a2b3c | other | Created | kaidu-svc-tools\n` });
    expect((await d.inspect(context(dir, node, { runner: other }))).exists).toBe(false);
  });

  it('an agent running as root runs distrobox as the node\'s user (setpriv), and refuses without one, before anything runs', async () => {
    const node = desired('kaidu:Distrobox', { image: 'busybox' }, { name: 'tools' });
    const none = new RecordingRunner();
    const root = new DistroboxDelegate({ uid: 0 });
    for (const op of [() => root.create(context(dir, node, { runner: none })), () => root.inspect(context(dir, node, { runner: none })), () => root.delete(context(dir, node, { runner: none }))]) {
      await expect(op()).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('distrobox does not run as root; give the node a "user"') });
    }
    expect(none.lines).toEqual([]);
    for (const user of ['-u0', '../x', 'a b']) {
      await expect(root.inspect(context(dir, desired('kaidu:Distrobox', { image: 'busybox', user }), { runner: none }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('is not a valid user name') });
    }
    expect(none.lines).toEqual([]);
    const asRoot = new RecordingRunner().on('id', { stdout: '0\n' });
    await expect(root.inspect(context(dir, desired('kaidu:Distrobox', { image: 'busybox', user: 'root' }), { runner: asRoot }))).rejects.toMatchObject({ message: expect.stringContaining('must be a normal user') });
    expect(asRoot.lines.filter((l) => l.includes('distrobox'))).toEqual([]);

    const runner = new RecordingRunner().on('id -u', { stdout: '1001\n' }).on('id -g', { stdout: '1002\n' }).on(/distrobox list/, { stdout: TABLE });
    expect((await root.inspect(context(dir, desired('kaidu:Distrobox', { image: 'busybox', user: 'alice' }, { name: 'tools' }), { runner }))).exists).toBe(false);
    expect(runner.lines).toEqual(['id -u alice', 'id -g alice', 'setpriv --reuid=1001 --regid=1002 --init-groups --reset-env distrobox list --no-color']);
    expect(runner.calls[2]!.cwd).toBe('/');
    const missing = new RecordingRunner().on('id', { exitCode: 1, stderr: "id: 'bob': no such user" });
    await expect(root.inspect(context(dir, desired('kaidu:Distrobox', { image: 'busybox', user: 'bob' }), { runner: missing }))).rejects.toMatchObject({ message: expect.stringContaining('no user "bob"') });
    // Another normal user cannot run boxes for someone else.
    await expect(new DistroboxDelegate({ uid: 1000 }).inspect(context(dir, desired('kaidu:Distrobox', { image: 'busybox', user: 'alice' }), { runner }))).rejects.toMatchObject({ message: expect.stringContaining('needs an agent running as root or as alice') });
  });
});

const ci = process.env.CI === 'true';
const why = boxTestsCannotRun();

describe.skipIf(why !== undefined && !ci)(`distrobox as a user, for real${why ? ` (skipped: ${why})` : ''}`, () => {
  let user: string;
  let image: string;
  let asUser: (argv: string[]) => Promise<{ code: number; out: string }>;
  const boxes = ['kaidu-svc-tools', 'kaidu-t-renamed'];

  beforeAll(async () => {
    expect(why, 'CI=true: the distrobox test must run (as root, with .ci/machines.sh box)').toBeUndefined();
    ({ user, image } = await prepareBoxUser());
    asUser = async (argv) => {
      const r = await asBoxUser(user, argv);
      return { code: r.code, out: r.out.trim() };
    };
  }, 11 * 60_000);

  afterAll(async () => {
    if (!asUser) return;
    for (const b of boxes) await asUser(['podman', 'rm', '-f', '-t', '0', b]).catch(() => undefined);
  });

  it('create, inspect, update (renamed), re-adopt, delete, already gone; the box is the user\'s, not root\'s', async () => {
    const runner = new SystemCommandRunner(120_000);
    const d = new DistroboxDelegate();
    const node = desired('kaidu:Distrobox', { image, user }, { name: 'tools' });
    const created = await d.create(context(dir, node, { runner }));
    expect(created).toEqual({ attributes: { status: 'Created', box_name: 'kaidu-svc-tools' } });
    // Seen from outside: a container in the user's podman, none in root's.
    expect(await asUser(['podman', 'container', 'inspect', '--format', '{{.State.Status}} {{.ImageName}}', 'kaidu-svc-tools'])).toEqual({ code: 0, out: `created ${image}` });
    expect((await runner.run({ argv: ['podman', 'container', 'exists', 'kaidu-svc-tools'] })).exitCode).toBe(1);
    const previous = stateOf('kaidu:Distrobox', node.properties, created.attributes);
    expect(await d.inspect(context(dir, node, { runner, previous }))).toEqual({ exists: true, status: 'running', attributes: { status: 'Created' } });

    // Update with a changed name: the old box is removed (found by the applied name), the new one made.
    const renamed = desired('kaidu:Distrobox', { image, user, box_name: 'kaidu-t-renamed' }, { name: 'tools' });
    const updated = await d.update(context(dir, renamed, { runner, previous }));
    expect(updated.attributes).toMatchObject({ box_name: 'kaidu-t-renamed', status: 'Created' });
    expect((await asUser(['podman', 'container', 'exists', 'kaidu-svc-tools'])).code).toBe(1);
    expect((await asUser(['podman', 'container', 'exists', 'kaidu-t-renamed'])).code).toBe(0);

    // Re-adoption: a new delegate (a restarted agent) finds it from the recorded state.
    const previous2 = stateOf('kaidu:Distrobox', renamed.properties, updated.attributes);
    const again = new DistroboxDelegate();
    expect(await again.inspect(context(dir, renamed, { runner, previous: previous2 }))).toMatchObject({ exists: true, status: 'running' });

    await again.delete(context(dir, renamed, { runner, previous: previous2 }));
    expect((await asUser(['podman', 'container', 'exists', 'kaidu-t-renamed'])).code).toBe(1);
    // Already gone.
    await again.delete(context(dir, renamed, { runner, previous: previous2 }));
    expect(await again.inspect(context(dir, renamed, { runner, previous: previous2 }))).toEqual({ exists: false, status: 'stopped', attributes: {} });
  }, 5 * 60_000);

  it('as root without a user: a clear error, nothing created; distrobox itself refuses root too', async () => {
    const runner = new SystemCommandRunner();
    await expect(new DistroboxDelegate().create(context(dir, desired('kaidu:Distrobox', { image }, { name: 'rootbox' }), { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('distrobox does not run as root') });
    expect((await runner.run({ argv: ['podman', 'container', 'exists', 'kaidu-svc-rootbox'] })).exitCode).toBe(1);
    // Why: distrobox's own answer to root (so no "pass" can ever come from running it as root).
    const r = await runner.run({ argv: ['distrobox', 'list', '--no-color'] });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('Running distrobox-list as sudo is not supported.');
  });
});
