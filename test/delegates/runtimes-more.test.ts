import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { ContainerDelegate, DistroboxDelegate, NspawnDelegate, PodDelegate, RecordingRunner, SystemCommandRunner, VirtualMachineDelegate, parseReadiness, probeOnce, waitReady, workloadName } from '../../src/delegates/index.js';
import { compileService } from '../../src/tosca/index.js';
import type { PlainValue } from '../../src/state/model.js';
import { memoryReader } from '../support/memory-reader.js';
import { context, desired, stateOf } from '../support/delegate-context.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-rt2-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runtime command sequences (more, pinned)', () => {
  it('default names come from service and node, sanitized for every tool', () => {
    expect(workloadName(context(dir, desired('kaidu:Container', {}, { id: 'Shop/Web#2', service: 'Shop', key: 'Web#2', name: 'Web' })))).toBe('kaidu-shop-web-2');
  });

  const FMT = '{{.Id}}|{{.State.Status}}|{{.NetworkSettings.IPAddress}}|{{index .Config.Labels "kaidu.node"}}';

  it('container update with pull_policy always pulls the new image before the old container is stopped, then replaces it', async () => {
    const runner = new RecordingRunner().on('podman container inspect', { stdout: 'new1|running||svc/web\n' }).on('podman run', { stdout: 'new1\n' });
    const before = { image: 'nginx:1.26', runtime: 'podman', ports: ['8080:80'] };
    const after = { ...before, image: 'nginx:1.27', pull_policy: 'always', init: true, stop_timeout: 3 };
    const r = await new ContainerDelegate().update(context(dir, desired('kaidu:Container', after, { name: 'web' }), { runner, previous: stateOf('kaidu:Container', before, { container_id: 'old1' }) }));
    expect(runner.lines).toEqual([
      'podman pull nginx:1.27',
      `podman container inspect --format ${FMT} kaidu-svc-web`,
      // The old container stops with its own grace period; the new one gets the new one.
      'podman stop -t 10 kaidu-svc-web',
      'podman rm -f kaidu-svc-web',
      'podman run -d --name kaidu-svc-web --label kaidu.node=svc/web --label kaidu.fingerprint=fp --init --stop-timeout 3 -p 8080:80 --pull never nginx:1.27',
      `podman container inspect --format ${FMT} kaidu-svc-web`,
    ]);
    // Rootless podman reports no container address: it is reached on the host.
    expect(r.attributes).toEqual({ container_id: 'new1', status: 'running', address: '127.0.0.1' });
  });

  it('container update to another runtime and name removes the old container first; pod members publish no ports', async () => {
    const runner = new RecordingRunner()
      .on('docker container inspect', { exitCode: 1, stderr: 'Error response from daemon: No such container: cache' })
      .on('docker run', { stdout: 'd1\n' });
    const before = { image: 'redis:7', runtime: 'podman', ports: ['6379:6379'] };
    const after = { image: 'redis:7', runtime: 'docker', container_name: 'cache', ports: ['6379:6379'] };
    await expect(new ContainerDelegate().update(context(dir, desired('kaidu:Container', after, { name: 'redis' }), { runner, previous: stateOf('kaidu:Container', before, {}) }))).rejects.toMatchObject({
      code: 'E_DELEGATE',
      message: expect.stringContaining('docker run succeeded but container cache is gone'),
    });
    expect(runner.lines).toEqual([
      'docker image inspect --format {{.Id}} redis:7',
      'podman stop -t 10 kaidu-svc-redis',
      'podman rm -f kaidu-svc-redis',
      `docker container inspect --format ${FMT} cache`,
      'docker run -d --name cache --label kaidu.node=svc/redis --label kaidu.fingerprint=fp -p 6379:6379 --pull never redis:7',
      `docker container inspect --format ${FMT} cache`,
    ]);
    const member = new ContainerDelegate().runArgv(context(dir, desired('kaidu:Container', { image: 'redis:7', runtime: 'podman', ports: ['6379:6379'], pod: 'kaidu-svc-pod' }, { name: 'redis' })));
    expect(member.join(' ')).toBe('podman run -d --name kaidu-svc-redis --label kaidu.node=svc/redis --label kaidu.fingerprint=fp --pod kaidu-svc-pod --pull never redis:7');
    expect(() => new ContainerDelegate().runArgv(context(dir, desired('kaidu:Container', { image: 'redis:7', runtime: 'docker', pod: 'p' })))).toThrow(/needs runtime podman/);
  });

  it('container pull policy: missing pulls only an absent image, never refuses an absent one, anything else is refused', async () => {
    const absent = new RecordingRunner().on('podman image exists', { exitCode: 1 }).on('podman container inspect', { exitCode: 125, stderr: 'Error: inspecting object: no such container kaidu-svc-n1' });
    const node = (pull_policy?: string) => desired('kaidu:Container', { image: 'local/app:1', runtime: 'podman', ...(pull_policy ? { pull_policy } : {}) });
    await new ContainerDelegate().create(context(dir, node(), { runner: absent })).catch(() => undefined);
    expect(absent.lines.slice(0, 2)).toEqual(['podman image exists local/app:1', 'podman pull local/app:1']);
    absent.clear();
    await expect(new ContainerDelegate().create(context(dir, node('never'), { runner: absent }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('image local/app:1 is not present') });
    expect(absent.lines).toEqual(['podman image exists local/app:1']);
    await expect(new ContainerDelegate().create(context(dir, node('sometimes'), { runner: absent }))).rejects.toMatchObject({ message: expect.stringContaining('pull_policy "sometimes" is not one of always, missing, never') });
    // podman image exists: exit 125 is a failure of podman, not an absent image.
    const broken = new RecordingRunner().on('podman image exists', { exitCode: 125, stderr: 'Error: database is locked' });
    await expect(new ContainerDelegate().create(context(dir, node('never'), { runner: broken }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    // docker has no `image exists`: its exact "No such image" is absent, anything else an error.
    const dockerNode = desired('kaidu:Container', { image: 'local/app:1', runtime: 'docker', pull_policy: 'never' });
    const dockerAbsent = new RecordingRunner().on('docker image inspect', { exitCode: 1, stderr: 'Error response from daemon: no such image: local/app:1: No such image: local/app:1' });
    await expect(new ContainerDelegate().create(context(dir, dockerNode, { runner: dockerAbsent }))).rejects.toMatchObject({ code: 'E_DELEGATE' });
    const dockerDown = new RecordingRunner().on('docker image inspect', { exitCode: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' });
    await expect(new ContainerDelegate().create(context(dir, dockerNode, { runner: dockerDown }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
  });

  it('container: a container with our name that is not this node\'s is never removed', async () => {
    const runner = new RecordingRunner().on('podman container inspect', { stdout: 'x1|running||\n' });
    await expect(new ContainerDelegate().create(context(dir, desired('kaidu:Container', { image: 'a:1', runtime: 'podman', container_name: 'db' }), { runner }))).rejects.toMatchObject({
      code: 'E_DELEGATE',
      message: expect.stringContaining('a container named db already exists and was not made by Kaidu for this node'),
    });
    expect(runner.lines.some((l) => / (stop|rm) /.test(l))).toBe(false);
  });

  it('container: a failed run is E_COMMAND_FAILED with stderr; delete and inspect accept only the exact not-found texts', async () => {
    const node = desired('kaidu:Container', { image: 'nope:1', runtime: 'podman', pull_policy: 'always' });
    const failing = new RecordingRunner().on('podman pull', { exitCode: 125, stderr: 'Error: initializing source docker://nope:1: reading manifest 1 in docker.io/library/nope: manifest unknown' });
    await expect(new ContainerDelegate().create(context(dir, node, { runner: failing }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED', message: expect.stringContaining('manifest unknown') });
    const gone = new RecordingRunner()
      .on('podman stop', { exitCode: 125, stderr: 'Error: no container with name or ID "kaidu-svc-n1" found: no such container' })
      .on('podman container inspect', { exitCode: 125, stderr: 'Error: inspecting object: no such container kaidu-svc-n1' });
    await new ContainerDelegate().delete(context(dir, node, { runner: gone }));
    expect(gone.lines).toEqual(['podman stop -t 10 kaidu-svc-n1']);
    expect(await new ContainerDelegate().inspect(context(dir, node, { runner: gone }))).toEqual({ exists: false, status: 'stopped', attributes: {} });
    // Docker's client answered a bad flag with "unknown shorthand flag": once read as "gone".
    const dockerNode = desired('kaidu:Container', { image: 'a:1', runtime: 'docker' });
    const badFlag = new RecordingRunner().on('docker stop', { exitCode: 125, stderr: "unknown shorthand flag: 't' in -t\nSee 'docker stop --help'." });
    await expect(new ContainerDelegate().delete(context(dir, dockerNode, { runner: badFlag }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    const dockerGone = new RecordingRunner().on('docker stop', { exitCode: 1, stderr: 'Error response from daemon: No such container: kaidu-svc-n1' });
    await new ContainerDelegate().delete(context(dir, dockerNode, { runner: dockerGone }));
    // Someone else's not-found message, or a config error that says "no such file", is a failure.
    for (const stderr of ['Error: no container with name or ID "other" found: no such container', 'Error: finding config on system: CONTAINERS_CONF file: stat /etc/x: no such file or directory', 'Error: cannot connect to the podman socket']) {
      const broken = new RecordingRunner().on('podman', { exitCode: 125, stderr });
      await expect(new ContainerDelegate().delete(context(dir, node, { runner: broken }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
      await expect(new ContainerDelegate().inspect(context(dir, node, { runner: broken }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    }
    await expect(new ContainerDelegate().create(context(dir, desired('kaidu:Container', { runtime: 'podman' }), { runner: new RecordingRunner() }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('"image" is required') });
  });

  it('pod: docker has no pods; inspect maps the state', async () => {
    await expect(new PodDelegate().create(context(dir, desired('kaidu:Pod', { runtime: 'docker' }), { runner: new RecordingRunner() }))).rejects.toMatchObject({ code: 'E_DELEGATE' });
    const runner = new RecordingRunner().on('podman pod inspect', { stdout: 'p1|Running|i1\n' });
    expect(await new PodDelegate().inspect(context(dir, desired('kaidu:Pod', { pod_name: 'shop' }), { runner }))).toEqual({ exists: true, status: 'running', attributes: { pod_id: 'p1', pod_name: 'shop', state: 'Running', infra_container_id: 'i1' } });
    const gone = new RecordingRunner().on('podman pod', { exitCode: 125, stderr: 'Error: no pod with name or ID shop found: no such pod' }).on('podman pod inspect', { exitCode: 125, stderr: 'Error: inspecting object: no such pod shop' });
    await new PodDelegate().delete(context(dir, desired('kaidu:Pod', { pod_name: 'shop' }), { runner: gone }));
    expect((await new PodDelegate().inspect(context(dir, desired('kaidu:Pod', { pod_name: 'shop' }), { runner: gone }))).exists).toBe(false);
    const broken = new RecordingRunner().on('podman pod', { exitCode: 125, stderr: 'Error: no pod with name or ID other found: no such pod' });
    await expect(new PodDelegate().delete(context(dir, desired('kaidu:Pod', { pod_name: 'shop' }), { runner: broken }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    expect(runner.lines).toEqual(['podman pod inspect --format {{.Id}}|{{.State}}|{{.InfraContainerID}} shop']);
  });

  it('distrobox without packages or init; nspawn from an image without boot', async () => {
    const runner = new RecordingRunner().on('distrobox list', { stdout: 'ID | NAME | STATUS | IMAGE\nab12 | dev | Created | ubuntu:24.04\n' }).on('machinectl show', { stdout: 'State=running\nLeader=77\n' });
    // As the agent's own (non-root) user: no user switch.
    await new DistroboxDelegate({ uid: 1000 }).create(context(dir, desired('kaidu:Distrobox', { image: 'ubuntu:24.04', box_name: 'dev', init: false, additional_packages: [] }), { runner }));
    await new NspawnDelegate().create(context(dir, desired('kaidu:Nspawn', { image: '/var/lib/machines/a.raw', boot: false, bind: [] }, { name: 'm' }), { runner }));
    expect(runner.lines).toEqual([
      'distrobox create --yes --name dev --image ubuntu:24.04',
      'distrobox list --no-color',
      'systemd-run --unit=kaidu-nspawn-kaidu-svc-m.service --collect --property=KillMode=mixed -- systemd-nspawn --machine=kaidu-svc-m --quiet --keep-unit --image=/var/lib/machines/a.raw',
      'machinectl show kaidu-svc-m --property=State --property=Leader',
    ]);
    await expect(new NspawnDelegate().create(context(dir, desired('kaidu:Nspawn', {}), { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE' });
  });

  it('virtual machine: creates a missing disk, builds a cloud-init seed from the repository, attaches it; update redefines', async () => {
    const runner = new RecordingRunner()
      .on('virsh dumpxml', { exitCode: 1, stderr: "error: failed to get domain 'db-vm'\n" })
      .on('virsh dominfo', { stdout: 'UUID:           9f0e\nState:          running\n' })
      .on('virsh domifaddr', { stdout: ' vnet0  52:54:00:aa:bb:cc  ipv4  192.168.122.7/24\n' });
    const disk = join(dir, 'disk<1>.qcow2');
    const props = { memory: 512 * 1024 ** 2, vcpus: 1, disk, disk_size: 10 * 1024 ** 3, network: 'br"0', cloud_init: 'vm/user-data', os_variant: 'fedora40', domain_name: 'db-vm' };
    const files = { 'vm/user-data': '#cloud-config\npackages: [postgresql]\n' };
    const data = join(dir, 'data');
    const d = new VirtualMachineDelegate({ dataDir: data });
    const r = await d.create(context(data, desired('kaidu:VirtualMachine', props, { name: 'db' }), { runner, files }));
    expect(r).toEqual({ attributes: { state: 'running', uuid: '9f0e', address: '192.168.122.7' }, status: 'running' });
    const run = join(data, 'run', 'libvirt');
    const seed = `${disk}.cidata.iso`;
    expect(runner.lines).toEqual([
      'virsh dumpxml db-vm',
      `qemu-img create -q -f qcow2 ${disk} ${10 * 1024 ** 3}`,
      `genisoimage -quiet -output ${seed} -volid cidata -joliet -rock user-data meta-data`,
      `virsh define ${run}/db-vm.xml`,
      'virsh start db-vm',
      'virsh domifaddr db-vm',
      'virsh dominfo db-vm',
      'virsh domifaddr db-vm',
    ]);
    expect(runner.calls[2]!.cwd).toBe(join(run, 'db-vm.seed'));
    expect(await readFile(join(run, 'db-vm.seed', 'user-data'), 'utf8')).toBe(files['vm/user-data']);
    const xml = await readFile(join(run, 'db-vm.xml'), 'utf8');
    expect(xml).toContain(`<source file='${join(dir, 'disk&lt;1&gt;.qcow2')}'/>`);
    expect(xml).toContain("<source network='br&quot;0'/>");
    expect(xml).toContain(`<source file='${join(dir, 'disk&lt;1&gt;.qcow2.cidata.iso')}'/>`);
    expect(xml).toContain("<memory unit='KiB'>524288</memory>");
    expect(xml).toContain("os_variant='fedora40'");
    // The disk qemu-img would have made; update keeps it and redefines the domain.
    await writeFile(disk, '');
    runner.clear();
    await d.update(context(data, desired('kaidu:VirtualMachine', { ...props, cloud_init: null, vcpus: 4 }, { name: 'db' }), { runner, previous: stateOf('kaidu:VirtualMachine', props, r.attributes) }));
    expect(runner.lines).toEqual(['virsh destroy db-vm', 'virsh undefine db-vm', 'virsh dumpxml db-vm', `virsh define ${run}/db-vm.xml`, 'virsh start db-vm', 'virsh domifaddr db-vm', 'virsh dominfo db-vm', 'virsh domifaddr db-vm']);
    expect(await readFile(join(run, 'db-vm.xml'), 'utf8')).toContain('<vcpu>4</vcpu>');
  });
});

describe('readiness probes and the profile', () => {
  it('the profile types readiness, pull policy, init, stop timeout and accelerator; the values reach the delegate in seconds', async () => {
    const service = `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    h: { type: kaidu:Host }
    web:
      type: kaidu:Container
      properties: { image: a:1, pull_policy: never, init: true, stop_timeout: 3 s, readiness: { tcp: "8080", timeout: 2 m } }
      requirements: [ { host: h } ]
    vm:
      type: kaidu:VirtualMachine
      properties: { disk: /x.qcow2, accelerator: tcg }
      requirements: [ { host: h } ]
`;
    const r = await compileService('services/s.yaml', memoryReader({ 'services/s.yaml': service }), { profiles: profilesReader() });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const web = r.service!.nodes.web!.properties;
    expect(web).toMatchObject({ pull_policy: 'never', init: true, stop_timeout: 3, readiness: { tcp: '8080', timeout: 120 } });
    expect(parseReadiness(web.readiness as PlainValue, 'svc/web')).toEqual({ tcp: { host: '127.0.0.1', port: 8080 }, timeoutS: 120 });
    expect(r.service!.nodes.vm!.properties.accelerator).toBe('tcg');
    const dflt = await compileService('services/s.yaml', memoryReader({ 'services/s.yaml': service.replace(/properties: \{ image: a:1.*\}/, 'properties: { image: a:1 }') }), { profiles: profilesReader() });
    expect(dflt.service!.nodes.web!.properties).toMatchObject({ pull_policy: 'missing', init: false, stop_timeout: 10 });
  });

  it('parses one probe kind and refuses the rest with the node named', () => {
    expect(parseReadiness(undefined, 'n')).toBeUndefined();
    expect(parseReadiness({ http: 'http://127.0.0.1:1/x' }, 'n')).toEqual({ http: 'http://127.0.0.1:1/x', timeoutS: 60 });
    expect(parseReadiness({ tcp: 'db.local:5432', timeout: 5 }, 'n')).toEqual({ tcp: { host: 'db.local', port: 5432 }, timeoutS: 5 });
    expect(parseReadiness({ command: ['redis-cli', 'ping'] }, 'n')).toEqual({ command: ['redis-cli', 'ping'], timeoutS: 60 });
    expect(() => parseReadiness({ tcp: 80, http: 'http://x' }, 'svc/n')).toThrow(/svc\/n: readiness gives tcp and http: give one probe/);
    expect(() => parseReadiness({ tcp: 70000 }, 'n')).toThrow(/not a port/);
    expect(() => parseReadiness({ http: 'ftp://x' }, 'n')).toThrow(/not an http/);
    expect(() => parseReadiness({ command: [] }, 'n')).toThrow(/non-empty list/);
    expect(() => parseReadiness({ tcp: 80, timeout: -1 }, 'n')).toThrow(/positive number of seconds/);
  });

  it('probes real sockets, a real HTTP server and real commands; waits for a late listener; times out with the last failure', async () => {
    const signal = new AbortController().signal;
    const env = { runner: new SystemCommandRunner(), signal };
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/ok' ? 200 : 503;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      expect(await probeOnce({ tcp: { host: '127.0.0.1', port }, timeoutS: 1 }, env)).toBeUndefined();
      expect(await probeOnce({ http: `http://127.0.0.1:${port}/ok`, timeoutS: 1 }, env)).toBeUndefined();
      expect(await probeOnce({ http: `http://127.0.0.1:${port}/down`, timeoutS: 1 }, env)).toBe(`http://127.0.0.1:${port}/down answered 503`);
      expect(await probeOnce({ command: ['true'], timeoutS: 1 }, env)).toBeUndefined();
      expect(await probeOnce({ command: ['sh', '-c', 'echo nope >&2; exit 4'], timeoutS: 1 }, env)).toBe('sh -c echo nope >&2; exit 4 exited with 4: nope');
      // The wrapper decides where a command runs (a container's exec).
      expect(await probeOnce({ command: ['x'], timeoutS: 1 }, { ...env, wrapCommand: (a) => ['echo', ...a] })).toBeUndefined();
    } finally {
      await new Promise((r) => server.close(r));
    }
    // Nothing listens on the closed port: refused, and after the timeout the action fails with that reason.
    await expect(waitReady({ tcp: { host: '127.0.0.1', port }, timeoutS: 0.3 }, env, 'svc/web')).rejects.toMatchObject({ code: 'E_DELEGATE_TIMEOUT', message: expect.stringContaining('ECONNREFUSED') });
    // A listener that comes later is waited for.
    const late = createNetServer();
    const waiting = waitReady({ tcp: { host: '127.0.0.1', port }, timeoutS: 60 }, env, 'svc/web');
    await new Promise<void>((r) => late.listen(port, '127.0.0.1', r));
    await waiting;
    await new Promise((r) => late.close(r));
    // What died will never be ready: no waiting out the timeout.
    await expect(waitReady({ tcp: { host: '127.0.0.1', port }, timeoutS: 600 }, env, 'svc/web', async () => 'the container is exited')).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('will not be: the container is exited') });
  });
});
