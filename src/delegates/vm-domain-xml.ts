/** The libvirt domain XML a kaidu:VirtualMachine node describes (pure: no I/O). */
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { str } from './runtime-common.js';

const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

export type Accelerator = 'kvm' | 'tcg';

/**
 * How the guest's CPU runs: `kvm` (hardware virtualization), `tcg` (qemu's software emulation,
 * slow but available everywhere), or `auto` (the default): kvm when `/dev/kvm` exists.
 */
export function chooseAccelerator(p: Record<string, PlainValue>, nodeId: string, kvmPresent: boolean): Accelerator {
  const v = p.accelerator ?? 'auto';
  if (v === 'kvm' || v === 'tcg') return v;
  if (v === 'auto') return kvmPresent ? 'kvm' : 'tcg';
  throw new KaiduError('E_DELEGATE', `${nodeId}: accelerator "${String(v)}" is not one of auto, kvm, tcg`);
}

/** A raw image by its name (`.raw`, `.img`, `.iso`); anything else is qcow2. */
export function diskFormat(path: string): 'raw' | 'qcow2' {
  return /\.(raw|img|iso)$/.test(path) ? 'raw' : 'qcow2';
}

/** A host port qemu forwards into the guest (user-mode networking): `[ADDRESS:]HOSTPORT:GUESTPORT`, TCP. */
export interface PortForward {
  address: string;
  hostPort: number;
  guestPort: number;
}

const port = (s: string) => (/^\d{1,5}$/.test(s) && +s >= 1 && +s <= 65535 ? +s : undefined);

/**
 * Reads `port_forwards` (only with `network: user`). The host side listens on 127.0.0.1 unless an
 * IPv4 address is given, as `docker run -p` reads its argument.
 */
export function parsePortForwards(p: Record<string, PlainValue>, nodeId: string): PortForward[] {
  const v = p.port_forwards;
  if (v === undefined || v === null) return [];
  const bad = (why: string) => new KaiduError('E_DELEGATE', `${nodeId}: port_forwards ${why}`);
  if (!Array.isArray(v)) throw bad('must be a list of "[ADDRESS:]HOSTPORT:GUESTPORT"');
  if (v.length > 64) throw bad('has more than 64 entries');
  if (v.length && str(p.network) !== 'user') throw bad('needs network: user (qemu forwards ports only on its user-mode network; a libvirt network routes to the guest)');
  return v.map((item) => {
    const parts = typeof item === 'string' ? item.split(':') : [];
    const [address, hostPort, guestPort] = parts.length === 2 ? ['127.0.0.1', port(parts[0]!), port(parts[1]!)] : parts.length === 3 ? [parts[0]!, port(parts[1]!), port(parts[2]!)] : ['', undefined, undefined];
    const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
    if (!ipv4 || ipv4.slice(1).some((o) => +o > 255) || hostPort === undefined || guestPort === undefined) throw bad(`entry ${JSON.stringify(item)} is not "[ADDRESS:]HOSTPORT:GUESTPORT" (an IPv4 address, ports 1-65535)`);
    return { address, hostPort, guestPort };
  });
}

/**
 * The guest's network interface. A libvirt network by name (the default: `default`), or `user`:
 * qemu's user-mode (slirp) network, which needs no bridge and no libvirt network: the guest gets
 * 10.0.2.15 by DHCP from qemu and reaches the host's loopback at 10.0.2.2. libvirt 9.0 forwards
 * ports into a user-mode guest only with the passt backend (`<portForward>`); for slirp they are
 * given to qemu on its command line (libvirt's qemu:commandline passthrough, which marks the domain
 * "custom-argv" in libvirt's log), with the NIC at a PCI slot libvirt leaves free.
 */
