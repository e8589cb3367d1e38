/**
 * Nesting in an nspawn machine, for real, through apply: a service whose Nspawn machine boots
 * inside the booted systemd container of .ci/machines.sh (reached with a MachineCommandRunner, as
 * the host's PID 1 is not systemd), with a Port, Directory, ConfigFile and Process hosted on the
 * machine. Files are written inside the machine (read back from the machine's tree), the process
 * runs inside it (its pid in the machine's /proc) and listens there, a new delegate re-adopts it
 * from the state, a changed config restarts it,
 * a command that fails inside is an error naming the machine, deleting removes what was made, and
 * once the machine is gone, deleting what was in it is a clean no-op. One machine for the whole
 * file (a boot is slow under load). In CI (CI=true) it runs or fails.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortDelegate, ProcessDelegate, runChecked } from '../../src/delegates/index.js';
import { MachineCommandRunner } from '../../src/delegates/machine-runner.js';
import { NspawnNest } from '../../src/delegates/nesting.js';
import type { CommandRunner } from '../../src/delegates/types.js';
import type { NodeState } from '../../src/state/model.js';
import { applyWithRunner } from '../support/apply-with-runner.js';
import { type BootedMachine, bootMachine, cannotBoot } from '../support/booted-machine.js';
import { context, desired } from '../support/delegate-context.js';
import { NESTED_KEYS, nestRepo, nestService, type NestParts } from '../support/nested-redis.js';
import type { ServiceRepo } from '../support/service-repo.js';

const why = cannotBoot();
const ci = process.env.CI === 'true';
const MACHINE = `kaidu-t-nest-${process.pid}`;
const TREE = `/var/lib/machines/${MACHINE}`;
// The machine shares the booted container's network (not this test's): any port free there.
const PORT = 20000 + (process.pid % 20000);

describe.skipIf(why !== undefined && !ci)(`nesting in an nspawn machine through apply${why ? ` (skipped: ${why})` : ''}`, () => {
  let machine: BootedMachine;
  let runner: CommandRunner;
  let repo: ServiceRepo;
  /** Runs argv in the booted container (the machine's outer host). */
  const outer = (argv: string[]) => runner.run({ argv, timeoutMs: 120_000 });
  /** The nested machine's leader, as machinectl reports it. */
  const leader = async () => Number((await runChecked(runner, { argv: ['machinectl', 'show', MACHINE, '--property=Leader', '--value'] })).stdout.trim());
  /** Runs argv inside the nested machine, not through Kaidu (another route to check what it did). */
  const inside = async (argv: string[]) => outer(['nsenter', `--target=${await leader()}`, '--all', '--', ...argv]);
  const setTemplates = (parts: NestParts) => repo.write('services/nest.yaml', nestService({ key: 'm', type: 'kaidu:Nspawn', properties: `{ machine: ${MACHINE}, directory: ${TREE} }`, servesOutside: false }, PORT, '/srv/kaidu-nest', parts));

  beforeAll(async () => {
    expect(why, 'CI=true: the booted-container tests must run (root, systemd-container)').toBeUndefined();
    machine = await bootMachine();
    runner = new MachineCommandRunner({ leader: machine.leader });
    await runChecked(runner, { argv: ['rm', '-rf', TREE] });
    await runChecked(runner, { argv: ['cp', '-a', machine.base, TREE], timeoutMs: 5 * 60_000 });
    repo = await nestRepo('kaidu-nest-nspawn-');
  }, 16 * 60_000);

  afterAll(async () => {
    if (runner) {
      await outer(['systemctl', 'stop', `kaidu-nspawn-${MACHINE}.service`]).catch(() => undefined);
      await outer(['rm', '-rf', TREE]).catch(() => undefined);
    }
    if (repo) await rm(repo.dir, { recursive: true, force: true });
    await machine?.release();
  }, 5 * 60_000);

  it('writes and runs inside the machine, restarts on a changed config, fails naming the machine, deletes inside, and is a no-op once the machine is gone', async () => {
    await setTemplates({});
    const first = await applyWithRunner(repo.dir, 'box', runner);
    expect(first.errors).toBe('');
    expect(first.ok).toBe(true);
    const nodes = () => first.states.nest!.nodes;
    expect(nodes().m!.attributes).toMatchObject({ machine: MACHINE, status: 'running' });
    for (const key of NESTED_KEYS) expect(nodes()[key]!.attributes.inside, key).toEqual({ kind: 'nspawn', machine: MACHINE });
    // A Port on a machine without a private network is the outer host's port.
    expect(nodes().port!.attributes).toMatchObject({ port: PORT, address: '127.0.0.1', container_port: PORT });

    // The files are in the machine's tree (read from its outer host), not on that host itself.
    expect((await outer(['cat', `${TREE}/srv/kaidu-nest/redis.conf`])).stdout).toContain(`port ${PORT}\n`);
    expect((await outer(['stat', '-c', '%a', `${TREE}/srv/kaidu-nest/data`])).stdout.trim()).toBe('750');
    expect((await outer(['test', '-e', '/srv/kaidu-nest'])).exitCode).toBe(1);
    // The process runs inside: its pid is the machine's, and it listens there.
    const pid1 = nodes().redis!.attributes.pid as number;
    // Observed: the machine has a pid namespace of its own, so the process ends with it.
    expect(nodes().redis!.attributes.shares_host_pids).toBe(false);
    expect((await inside(['cat', `/proc/${pid1}/comm`])).stdout.trim()).toBe('redis-server');
    // In a scope of the outer host's systemd, not in the cgroup of whoever ran the agent.
    expect((await inside(['cat', `/proc/${pid1}/cgroup`])).stdout).toMatch(/^0::.*\/run-[^/\n]+\.scope$/m);
    const nest = new NspawnNest(MACHINE);
    let listening = false;
    for (let i = 0; i < 200 && !listening; i++) {
      listening = await nest.listening(runner, PORT, 'tcp');
      if (!listening) await new Promise((r) => setTimeout(r, 100));
    }
    expect(listening).toBe(true);
    expect(await nest.listening(runner, PORT + 1, 'tcp')).toBe(false);
    // Re-adoption (a restarted agent): a new delegate finds the process and the Port from the state alone.
    const dataDir = join(repo.dir, '.kaidu', 'box');
    const readopt = (key: string, type: string, st: NodeState) => new ProcessDelegate({ dataDir, runner }).inspect(context(dataDir, desired(type, st.properties, { service: 'nest', name: key, id: `nest/${key}` }), { runner, previous: st }));
    expect(await readopt('redis', 'kaidu:Process', nodes().redis!)).toMatchObject({ exists: true, status: 'running', attributes: { pid: pid1 } });
    expect(await new PortDelegate().inspect(context(dataDir, desired('kaidu:Port', nodes().port!.properties, { service: 'nest', name: 'port' }), { runner, previous: nodes().port! }))).toMatchObject({ exists: true, status: 'running' });

    // A changed config: rewritten inside, and the process that uses it restarted.
    await setTemplates({ note: 'two' });
    const second = await applyWithRunner(repo.dir, 'box', runner);
    expect(second.errors).toBe('');
    const kinds = Object.fromEntries(second.results.map((r) => [r.node, r.kind]));
    expect(kinds).toMatchObject({ 'nest/conf': 'update', 'nest/redis': 'update', 'nest/m': 'noop' });
    expect((await outer(['cat', `${TREE}/srv/kaidu-nest/redis.conf`])).stdout).toContain('# two\n');
    const pid2 = second.states.nest!.nodes.redis!.attributes.pid as number;
    expect(pid2).not.toBe(pid1);
    expect((await inside(['cat', `/proc/${pid2}/comm`])).stdout.trim()).toBe('redis-server');
    expect((await inside(['test', '-e', `/proc/${pid1}`])).exitCode).toBe(1);

    // A command that fails inside: an error naming the node and the machine, with its stderr.
    await setTemplates({ note: 'two', bad: true });
    const failing = await applyWithRunner(repo.dir, 'box', runner);
    expect(failing.ok).toBe(false);
    expect(failing.errors).toMatch(new RegExp(`^nest/bad: nest/bad exited at once \\(exit code 3\\) in nspawn machine ${MACHINE}`));
    expect(failing.errors).toContain('broken on purpose');

    // The nested nodes removed: the process stops, the files and the directory go, the machine stays.
    await setTemplates({ nested: false });
    const removed = await applyWithRunner(repo.dir, 'box', runner);
    expect(removed.errors).toBe('');
    expect((await inside(['test', '-e', `/proc/${pid2}`])).exitCode).toBe(1);
    expect((await outer(['test', '-e', `${TREE}/srv/kaidu-nest/redis.conf`])).exitCode).toBe(1);
    expect((await outer(['test', '-e', `${TREE}/srv/kaidu-nest/data`])).exitCode).toBe(1);
    expect(Object.keys(removed.states.nest!.nodes)).not.toContain('redis');
    expect(removed.states.nest!.nodes.m).toBeDefined();

    // Made again, then the machine goes away behind Kaidu's back: deleting what was inside it (and
    // the machine) is a clean no-op.
    await setTemplates({});
    const again = await applyWithRunner(repo.dir, 'box', runner);
    expect(again.errors).toBe('');
    await runChecked(runner, { argv: ['systemctl', 'stop', `kaidu-nspawn-${MACHINE}.service`], timeoutMs: 120_000 });
    expect(await nest.state(runner)).toBe('absent');
    // Inspect reports what was inside gone (observed: machinectl knows no such machine).
    expect(await readopt('redis', 'kaidu:Process', again.states.nest!.nodes.redis!)).toMatchObject({ exists: false, status: 'stopped', attributes: { status: 'gone' } });
    await rm(join(repo.dir, 'services', 'nest.yaml'));
    const gone = await applyWithRunner(repo.dir, 'box', runner);
    expect(gone.errors).toBe('');
    expect(gone.ok).toBe(true);
    expect(gone.results.filter((r) => r.kind === 'delete').map((r) => r.node).sort()).toEqual(['nest/conf', 'nest/data', 'nest/m', 'nest/port', 'nest/redis']);
    expect(gone.states.nest).toBeNull();
  }, 10 * 60_000);
});
