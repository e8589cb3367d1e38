import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContainerDelegate, PodDelegate, RecordingRunner, SystemCommandRunner, VirtualMachineDelegate, chooseAccelerator, domainXml } from '../../src/delegates/index.js';
import { context, desired, stateOf } from '../support/delegate-context.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-rt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Whether a tool really works here (docker's client exists without an engine: ask the engine). */
function works(argv: string[]): boolean {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
const virsh = works(['virsh', '--connect', 'qemu:///system', 'list']);

describe('command sequences (pinned)', () => {
  it('container: image present, no leftover, run with labels, env, ports, volumes; inspect; stop and remove', async () => {
    const fmt = '{{.Id}}|{{.State.Status}}|{{.NetworkSettings.IPAddress}}|{{index .Config.Labels "kaidu.node"}}';
    let inspected = 0;
    const runner = new RecordingRunner()
      .on((a) => a.join(' ').startsWith('podman container inspect') && inspected++ === 0, { exitCode: 125, stderr: 'Error: inspecting object: no such container kaidu-svc-web\n' })
      .on('podman container inspect', { stdout: 'abc123|running|10.88.0.5|svc/web\n' })
      .on('podman run', { stdout: 'abc123\n' });
    const d = new ContainerDelegate();
    const node = desired('kaidu:Container', { image: 'docker.io/library/nginx:1.27', runtime: 'podman', env: { B: '2' }, ports: ['8080:80'], volumes: ['/srv:/data:ro'], command: ['nginx', '-g', 'daemon off;'] }, { env: { DB_PORT: '5432' }, name: 'web' });
    const r = await d.create(context(dir, node, { runner }));
    await d.delete(context(dir, node, { runner, previous: stateOf('kaidu:Container', node.properties, r.attributes) }));
    expect(runner.lines).toEqual([
      'podman image exists docker.io/library/nginx:1.27',
      `podman container inspect --format ${fmt} kaidu-svc-web`,
      'podman run -d --name kaidu-svc-web --label kaidu.node=svc/web --label kaidu.fingerprint=fp -e B=2 -e DB_PORT=5432 -p 8080:80 -v /srv:/data:ro --pull never docker.io/library/nginx:1.27 nginx -g daemon off;',
      `podman container inspect --format ${fmt} kaidu-svc-web`,
      'podman stop -t 10 kaidu-svc-web',
      'podman rm -f kaidu-svc-web',
    ]);
    expect(r.attributes).toEqual({ container_id: 'abc123', status: 'running', address: '10.88.0.5' });
    // The argv is data, never a shell line: a hostile value stays one argument.
    const hostile = desired('kaidu:Container', { image: 'x', runtime: 'docker', env: { A: '$(rm -rf /); echo' } });
    expect(d.runArgv(context(dir, hostile))).toContain('A=$(rm -rf /); echo');
  });

  it('pod: create with published ports, start, delete', async () => {
    let looked = 0;
    const runner = new RecordingRunner()
      .on((a) => a[2] === 'inspect' && looked++ === 0, { exitCode: 125, stderr: 'Error: inspecting object: no such pod kaidu-svc-shop' })
      .on('podman pod create', { stdout: 'pod99\n' })
      .on('podman pod inspect', { stdout: 'pod99|Running|infra9\n' });
    const d = new PodDelegate();
    const node = desired('kaidu:Pod', { runtime: 'podman', ports: ['8080:80'] }, { name: 'shop' });
    expect(await d.create(context(dir, node, { runner }))).toEqual({ attributes: { pod_id: 'pod99', pod_name: 'kaidu-svc-shop', state: 'Running', infra_container_id: 'infra9' }, status: 'running' });
    await d.delete(context(dir, node, { runner }));
    expect(runner.lines).toEqual([
      'podman pod inspect --format {{index .Labels "kaidu.node"}} kaidu-svc-shop',
      'podman pod create --name kaidu-svc-shop --label kaidu.node=svc/shop -p 8080:80',
      'podman pod start kaidu-svc-shop',
      'podman pod inspect --format {{.Id}}|{{.State}}|{{.InfraContainerID}} kaidu-svc-shop',
      'podman pod rm -f -t 10 kaidu-svc-shop',
    ]);
    // A pod with the name that is someone else's is left alone.
    const foreign = new RecordingRunner().on('podman pod inspect', { stdout: 'svc/other\n' });
    await expect(d.create(context(dir, node, { runner: foreign }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('(it belongs to svc/other)') });
    expect(foreign.lines.some((l) => l.includes(' rm '))).toBe(false);
  });

  it('virtual machine: a generated, escaped domain XML; define, start, wait for an address, dominfo; destroy, undefine', async () => {
    const absent = { exitCode: 1, stderr: "error: failed to get domain 'kaidu-svc-vm'\n" };
    const runner = new RecordingRunner()
      .on('virsh dumpxml', absent)
      .on('virsh dominfo', { stdout: 'UUID:           1234-abcd\nState:          running\n' })
      .on('virsh domifaddr', { stdout: ' vnet0  52:54:00:aa:bb:cc  ipv4  192.168.122.50/24\n' });
    const d = new VirtualMachineDelegate({ dataDir: dir, kvmPresent: () => true });
    const disk = join(dir, "img", "a'b.qcow2");
    await mkdir(join(dir, 'img'));
    await writeFile(disk, '');
    const node = desired('kaidu:VirtualMachine', { memory: 2 * 1024 ** 3, vcpus: 2, disk, network: 'default' }, { name: 'vm' });
    const data = join(dir, 'data');
    const r = await d.create(context(data, node, { runner }));
    expect(r).toEqual({ attributes: { state: 'running', uuid: '1234-abcd', address: '192.168.122.50' }, status: 'running' });
    await d.delete(context(data, node, { runner: new RecordingRunner() }));
    const xmlFile = join(data, 'run', 'libvirt', 'kaidu-svc-vm.xml');
    expect(runner.lines).toEqual(['virsh dumpxml kaidu-svc-vm', `virsh define ${xmlFile}`, 'virsh start kaidu-svc-vm', 'virsh domifaddr kaidu-svc-vm', 'virsh dominfo kaidu-svc-vm', 'virsh domifaddr kaidu-svc-vm']);
    // A disk that was there before is the user's: delete keeps it.
    expect(await readFile(disk, 'utf8')).toBe('');
    const xml = domainXml('kaidu-svc-vm', node.properties, 'svc/vm');
    expect(xml).toContain("<memory unit='KiB'>2097152</memory>");
    expect(xml).toContain(`<source file='${disk.replace("'", '&apos;')}'/>`);
    expect(() => domainXml('x', {}, 'svc/vm')).toThrow(/"disk" is required/);
  });

  it('virtual machine: kvm with host-passthrough only when /dev/kvm is there or the template asks; qemu (tcg) otherwise', async () => {
    const props = { disk: '/img/a.qcow2' };
    const kvm = domainXml('vm', props, 'svc/vm', { accelerator: chooseAccelerator(props, 'svc/vm', true) });
    expect(kvm).toMatch(/^<domain type='kvm'>/);
    expect(kvm).toContain("<cpu mode='host-passthrough'/>");
    const tcg = domainXml('vm', props, 'svc/vm', { accelerator: chooseAccelerator(props, 'svc/vm', false) });
    expect(tcg).toMatch(/^<domain type='qemu'>/);
    expect(tcg).not.toContain('host-passthrough');
    expect(chooseAccelerator({ ...props, accelerator: 'tcg' }, 'svc/vm', true)).toBe('tcg');
    expect(chooseAccelerator({ ...props, accelerator: 'kvm' }, 'svc/vm', false)).toBe('kvm');
    expect(() => chooseAccelerator({ ...props, accelerator: 'hvf' }, 'svc/vm', true)).toThrow(/accelerator "hvf" is not one of auto, kvm, tcg/);
    // The delegate asks at create time: no /dev/kvm means a qemu domain that libvirt can define here.
    const runner = new RecordingRunner()
      .on('virsh dumpxml', { exitCode: 1, stderr: "error: failed to get domain 'kaidu-svc-vm'\n" })
      .on('virsh dominfo', { stdout: 'UUID: u\nState: running\n' })
      .on('virsh domifaddr', { stdout: ' vnet0  52:54:00:aa:bb:cc  ipv4  192.168.122.50/24\n' });
    const disk = join(dir, 'a.qcow2');
    await writeFile(disk, '');
    const data = join(dir, 'data');
    await new VirtualMachineDelegate({ dataDir: data, kvmPresent: () => false }).create(context(data, desired('kaidu:VirtualMachine', { disk }, { name: 'vm' }), { runner }));
    expect(await readFile(join(data, 'run', 'libvirt', 'kaidu-svc-vm.xml'), 'utf8')).toMatch(/^<domain type='qemu'>/);
    await new VirtualMachineDelegate({ dataDir: data, kvmPresent: () => true }).create(context(data, desired('kaidu:VirtualMachine', { disk }, { name: 'vm' }), { runner }));
    expect(await readFile(join(data, 'run', 'libvirt', 'kaidu-svc-vm.xml'), 'utf8')).toMatch(/^<domain type='kvm'>/);
  });

  it('virtual machine: a domain already gone is absent; any other virsh failure is an error, never "absent"', async () => {
    const d = new VirtualMachineDelegate({ dataDir: dir });
    const node = desired('kaidu:VirtualMachine', { disk: '/x' }, { name: 'vm' });
    const gone = new RecordingRunner().on('virsh', { exitCode: 1, stderr: "error: failed to get domain 'kaidu-svc-vm'\n" });
    expect((await d.inspect(context(dir, node, { runner: gone }))).exists).toBe(false);
    await d.delete(context(dir, node, { runner: gone }));
    const notRunning = new RecordingRunner().on('virsh destroy', { exitCode: 1, stderr: "error: Failed to destroy domain 'kaidu-svc-vm'\nerror: Requested operation is not valid: domain is not running\n" });
    await d.delete(context(dir, node, { runner: notRunning }));
    const down = new RecordingRunner().on('virsh', { exitCode: 1, stderr: "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory\n" });
    await expect(d.inspect(context(dir, node, { runner: down }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    await expect(d.delete(context(dir, node, { runner: down }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    // Another domain's not-found message is not this one's.
    const other = new RecordingRunner().on('virsh', { exitCode: 1, stderr: "error: failed to get domain 'other'\n" });
    await expect(d.inspect(context(dir, node, { runner: other }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
  });
});

// .ci/runtimes.sh starts libvirtd: in CI this runs or fails.
describe.skipIf(!virsh && process.env.CI !== 'true')(`libvirt real run${virsh ? '' : ' (skipped: virsh/libvirtd is not available here)'}`, () => {
  it('reports an unknown domain as absent', async () => {
    expect(virsh, 'CI=true: libvirtd must answer `virsh --connect qemu:///system list` (.ci/runtimes.sh up)').toBe(true);
    const r = await new VirtualMachineDelegate({ dataDir: dir }).inspect(context(dir, desired('kaidu:VirtualMachine', { disk: '/x' }, { name: 'kaidu-absent' }), { runner: new SystemCommandRunner() }));
    expect(r.exists).toBe(false);
  });
});
// Nspawn, systemd user units (inside a booted systemd container) and Distrobox (as a user) have
// their own files: nspawn.test.ts, distrobox.test.ts.