function interfaceXml(p: Record<string, PlainValue>, nodeId: string): { device: string; commandline: string } {
  const network = str(p.network) ?? 'default';
  const forwards = parsePortForwards(p, nodeId);
  if (network !== 'user') return { device: `<interface type='network'><source network='${xml(network)}'/><model type='virtio'/></interface>`, commandline: '' };
  if (!forwards.length) return { device: "<interface type='user'><model type='virtio'/></interface>", commandline: '' };
  const netdev = ['user', 'id=kaidunet0', ...forwards.map((f) => `hostfwd=tcp:${f.address}:${f.hostPort}-:${f.guestPort}`)].join(',');
  const args = ['-netdev', netdev, '-device', 'virtio-net-pci,netdev=kaidunet0,bus=pci.0,addr=0x1e'];
  return { device: '', commandline: `\n  <qemu:commandline>${args.map((a) => `<qemu:arg value='${xml(a)}'/>`).join('')}</qemu:commandline>` };
}

export interface DomainExtras {
  /** The cloud-init NoCloud seed (a volume labelled cidata), attached read-only as the second disk. */
  seedImage?: string;
  accelerator?: Accelerator;
  /** Where libvirt's virtlogd writes what the guest prints on its serial console (emptied at each start). */
  consoleLog?: string;
}

/**
 * The libvirt domain a VirtualMachine node describes. Every value is escaped. Under kvm the guest
 * sees the host's CPU (host-passthrough); under tcg (`<domain type='qemu'>`) qemu's default
 * emulated CPU, since passthrough needs KVM. With `kernel` (and `initrd`, `kernel_args`) the guest
 * boots that kernel directly instead of from its disk. The serial console goes to a log file, which
 * is how boot is observed without a guest agent.
 */
export function domainXml(name: string, p: Record<string, PlainValue>, nodeId: string, extra: DomainExtras = {}): string {
  const accel = extra.accelerator ?? 'kvm';
  const memKiB = Math.max(64 * 1024, Math.round((typeof p.memory === 'number' ? p.memory : 1024 ** 3) / 1024));
  const vcpus = typeof p.vcpus === 'number' ? Math.max(1, Math.floor(p.vcpus)) : 1;
  const disk = str(p.disk);
  if (!disk) throw new KaiduError('E_DELEGATE', `${nodeId}: "disk" is required`);
  const osVariant = str(p.os_variant);
  const kernel = str(p.kernel);
  const initrd = str(p.initrd);
  const args = str(p.kernel_args);
  if ((initrd || args) && !kernel) throw new KaiduError('E_DELEGATE', `${nodeId}: "initrd" and "kernel_args" need "kernel"`);
  const boot = kernel
    ? `<kernel>${xml(kernel)}</kernel>${initrd ? `<initrd>${xml(initrd)}</initrd>` : ''}${args ? `<cmdline>${xml(args)}</cmdline>` : ''}`
    : "<boot dev='hd'/>";
  const seed = extra.seedImage ? `\n    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${xml(extra.seedImage)}'/><target dev='vdb' bus='virtio'/><readonly/></disk>` : '';
  const net = interfaceXml(p, nodeId);
  const serial = extra.consoleLog ? `<serial type='pty'><log file='${xml(extra.consoleLog)}' append='off'/></serial>` : "<serial type='pty'/>";
  return `<domain type='${accel === 'kvm' ? 'kvm' : 'qemu'}'${net.commandline ? " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" : ''}>
  <name>${xml(name)}</name>
  <metadata><kaidu:node xmlns:kaidu='https://kaidu.dev/libvirt'${osVariant ? ` os_variant='${xml(osVariant)}'` : ''}>${xml(nodeId)}</kaidu:node></metadata>
  <memory unit='KiB'>${memKiB}</memory>
  <vcpu>${vcpus}</vcpu>
  <os><type arch='x86_64'>hvm</type>${boot}</os>
  <features><acpi/><apic/></features>
${accel === 'kvm' ? "  <cpu mode='host-passthrough'/>\n" : ''}  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='${diskFormat(disk)}'/><source file='${xml(disk)}'/><target dev='vda' bus='virtio'/></disk>${seed}
${net.device ? `    ${net.device}\n` : ''}    ${serial}
    <console type='pty'><target type='serial'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <graphics type='vnc' listen='127.0.0.1'/>
  </devices>${net.commandline}
</domain>
`;
}
