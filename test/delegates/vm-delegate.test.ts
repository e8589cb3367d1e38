/** VirtualMachine decisions that need no libvirt: names, ownership, leftovers, disks (virsh recorded). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordingRunner, VirtualMachineDelegate, domainXml } from '../../src/delegates/index.js';
import { parsePortForwards } from '../../src/delegates/vm-domain-xml.js';
import { context, desired } from '../support/delegate-context.js';
import { tempDir } from '../support/temp-dir.js';

async function setup(): Promise<{ data: string; disk: string }> {
  const dir = tempDir('kaidu-vm-');
  await mkdir(join(dir, 'images'));
  const disk = join(dir, 'images', 'vm.qcow2');
  await writeFile(disk, '');
  return { data: join(dir, 'data'), disk };
}

const booted = () =>
  new RecordingRunner()
    .on('virsh dominfo', { stdout: 'UUID: u\nState: running\n' })
    .on('virsh domifaddr', { stdout: ' vnet0  52:54:00:aa:bb:cc  ipv4  192.168.122.9/24\n' });

describe('VirtualMachine delegate', () => {
  it('a domain name that virsh would read as an option, or a path, is refused before any command runs', async () => {
    const { data, disk } = await setup();
    for (const name of ['--help', '../x', 'a b', 'x'.repeat(65)]) {
      const runner = new RecordingRunner();
      await expect(new VirtualMachineDelegate({ dataDir: data }).create(context(data, desired('kaidu:VirtualMachine', { disk, domain_name: name }, { name: 'vm' }), { runner }))).rejects.toThrow(/domain_name .* is not a libvirt domain name/);
      expect(runner.lines).toEqual([]);
    }
  });

  it('its own domain left by a failed create is undefined and defined afresh; a domain of another node is left alone', async () => {
    const { data, disk } = await setup();
    const node = desired('kaidu:VirtualMachine', { disk }, { name: 'vm' });
    const own = booted().on('virsh dumpxml', { stdout: "<domain type='qemu'><metadata><kaidu:node xmlns:kaidu='https://kaidu.dev/libvirt'>svc/vm</kaidu:node></metadata></domain>\n" });
    await new VirtualMachineDelegate({ dataDir: data, kvmPresent: () => false }).create(context(data, node, { runner: own }));
    expect(own.lines.slice(0, 5)).toEqual(['virsh dumpxml kaidu-svc-vm', 'virsh destroy kaidu-svc-vm', 'virsh undefine kaidu-svc-vm', `virsh define ${join(data, 'run', 'libvirt', 'kaidu-svc-vm.xml')}`, 'virsh start kaidu-svc-vm']);
    for (const stdout of ["<domain><metadata><kaidu:node xmlns:kaidu='https://kaidu.dev/libvirt'>svc/other</kaidu:node></metadata></domain>", "<domain type='kvm'><name>kaidu-svc-vm</name></domain>"]) {
      const foreign = booted().on('virsh dumpxml', { stdout });
      await expect(new VirtualMachineDelegate({ dataDir: data }).create(context(data, node, { runner: foreign }))).rejects.toThrow(/exists already \(it belongs to (svc\/other|no Kaidu node)\); not touching it/);
      expect(foreign.lines).toEqual(['virsh dumpxml kaidu-svc-vm']);
    }
    // dumpxml failing for another reason is an error, not "no such domain".
    const down = new RecordingRunner().on('virsh dumpxml', { exitCode: 1, stderr: 'error: failed to connect to the hypervisor\n' });
    await expect(new VirtualMachineDelegate({ dataDir: data }).create(context(data, node, { runner: down }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
  });

  it('a disk to make needs an absolute template that exists, or a size; a missing disk without either is an error', async () => {
    const { data, disk } = await setup();
    const absent = () => booted().on('virsh dumpxml', { exitCode: 1, stderr: "error: failed to get domain 'kaidu-svc-vm'\n" });
    const d = new VirtualMachineDelegate({ dataDir: data });
    const missing = join(disk, '..', 'new.qcow2');
    await expect(d.create(context(data, desired('kaidu:VirtualMachine', { disk: missing, disk_template: 'base.raw' }, { name: 'vm' }), { runner: absent() }))).rejects.toThrow(/disk_template must be an absolute path, not "base.raw"/);
    await expect(d.create(context(data, desired('kaidu:VirtualMachine', { disk: missing, disk_template: '/nonexistent/base.raw' }, { name: 'vm' }), { runner: absent() }))).rejects.toThrow(/disk_template \/nonexistent\/base.raw does not exist/);
    await expect(d.create(context(data, desired('kaidu:VirtualMachine', { disk: join(disk, '..', 'new.raw'), disk_template: disk }, { name: 'vm' }), { runner: absent() }))).rejects.toThrow(/name it .qcow2/);
    await expect(d.create(context(data, desired('kaidu:VirtualMachine', { disk: missing }, { name: 'vm' }), { runner: absent() }))).rejects.toThrow(/does not exist \(give disk_template or disk_size/);
    await expect(d.create(context(data, desired('kaidu:VirtualMachine', { disk: 'vm.qcow2' }, { name: 'vm' }), { runner: absent() }))).rejects.toMatchObject({ code: 'E_PATH_CONFINED' });
    // Never inside the agent's own data directory.
    await expect(d.create(context(data, desired('kaidu:VirtualMachine', { disk: join(data, 'x.qcow2'), disk_size: 1024 }, { name: 'vm' }), { runner: absent() }))).rejects.toMatchObject({ code: 'E_PATH_CONFINED' });
  });

  it('inspect: a running guest that has not booted yet is creating; a shut-off domain is stopped without asking for an address', async () => {
    const { data, disk } = await setup();
    const node = desired('kaidu:VirtualMachine', { disk }, { name: 'vm' });
    const d = new VirtualMachineDelegate({ dataDir: data });
    const early = new RecordingRunner().on('virsh dominfo', { stdout: 'UUID: u\nState: running\n' }).on('virsh domifaddr', { stdout: ' Name  MAC address  Protocol  Address\n----\n' });
    expect(await d.inspect(context(data, node, { runner: early }))).toEqual({ exists: true, status: 'creating', attributes: { state: 'running', uuid: 'u', address: null } });
    const off = new RecordingRunner().on('virsh dominfo', { stdout: 'UUID: u\nState: shut off\n' });
    expect(await d.inspect(context(data, node, { runner: off }))).toEqual({ exists: true, status: 'stopped', attributes: { state: 'shut off', uuid: 'u', address: null } });
    expect(off.lines).toEqual(['virsh dominfo kaidu-svc-vm']);
    // domifaddr failing for another reason than "not running" is an error, not "no address".
    const broken = new RecordingRunner().on('virsh dominfo', { stdout: 'UUID: u\nState: running\n' }).on('virsh domifaddr', { exitCode: 1, stderr: 'error: internal error: something else\n' });
    await expect(d.inspect(context(data, node, { runner: broken }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    const stoppedMeanwhile = new RecordingRunner().on('virsh dominfo', { stdout: 'UUID: u\nState: running\n' }).on('virsh domifaddr', { exitCode: 1, stderr: 'error: Failed to query for interfaces addresses\nerror: Requested operation is not valid: domain is not running\n' });
    expect((await d.inspect(context(data, node, { runner: stoppedMeanwhile }))).attributes.address).toBeNull();
  });
});

describe('VirtualMachine user-mode network', () => {
  it('network: user is qemu user-mode networking; port_forwards go on qemu command line, escaped, from 127.0.0.1 unless an address is given', () => {
    const plain = domainXml('vm', { disk: '/img/a.qcow2', network: 'user' }, 'svc/vm', { accelerator: 'tcg' });
    expect(plain).toContain("<interface type='user'><model type='virtio'/></interface>");
    expect(plain).not.toContain('qemu:commandline');
    const fwd = domainXml('vm', { disk: '/img/a.qcow2', network: 'user', port_forwards: ['17070:7070', '0.0.0.0:8080:80'] }, 'svc/vm', { accelerator: 'tcg' });
    expect(fwd).toMatch(/^<domain type='qemu' xmlns:qemu='http:\/\/libvirt.org\/schemas\/domain\/qemu\/1.0'>/);
    expect(fwd).not.toContain('<interface');
    expect(fwd).toContain("<qemu:commandline><qemu:arg value='-netdev'/><qemu:arg value='user,id=kaidunet0,hostfwd=tcp:127.0.0.1:17070-:7070,hostfwd=tcp:0.0.0.0:8080-:80'/><qemu:arg value='-device'/><qemu:arg value='virtio-net-pci,netdev=kaidunet0,bus=pci.0,addr=0x1e'/></qemu:commandline>");
    // A libvirt network stays as it was.
    expect(domainXml('vm', { disk: '/img/a.qcow2' }, 'svc/vm')).toContain("<interface type='network'><source network='default'/><model type='virtio'/></interface>");
  });

  it('port_forwards that are not [ADDRESS:]HOSTPORT:GUESTPORT, or without network: user, are refused', () => {
    expect(parsePortForwards({ network: 'user', port_forwards: ['1:2', '10.0.0.1:3:4'] }, 'svc/vm')).toEqual([{ address: '127.0.0.1', hostPort: 1, guestPort: 2 }, { address: '10.0.0.1', hostPort: 3, guestPort: 4 }]);
    for (const bad of ['80', '0:80', '80:65536', 'localhost:80:80', '1.2.3.256:80:80', "80:80,hostfwd=tcp::22-:22", '::1:80:80', 80]) {
      expect(() => parsePortForwards({ network: 'user', port_forwards: [bad] }, 'svc/vm'), String(bad)).toThrow(/svc\/vm: port_forwards entry .* is not "\[ADDRESS:\]HOSTPORT:GUESTPORT"/);
    }
    expect(() => parsePortForwards({ port_forwards: ['1:2'] }, 'svc/vm')).toThrow(/needs network: user/);
    expect(() => parsePortForwards({ network: 'user', port_forwards: '1:2' }, 'svc/vm')).toThrow(/must be a list/);
  });
});
