import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContainerDelegate, DistroboxDelegate, NspawnDelegate, PodDelegate, RecordingRunner, VirtualMachineDelegate, workloadName } from '../../src/delegates/index.js';
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

  it('container update pulls the new image before the old container goes, then replaces it', async () => {
    const runner = new RecordingRunner().on('podman inspect', { stdout: 'new1 running \n' }).on('podman run', { stdout: 'new1\n' });
    const before = { image: 'nginx:1.26', runtime: 'podman', ports: ['8080:80'] };
    const after = { ...before, image: 'nginx:1.27' };
    const r = await new ContainerDelegate().update(context(dir, desired('kaidu:Container', after, { name: 'web' }), { runner, previous: stateOf('kaidu:Container', before, { container_id: 'old1' }) }));
    expect(runner.lines).toEqual([
      'podman pull nginx:1.27',
      'podman rm -f -t 10 kaidu-svc-web',
      'podman run -d --name kaidu-svc-web --label kaidu.node=svc/web --label kaidu.fingerprint=fp -p 8080:80 nginx:1.27',
      'podman inspect --format {{.Id}} {{.State.Status}} {{.NetworkSettings.IPAddress}} kaidu-svc-web',
    ]);
    // Rootless podman reports no container address: it is reached on the host.
    expect(r.attributes).toEqual({ container_id: 'new1', status: 'running', address: '127.0.0.1' });
  });

  it('container update to another runtime and name removes the old container first; pod members publish no ports', async () => {
    const runner = new RecordingRunner().on('docker inspect', { stdout: 'd1 running 172.17.0.2\n' });
    const before = { image: 'redis:7', runtime: 'podman', ports: ['6379:6379'] };
    const after = { image: 'redis:7', runtime: 'docker', container_name: 'cache', ports: ['6379:6379'] };
    await new ContainerDelegate().update(context(dir, desired('kaidu:Container', after, { name: 'redis' }), { runner, previous: stateOf('kaidu:Container', before, {}) }));
    expect(runner.lines).toEqual([
      'docker pull redis:7',
      'podman rm -f -t 10 kaidu-svc-redis',
      'docker rm -f -t 10 cache',
      'docker run -d --name cache --label kaidu.node=svc/redis --label kaidu.fingerprint=fp -p 6379:6379 redis:7',
      'docker inspect --format {{.Id}} {{.State.Status}} {{.NetworkSettings.IPAddress}} cache',
    ]);
    const member = new ContainerDelegate().runArgv(context(dir, desired('kaidu:Container', { image: 'redis:7', runtime: 'podman', ports: ['6379:6379'], pod: 'kaidu-svc-pod' }, { name: 'redis' })));
    expect(member.join(' ')).toBe('podman run -d --name kaidu-svc-redis --label kaidu.node=svc/redis --label kaidu.fingerprint=fp --pod kaidu-svc-pod redis:7');
    expect(() => new ContainerDelegate().runArgv(context(dir, desired('kaidu:Container', { image: 'redis:7', runtime: 'docker', pod: 'p' })))).toThrow(/needs runtime podman/);
  });

  it('container: a failed run is E_COMMAND_FAILED with stderr; delete tolerates a container already gone but not other errors; inspect of a missing one', async () => {
    const node = desired('kaidu:Container', { image: 'nope:1', runtime: 'podman' });
    const failing = new RecordingRunner().on('podman pull', { exitCode: 125, stderr: 'Error: initializing source docker://nope:1: reading manifest 1 in docker.io/library/nope: manifest unknown' });
    await expect(new ContainerDelegate().create(context(dir, node, { runner: failing }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED', message: expect.stringContaining('manifest unknown') });
    const gone = new RecordingRunner().on('podman rm', { exitCode: 1, stderr: 'Error: no container with name or ID "kaidu-svc-n1" found: no such container' }).on('podman inspect', { exitCode: 125, stderr: 'no such object' });
    await new ContainerDelegate().delete(context(dir, node, { runner: gone }));
    expect(await new ContainerDelegate().inspect(context(dir, node, { runner: gone }))).toEqual({ exists: false, status: 'stopped', attributes: {} });
    const broken = new RecordingRunner().on('podman rm', { exitCode: 125, stderr: 'Error: cannot connect to the podman socket' });
    await expect(new ContainerDelegate().delete(context(dir, node, { runner: broken }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    await expect(new ContainerDelegate().create(context(dir, desired('kaidu:Container', { runtime: 'podman' }), { runner: new RecordingRunner() }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('"image" is required') });
  });

  it('pod: docker has no pods; inspect maps the state', async () => {
    await expect(new PodDelegate().create(context(dir, desired('kaidu:Pod', { runtime: 'docker' }), { runner: new RecordingRunner() }))).rejects.toMatchObject({ code: 'E_DELEGATE' });
    const runner = new RecordingRunner().on('podman pod inspect', { stdout: 'p1 Running\n' });
    expect(await new PodDelegate().inspect(context(dir, desired('kaidu:Pod', { pod_name: 'shop' }), { runner }))).toEqual({ exists: true, status: 'running', attributes: { pod_id: 'p1' } });
    expect(runner.lines).toEqual(['podman pod inspect --format {{.Id}} {{.State}} shop']);
  });

  it('distrobox without packages or init; nspawn from an image without boot', async () => {
    const runner = new RecordingRunner();
    await new DistroboxDelegate().create(context(dir, desired('kaidu:Distrobox', { image: 'ubuntu:24.04', box_name: 'dev', init: false, additional_packages: [] }), { runner }));
    await new NspawnDelegate().create(context(dir, desired('kaidu:Nspawn', { image: '/var/lib/machines/a.raw', boot: false, bind: [] }, { name: 'm' }), { runner }));
    expect(runner.lines).toEqual([
      'distrobox create --yes --name dev --image ubuntu:24.04',
      'systemd-run --unit=kaidu-nspawn-kaidu-svc-m --property=KillMode=mixed -- systemd-nspawn --machine=kaidu-svc-m --quiet --keep-unit --image=/var/lib/machines/a.raw',
      'machinectl show kaidu-svc-m --property=State --property=Leader',
    ]);
    await expect(new NspawnDelegate().create(context(dir, desired('kaidu:Nspawn', {}), { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE' });
  });

  it('virtual machine: creates a missing disk, builds a cloud-init seed from the repository, attaches it; update redefines', async () => {
    const runner = new RecordingRunner().on('virsh dominfo', { stdout: 'UUID:           9f0e\nState:          running\n' });
    const disk = join(dir, 'disk<1>.qcow2');
    const props = { memory: 512 * 1024 ** 2, vcpus: 1, disk, disk_size: 10 * 1024 ** 3, network: 'br"0', cloud_init: 'vm/user-data', os_variant: 'fedora40', domain_name: 'db-vm' };
    const files = { 'vm/user-data': '#cloud-config\npackages: [postgresql]\n' };
    const d = new VirtualMachineDelegate({ dataDir: dir });
    const r = await d.create(context(dir, desired('kaidu:VirtualMachine', props, { name: 'db' }), { runner, files }));
    expect(r).toEqual({ attributes: { state: 'running', uuid: '9f0e', address: null }, status: 'running' });
    const run = join(dir, 'run', 'libvirt');
    expect(runner.lines).toEqual([
      `qemu-img create -f qcow2 ${disk} ${10 * 1024 ** 3}`,
      `cloud-localds ${run}/db-vm.seed.iso ${run}/db-vm.user-data ${run}/db-vm.meta-data`,
      `virsh define ${run}/db-vm.xml`,
      'virsh start db-vm',
      'virsh dominfo db-vm',
      'virsh domifaddr db-vm',
    ]);
    expect(await readFile(join(run, 'db-vm.user-data'), 'utf8')).toBe(files['vm/user-data']);
    const xml = await readFile(join(run, 'db-vm.xml'), 'utf8');
    expect(xml).toContain(`<source file='${join(dir, 'disk&lt;1&gt;.qcow2')}'/>`);
    expect(xml).toContain("<source network='br&quot;0'/>");
    expect(xml).toContain(`<source file='${run}/db-vm.seed.iso'/>`);
    expect(xml).toContain("<memory unit='KiB'>524288</memory>");
    expect(xml).toContain("os_variant='fedora40'");
    runner.clear();
    await d.update(context(dir, desired('kaidu:VirtualMachine', { ...props, cloud_init: null, disk_size: null, vcpus: 4 }, { name: 'db' }), { runner, previous: stateOf('kaidu:VirtualMachine', props, r.attributes) }));
    expect(runner.lines).toEqual(['virsh destroy db-vm', 'virsh undefine db-vm', `virsh define ${run}/db-vm.xml`, 'virsh start db-vm', 'virsh dominfo db-vm', 'virsh domifaddr db-vm']);
    expect(await readFile(join(run, 'db-vm.xml'), 'utf8')).toContain('<vcpu>4</vcpu>');
  });
});
