/**
 * How nesting is wired, without a runtime: the Ports hosted on a container become its `publish`
 * (so adding one recreates it, and its nested nodes with it); apply hands a nested node the
 * workload it runs in (a container, an nspawn machine, a distrobox), and how each is entered.
 */
import { describe, expect, it } from 'vitest';
import { hostedOnOf } from '../../src/apply/hosted-on.js';
import { ContainerDelegate, ProcessDelegate, RecordingRunner } from '../../src/delegates/index.js';
import { NestedProcess } from '../../src/delegates/nested-process.js';
import { DistroboxNest, NspawnNest } from '../../src/delegates/nesting.js';
import { plan, resolveNode } from '../../src/plan/index.js';
import type { StateSnapshot } from '../../src/state/model.js';
import { buildTopology } from '../../src/topology/index.js';
import { context, desired, stateOf } from '../support/delegate-context.js';
import { host, node, service } from '../support/compiled.js';

const topology = (ports: Array<Record<string, string | number | boolean>>) =>
  buildTopology([
    service('svc', [
      host('h'),
      node('c', { type: 'kaidu:Container', host: 'h', properties: { image: 'busybox' } }),
      ...ports.map((p, i) => node(`p${i}`, { type: 'kaidu:Port', host: 'c', properties: p })),
      node('web', { host: 'c', dependsOn: ports.length ? ['p0'] : [], properties: { command: ['httpd'] } }),
      node('outside', { host: 'h', properties: { command: ['true'] } }),
    ]),
  ]);

const snapshotWith = (nodes: Record<string, { type: string; fingerprint: string; properties: Record<string, never> | Record<string, unknown>; attributes: Record<string, unknown> }>): StateSnapshot =>
  ({ h: { svc: { schema: 'kaidu/state/v1', host: 'h', service: 'svc', revision: 'r0', updatedAt: 'x', nodes: Object.fromEntries(Object.entries(nodes).map(([k, n]) => [k, { ...n, status: 'running', revision: 'r0', appliedAt: 'x' }])) } } }) as StateSnapshot;

/**
 * Answers a nested process's launcher with pid 7; its first probe finds nothing there (before the
 * launch), the ones after find pid 7 running.
 */
function launchingRunner(): RecordingRunner {
  let probes = 0;
  const isProbe = (argv: string[]) => argv.join(' ').includes('sh -c d=$1\np=');
  return new RecordingRunner()
    .on(/ sh -c d=\$1; h=\$2/, { stdout: 'pid=7\nend=ok\n' })
    .on((argv) => isProbe(argv) && probes++ > 0, { stdout: 'pid=7\nexit=\nspec=\nstat=S 1 7 7 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 4242\nend=ok\n' })
    .on(isProbe, { stdout: 'pid=\nexit=\nspec=\nend=ok\n' });
}

