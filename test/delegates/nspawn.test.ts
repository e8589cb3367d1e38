/**
 * Nspawn machines and systemd user units, for real: inside a booted systemd container (see
 * .ci/machines.sh), reached with nsenter through a MachineCommandRunner, since the host's PID 1
 * is not systemd. Lifecycle: create, inspect, update with a changed property, re-adopt (a new
 * delegate), delete, already gone; failures are errors, never "absent".
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NspawnDelegate, ProcessDelegate, RecordingRunner, SystemCommandRunner, runChecked } from '../../src/delegates/index.js';
import { MachineCommandRunner } from '../../src/delegates/machine-runner.js';
import { saysAbsent } from '../../src/delegates/not-found.js';
import type { CommandRunner } from '../../src/delegates/types.js';
import { type BootedMachine, bootMachine, cannotBoot } from '../support/booted-machine.js';
import { context, desired, stateOf } from '../support/delegate-context.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-nspawn-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nspawn delegate (pinned commands)', () => {
  it('a transient unit runs systemd-nspawn; create waits until machinectl reports it running; delete powers off, stops the unit and checks it is gone', async () => {
    let shown = 0;
    const runner = new RecordingRunner()
      // Not registered yet on the first look, running on the second; gone after the stop.
      .on((a) => a[0] === 'machinectl' && a[1] === 'show' && ++shown === 1, { exitCode: 1, stderr: "Could not get path to machine: No machine 'legacy' known\n" })
      .on((a) => a[0] === 'machinectl' && a[1] === 'show' && shown++ < 3, { stdout: 'State=running\nLeader=123\n' })
      .on('machinectl show', { exitCode: 1, stderr: "Could not get path to machine: No machine 'legacy' known\n" })
      .on('systemctl show', { stdout: 'ActiveState=active\nResult=success\n' });
    const d = new NspawnDelegate();
    const node = desired('kaidu:Nspawn', { machine: 'legacy', directory: '/var/lib/machines/legacy', boot: true, bind: ['/srv'] });
    expect(await d.create(context(dir, node, { runner }))).toEqual({ attributes: { machine: 'legacy', status: 'running' }, status: 'running' });
    await d.delete(context(dir, node, { runner }));
    expect(runner.lines).toEqual([
      'systemd-run --unit=kaidu-nspawn-legacy.service --collect --property=KillMode=mixed -- systemd-nspawn --machine=legacy --quiet --keep-unit --directory=/var/lib/machines/legacy --bind=/srv --boot',
      'machinectl show legacy --property=State --property=Leader',
      'systemctl show --property=ActiveState,Result kaidu-nspawn-legacy.service',
      'machinectl show legacy --property=State --property=Leader',
      'machinectl poweroff legacy',
      'systemctl stop kaidu-nspawn-legacy.service',
      'machinectl show legacy --property=State --property=Leader',
    ]);
  });

  it('a unit that ends before the machine registers fails create, with its journal', async () => {
    const runner = new RecordingRunner()
      .on('machinectl show', { exitCode: 1, stderr: "Could not get path to machine: No machine 'm1' known\n" })
      .on('systemctl show', { stdout: 'ActiveState=inactive\nResult=exit-code\n' })
      .on('journalctl', { stdout: 'Directory /nope does not exist.\n' });
    await expect(new NspawnDelegate().create(context(dir, desired('kaidu:Nspawn', { machine: 'm1', directory: '/nope' }), { runner }))).rejects.toMatchObject({
      code: 'E_DELEGATE',
      message: expect.stringMatching(/machine m1 did not start: kaidu-nspawn-m1\.service is inactive \(exit-code\)\nDirectory \/nope does not exist\./),
    });
  });

  it('only the exact not-found texts read as "gone"; names machined refuses are refused before anything runs', async () => {
    expect(saysAbsent('machinectl', 'machine', 'm1', "Could not get path to machine: No machine 'm1' known")).toBe(true);
    expect(saysAbsent('machinectl', 'machine', 'm1', "Could not kill machine: No machine 'm1' known")).toBe(true);
    expect(saysAbsent('machinectl', 'machine', 'm1', "Could not get path to machine: No machine 'm2' known")).toBe(false);
    expect(saysAbsent('machinectl', 'machine', 'm1', "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down")).toBe(false);
    expect(saysAbsent('systemctl', 'unit', 'a.service', 'Failed to stop a.service: Unit a.service not loaded.')).toBe(true);
    expect(saysAbsent('systemctl', 'unit', 'a.service', 'Failed to stop a.service: Access denied')).toBe(false);
    const runner = new RecordingRunner();
    for (const machine of ['-rf', 'a/b', 'a..b', 'x'.repeat(65), 'a_b']) {
      await expect(new NspawnDelegate().create(context(dir, desired('kaidu:Nspawn', { machine, directory: '/x' }), { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('is not a valid host name') });
    }
    expect(runner.lines).toEqual([]);
    // The default name turns "_" (which machined refuses) into "-".
    const under = new RecordingRunner().on('machinectl', { exitCode: 1, stderr: "Could not get path to machine: No machine 'kaidu-my-svc-n1' known" });
    expect((await new NspawnDelegate().inspect(context(dir, desired('kaidu:Nspawn', { directory: '/x' }, { service: 'my_svc' }), { runner: under }))).exists).toBe(false);
  });

  it('on a host whose PID 1 is not systemd, machinectl and systemctl fail: an error, never "absent"', async () => {
    if ((await readFile('/proc/1/comm', 'utf8')).trim() === 'systemd') return;
    const ctx = context(dir, desired('kaidu:Nspawn', { machine: 'kaidu-absent', directory: '/x' }), { runner: new SystemCommandRunner() });
    await expect(new NspawnDelegate().inspect(ctx)).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    await expect(new NspawnDelegate().delete(ctx)).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
  });
});

describe('machine command runner', () => {
  it('wraps each command in nsenter with only its own environment and working directory', () => {
    const r = new MachineCommandRunner({ leader: 4242 });
    expect(r.wrap({ argv: ['machinectl', 'list'], cwd: '/srv', env: { A: '1' } })).toEqual([
      'nsenter', '--target=4242', '--all', '--wdns=/srv', '--', 'env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'machinectl', 'list',
    ]);
    expect(() => new MachineCommandRunner({ leader: 1 })).toThrow(/above 1/);
  });

  it('a leader that is not a container init is an error before anything runs (never an answer from the host)', async () => {
    const inner = new RecordingRunner();
    // This test process is not the init of a pid namespace.
    await expect(new MachineCommandRunner({ leader: process.pid, runner: inner }).run({ argv: ['machinectl', 'show', 'x'] })).rejects.toMatchObject({ code: 'E_COMMAND_FAILED', message: expect.stringContaining('gone or is not a container') });
    expect(inner.lines).toEqual([]);
  });
});

const why = cannotBoot();
const ci = process.env.CI === 'true';

describe.skipIf(why !== undefined && !ci)(`inside a booted systemd container${why ? ` (skipped: ${why})` : ''}`, () => {
  let machine: BootedMachine;
  let runner: CommandRunner;
  const inner: string[] = [];

  beforeAll(async () => {
    expect(why, 'CI=true: the booted-container tests must run (root, systemd-container)').toBeUndefined();
    machine = await bootMachine();
    runner = new MachineCommandRunner({ leader: machine.leader });
  }, 16 * 60_000);

  afterAll(async () => {
    if (!machine) return;
    // Whatever a failed test left: the nested machines, their trees, the user's units.
    for (const m of inner) {
      await runner.run({ argv: ['systemctl', 'stop', `kaidu-nspawn-${m}.service`], timeoutMs: 120_000 }).catch(() => undefined);
      await runner.run({ argv: ['rm', '-rf', `/var/lib/machines/${m}`] }).catch(() => undefined);
    }
    await runner.run({ argv: ['systemctl', '--user', `--machine=${machine.user}@.host`, 'stop', 'kaidu-svc-sleeper.service'] }).catch(() => undefined);
    await machine.release();
  }, 5 * 60_000);

  /** A copy of the machine's Debian tree for a nested machine (booting it changes it). */
  async function tree(name: string): Promise<string> {
    inner.push(name);
    const path = `/var/lib/machines/${name}`;
    await runChecked(runner, { argv: ['rm', '-rf', path] });
    await runChecked(runner, { argv: ['cp', '-a', machine.base, path], timeoutMs: 5 * 60_000 });
    await runChecked(runner, { argv: ['mkdir', '-p', '/srv/kaidu-a', '/srv/kaidu-b'] });
    return path;
  }

  /** The nested machine's init pid (as the outer machine sees it), from machinectl. */
  async function leaderOf(name: string): Promise<number> {
    const r = await runChecked(runner, { argv: ['machinectl', 'show', name, '--property=Leader', '--value'] });
    return Number(r.stdout.trim());
  }

  it('nspawn: create boots a machine machinectl sees running; update re-creates it with the new bind; a new delegate re-adopts it; delete stops it; already gone is fine', async () => {
    const name = 'kaidu-t-legacy';
    const directory = await tree(name);
    const node = desired('kaidu:Nspawn', { machine: name, directory, bind: ['/srv/kaidu-a:/mnt/a'] }, { name: 'legacy' });
    const d = new NspawnDelegate();
    const created = await d.create(context(dir, node, { runner }));
    expect(created).toEqual({ attributes: { machine: name, status: 'running' }, status: 'running' });
    const first = await leaderOf(name);
    expect(first).toBeGreaterThan(1);
    // The bind is really there, inside the nested machine.
    await runChecked(runner, { argv: ['nsenter', `--target=${first}`, '--all', '--', 'mountpoint', '-q', '/mnt/a'] });
    expect(await d.inspect(context(dir, node, { runner, previous: stateOf('kaidu:Nspawn', node.properties, created.attributes) }))).toEqual({ exists: true, status: 'running', attributes: { status: 'running', machine: name } });

    // Update: a changed bind means a new machine process with the new bind, the old one gone.
    const changed = desired('kaidu:Nspawn', { ...node.properties, bind: ['/srv/kaidu-b:/mnt/b'] }, { name: 'legacy' });
    const updated = await d.update(context(dir, changed, { runner, previous: stateOf('kaidu:Nspawn', node.properties, created.attributes) }));
    expect(updated.status).toBe('running');
    const second = await leaderOf(name);
    expect(second).not.toBe(first);
    await runChecked(runner, { argv: ['nsenter', `--target=${second}`, '--all', '--', 'mountpoint', '-q', '/mnt/b'] });
    expect((await runner.run({ argv: ['nsenter', `--target=${second}`, '--all', '--', 'mountpoint', '-q', '/mnt/a'] })).exitCode).not.toBe(0);

    // Re-adoption: a new delegate (a restarted agent) finds it from the recorded state alone.
    const previous = stateOf('kaidu:Nspawn', changed.properties, updated.attributes);
    const again = new NspawnDelegate();
    expect(await again.inspect(context(dir, changed, { runner, previous }))).toMatchObject({ exists: true, status: 'running' });

    await again.delete(context(dir, changed, { runner, previous }));
    const gone = await runner.run({ argv: ['machinectl', 'show', name] });
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toContain(`No machine '${name}' known`);
    expect((await runner.run({ argv: ['systemctl', 'show', '--property=LoadState', `kaidu-nspawn-${name}.service`] })).stdout.trim()).toBe('LoadState=not-found');
    // Already gone: delete again succeeds, inspect says absent.
    await again.delete(context(dir, changed, { runner, previous }));
    expect(await again.inspect(context(dir, changed, { runner, previous }))).toEqual({ exists: false, status: 'stopped', attributes: {} });
  }, 5 * 60_000);

  it('nspawn: a machine that cannot start fails create (with systemd-nspawn\'s own words), and leaves no unit behind', async () => {
    const name = 'kaidu-t-broken';
    inner.push(name);
    const node = desired('kaidu:Nspawn', { machine: name, directory: '/var/lib/machines/does-not-exist' }, { name: 'broken' });
    await expect(new NspawnDelegate().create(context(dir, node, { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining(`machine ${name} did not start`) });
    expect((await runner.run({ argv: ['systemctl', 'show', '--property=LoadState', `kaidu-nspawn-${name}.service`] })).stdout.trim()).toBe('LoadState=not-found');
    expect((await new NspawnDelegate().inspect(context(dir, node, { runner }))).exists).toBe(false);
  }, 2 * 60_000);

  it('systemd user unit: a Process with systemd: true runs in the user\'s manager; inspect, update, re-adopt, delete, already gone', async () => {
    const user = machine.user;
    const unit = 'kaidu-svc-sleeper.service';
    const node = desired('kaidu:Process', { command: ['sleep', '1000'], systemd: true, user, env: { GREETING: 'hi there' }, stop_grace: 5 }, { name: 'sleeper' });
    const d = new ProcessDelegate({ dataDir: dir, runner });
    const created = await d.create(context(dir, node, { runner }));
    expect(created.attributes).toMatchObject({ unit, status: 'active', exit_code: null });
    const pid = created.attributes.pid as number;
    expect(pid).toBeGreaterThan(1);
    // Observed from outside the delegate: the process runs as the user, with its environment.
    const ps = await runChecked(runner, { argv: ['ps', '-o', 'user=,args=', '-p', String(pid)] });
    expect(ps.stdout.trim()).toMatch(new RegExp(`^${user}\\s+sleep 1000$`));
    expect((await runChecked(runner, { argv: ['cat', `/proc/${pid}/environ`] })).stdout.split('\0')).toContain('GREETING=hi there');
    const previous = stateOf('kaidu:Process', node.properties, created.attributes);
    expect(await d.inspect(context(dir, node, { runner, previous }))).toEqual({ exists: true, status: 'running', attributes: { pid, status: 'active' } });

    // Update: a changed command is a new unit process; the old one is gone.
    const changed = desired('kaidu:Process', { ...node.properties, command: ['sleep', '2000'] }, { name: 'sleeper' });
    const updated = await d.update(context(dir, changed, { runner, previous }));
    const pid2 = updated.attributes.pid as number;
    expect(pid2).not.toBe(pid);
    expect((await runChecked(runner, { argv: ['ps', '-o', 'args=', '-p', String(pid2)] })).stdout.trim()).toBe('sleep 2000');
    expect((await runner.run({ argv: ['kill', '-0', String(pid)] })).exitCode).not.toBe(0);

    // Re-adoption by a new delegate (a restarted agent), from the recorded state.
    const previous2 = stateOf('kaidu:Process', changed.properties, updated.attributes);
    const again = new ProcessDelegate({ dataDir: dir, runner });
    expect(await again.inspect(context(dir, changed, { runner, previous: previous2 }))).toMatchObject({ exists: true, status: 'running', attributes: { pid: pid2 } });

    await again.delete(context(dir, changed, { runner, previous: previous2 }));
    expect((await runner.run({ argv: ['kill', '-0', String(pid2)] })).exitCode).not.toBe(0);
    expect(await again.inspect(context(dir, changed, { runner, previous: previous2 }))).toEqual({ exists: false, status: 'stopped', attributes: { pid: 0, status: 'exited' } });
    // Already gone.
    await again.delete(context(dir, changed, { runner, previous: previous2 }));
  }, 3 * 60_000);

  it('systemd user unit: a command that exits at once fails create; a manager that cannot be reached is an error, not "stopped"', async () => {
    const d = new ProcessDelegate({ dataDir: dir, runner });
    const quick = desired('kaidu:Process', { command: ['false'], systemd: true, user: machine.user }, { name: 'quick' });
    await expect(d.create(context(dir, quick, { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('ended right after it started') });
    // root has no user manager running in the machine (no lingering): nothing can be started or seen.
    const rootUnit = desired('kaidu:Process', { command: ['sleep', '100'], systemd: true }, { name: 'rootunit' });
    await expect(d.create(context(dir, rootUnit, { runner }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    await expect(d.inspect(context(dir, rootUnit, { runner, previous: stateOf('kaidu:Process', rootUnit.properties, {}) }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    await expect(d.delete(context(dir, rootUnit, { runner, previous: stateOf('kaidu:Process', rootUnit.properties, {}) }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    // A user with no manager (no such user) too.
    const nobody = desired('kaidu:Process', { command: ['sleep', '100'], systemd: true, user: 'kaidu-nobody' }, { name: 'nobody' });
    await expect(d.inspect(context(dir, nobody, { runner, previous: stateOf('kaidu:Process', nobody.properties, {}) }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
  }, 2 * 60_000);
});