describe('nesting wiring', () => {
  it('a container publishes the fixed Ports hosted on it: on loopback, or everywhere when exposed or reached elsewhere; allocated ones cannot be', () => {
    const t = topology([{ port: 8080 }, { port: 9090, expose: true }, { port: 5353, protocol: 'udp', address: '10.0.0.5' }, { protocol: 'tcp' }]);
    const c = resolveNode(t.nodes['svc/c']!, t, {});
    expect(c.display.publish).toEqual(['127.0.0.1:8080:8080/tcp', '5353:5353/udp', '9090:9090/tcp']);
    // A container that hosts no Port has no `publish` (and keeps its plain fingerprint).
    const bare = topology([]);
    expect(resolveNode(bare.nodes['svc/c']!, bare, {}).display.publish).toBeUndefined();
  });

  it('adding a Port to a running container recreates it, and restarts what runs inside it', () => {
    const before = topology([]);
    const applied = plan(before, {}, { revision: 'r0', host: 'h' });
    const state: Parameters<typeof snapshotWith>[0] = {};
    for (const a of applied.hosts[0]!.waves.flat()) state[a.key] = { type: a.type, fingerprint: a.desired!.fingerprint, properties: {}, attributes: a.key === 'c' ? { container_id: 'abc' } : {} };
    const snapshot = snapshotWith(state);
    expect(plan(before, snapshot, { revision: 'r1', host: 'h' }).summary).toMatchObject({ create: 0, update: 0 });
    const after = plan(topology([{ port: 8080 }]), snapshot, { revision: 'r1', host: 'h' });
    const actions = Object.fromEntries(after.hosts[0]!.waves.flat().map((a) => [a.key, a]));
    expect(actions.c).toMatchObject({ kind: 'update', destructive: true });
    expect(actions.c!.changes.map((ch) => ch.path)).toContain('publish');
    expect(actions.web).toMatchObject({ kind: 'update', reason: expect.stringContaining('svc/c') });
    expect(actions.p0).toMatchObject({ kind: 'create' });
    expect(actions.outside).toMatchObject({ kind: 'noop' });
  });

  it('apply hands a node hosted on a container that container (with its recorded id); a node on the machine gets none', () => {
    const t = topology([{ port: 8080 }]);
    const snapshot = snapshotWith({ c: { type: 'kaidu:Container', fingerprint: 'x', properties: { runtime: 'docker' } as Record<string, unknown>, attributes: { container_id: 'abc123' } } });
    expect(hostedOnOf(t.nodes['svc/web']!, t, snapshot)).toMatchObject({ node: 'svc/c', type: 'kaidu:Container', properties: { runtime: 'docker' }, attributes: { container_id: 'abc123' } });
    expect(hostedOnOf(t.nodes['svc/outside']!, t, snapshot)).toBeUndefined();
    expect(hostedOnOf(t.nodes['svc/c']!, t, snapshot)).toBeUndefined();
  });

  it('a nested process runs through the engine exec by container id', async () => {
    const runner = launchingRunner();
    const d = new ProcessDelegate({ dataDir: '/nonexistent-kaidu-data', runner, startupCheckMs: 0 });
    const hostedOn = { node: 'svc/c', type: 'kaidu:Container', types: ['kaidu:Container'], properties: { runtime: 'docker' }, attributes: { container_id: 'abc123' } };
    const r = await d.create(context('/nonexistent-kaidu-data', desired('kaidu:Process', { command: ['httpd', '-f'], env: { A: '$(x)' } }, { name: 'web', hostedOn }), { runner }));
    expect(r.attributes).toMatchObject({ pid: 7, start_time: '4242', inside: { kind: 'container', runtime: 'docker', container_id: 'abc123' } });
    const launch = runner.calls.find((c) => c.argv.includes('httpd'))!.argv;
    expect(launch.slice(0, 3)).toEqual(['docker', 'exec', '-i']);
    expect(launch).toContain('A=$(x)');
    expect(launch.slice(launch.indexOf('abc123') + 1, launch.indexOf('abc123') + 3)).toEqual(['sh', '-c']);
    expect(launch.slice(-2)).toEqual(['httpd', '-f']);
    // Nothing ran on the machine itself: every command went through docker exec.
    expect(runner.calls.every((c) => c.argv[0] === 'docker')).toBe(true);

  });

  it('a process nested in an nspawn machine enters the machine\'s current leader (in a scope of the outer host); in a distrobox, podman exec as the box\'s user', async () => {
    const runner = launchingRunner();
    const d = new ProcessDelegate({ dataDir: '/nonexistent-kaidu-data', runner, startupCheckMs: 0 });
    const nspawn = { node: 'svc/m', type: 'kaidu:Nspawn', types: ['kaidu:Nspawn'], properties: {}, attributes: { machine: 'legacy', status: 'running' } };
    const r = await d.create(context('/nonexistent-kaidu-data', desired('kaidu:Process', { command: ['httpd', '-f'], user: 'www', cwd: '/srv' }, { name: 'web', hostedOn: nspawn }), { runner }));
    expect(r.attributes).toMatchObject({ pid: 7, inside: { kind: 'nspawn', machine: 'legacy' } });
    const launch = runner.calls.find((c) => c.argv.includes('httpd'))!.argv;
    expect(launch.slice(0, 5)).toEqual(['systemd-run', '--scope', '--quiet', '--collect', '--description=kaidu: a command in nspawn machine legacy']);
    // The leader is looked up by name in the same shell that enters it; user values are arguments.
    expect(launch.slice(6, 8)).toEqual(['sh', '-c']);
    expect(launch[8]).toContain('machinectl show --property=Leader --value "$1"');
    expect(launch.slice(9, 13)).toEqual(['kaidu', 'legacy', '--wdns=/srv', '--']);
    expect(launch.slice(13, 16)).toEqual(['env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    expect(launch.slice(launch.indexOf('runuser'), launch.indexOf('runuser') + 4)).toEqual(['runuser', '-u', 'www', '--']);
    expect(runner.calls.every((c) => c.argv[0] === 'systemd-run')).toBe(true);
    // A machine that was never created has no name in its state: a clear error, nothing run.
    const before = runner.calls.length;
    await expect(d.create(context('/nonexistent-kaidu-data', desired('kaidu:Process', { command: ['true'] }, { hostedOn: { ...nspawn, attributes: {} } }), { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('the nspawn machine svc/m has no machine name in its state') });
    expect(runner.calls.length).toBe(before);

    // A distrobox of another user, from an agent running as root: podman as that user, exec as that user inside.
    const box = new DistroboxNest('tools', 'alice', true);
    expect(box.execArgv(['id'], { env: { B: '2', A: '1' } })).toEqual(['sh', '-c', expect.stringContaining('exec setpriv --reuid="$u" --regid="$g" --init-groups --reset-env "$@"'), 'kaidu', 'alice', 'podman', 'exec', '-i', '--user', 'alice', '--env', 'A=1', '--env', 'B=2', 'tools', 'id']);
    expect(new DistroboxNest('tools', 'alice', false).execArgv(['id'], { user: 'root' })).toEqual(['podman', 'exec', '-i', '--user', 'root', 'tools', 'id']);
    expect(() => new DistroboxNest('-rm', 'alice', true)).toThrow(/not a valid container name/);
    expect(() => new NspawnNest('a/b')).toThrow(/not a valid host name/);
  });

  it('a process in a box that shares the host\'s pids is recorded so; with the box gone, inspect finds it on the host by pid and start time, and delete stops it there', async () => {
    const HOST_NS = 'pid:[4026531836]';
    const hostStat = (start: string) => `stat=S 1 7 7 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 ${start}\nend=ok\n`;
    const box = new DistroboxNest('tools', 'alice', false);
    const nested = new NestedProcess();
    const node = desired('kaidu:Process', { command: ['redis-server'] }, { name: 'redis' });
    const made = async (ns: string) => {
      let probes = 0;
      const isProbe = (argv: string[]) => argv.join(' ').includes('sh -c d=$1\np=');
      const runner = new RecordingRunner()
        .on(/^podman container inspect --format \{\{\.State\.Status\}\} tools$/, { stdout: 'running\n' })
        .on(/ sh -c d=\$1; h=\$2/, { stdout: 'pid=7\nend=ok\n' })
        .on((argv) => isProbe(argv) && probes++ > 0, { stdout: `pid=7\nexit=\nspec=\nstat=S 1 7 7 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 4242\nns=${ns}\nend=ok\n` })
        .on(isProbe, { stdout: 'pid=\nexit=\nspec=\nend=ok\n' })
        .on('readlink /proc/self/ns/pid', { stdout: `${HOST_NS}\n` });
      return (await nested.create(context('/nonexistent-kaidu-data', node, { runner }), box)).attributes!;
    };
    // Observed: the process's pid namespace, read inside, against the host's own.
    expect(await made('pid:[4026532999]')).toMatchObject({ pid: 7, start_time: '4242', shares_host_pids: false });
    const attributes = await made(HOST_NS);
    expect(attributes).toMatchObject({ pid: 7, start_time: '4242', shares_host_pids: true });

    // The box is gone; the host's /proc says whether that very process (pid and start time) still runs.
    const gone = (start: string | undefined) =>
      new RecordingRunner()
        .on(/^podman container inspect/, { exitCode: 125, stderr: 'Error: no such container tools\n' })
        .on(/^sh -c if \[ -r "\/proc\/\$1\/stat" \]/, { stdout: start ? hostStat(start) : 'end=ok\n' });
    const previous = stateOf('kaidu:Process', node.properties, attributes);
    const inspect = (runner: RecordingRunner, prev = previous) => nested.inspect(context('/nonexistent-kaidu-data', node, { runner, previous: prev }), box);
    const outlived = gone('4242');
    expect(await inspect(outlived)).toMatchObject({ exists: true, status: 'running', attributes: { pid: 7, status: 'running' } });
    expect(outlived.calls.at(-1)!.argv.slice(-2)).toEqual(['kaidu', '7']);
    expect(await inspect(gone('5555'))).toMatchObject({ exists: false, attributes: { status: 'gone' } });
    expect(await inspect(gone(undefined))).toMatchObject({ exists: false, attributes: { status: 'gone' } });
    // Without the observation (a workload with its own pids), the host's /proc is not asked: that pid is another process's.
    const own = gone('4242');
    expect(await inspect(own, stateOf('kaidu:Process', node.properties, { ...attributes, shares_host_pids: false }))).toMatchObject({ exists: false });
    expect(own.calls.map((c) => c.argv[0])).toEqual(['podman']);

    // Delete stops it on the host, by the recorded pid and start time (the script checks both before each signal).
    const stopping = new RecordingRunner().on(/^podman container inspect/, { exitCode: 125, stderr: 'Error: no such container tools\n' }).on(/^sh -c p=\$1; st=\$2/, { stdout: 'end=ok\n' });
    await nested.delete(context('/nonexistent-kaidu-data', node, { runner: stopping, previous }), box);
    expect(stopping.calls.at(-1)!.argv.slice(3)).toEqual(['kaidu', '7', '4242', '100']);
    // A stop that fails (still running after SIGKILL) is an error, not a quiet success.
    const stuck = new RecordingRunner().on(/^podman container inspect/, { exitCode: 125, stderr: 'Error: no such container tools\n' }).on(/^sh -c p=\$1; st=\$2/, { exitCode: 72 });
    await expect(nested.delete(context('/nonexistent-kaidu-data', node, { runner: stuck, previous }), box)).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
  });

  it('a container publishes its hosted Ports with -p; in a pod it cannot, and says so', () => {
    const d = new ContainerDelegate();
    const argv = d.runArgv(context('/d', desired('kaidu:Container', { image: 'busybox', publish: ['127.0.0.1:8080:8080/tcp'] })));
    expect(argv.join(' ')).toContain('-p 127.0.0.1:8080:8080/tcp');
    expect(() => d.runArgv(context('/d', desired('kaidu:Container', { image: 'busybox', pod: 'p', publish: ['127.0.0.1:8080:8080/tcp'] })))).toThrow(/the pod publishes ports/);
  });
});
