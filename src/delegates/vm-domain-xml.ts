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
  const serial = extra.consoleLog ? `<serial type='pty'><log file='${xml(extra.consoleLog)}' append='off'/></serial>` : "<serial type='pty'/>";
  return `<domain type='${accel === 'kvm' ? 'kvm' : 'qemu'}'>
  <name>${xml(name)}</name>
  <metadata><kaidu:node xmlns:kaidu='https://kaidu.dev/libvirt'${osVariant ? ` os_variant='${xml(osVariant)}'` : ''}>${xml(nodeId)}</kaidu:node></metadata>
  <memory unit='KiB'>${memKiB}</memory>
  <vcpu>${vcpus}</vcpu>
  <os><type arch='x86_64'>hvm</type>${boot}</os>
  <features><acpi/><apic/></features>
${accel === 'kvm' ? "  <cpu mode='host-passthrough'/>\n" : ''}  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='${diskFormat(disk)}'/><source file='${xml(disk)}'/><target dev='vda' bus='virtio'/></disk>${seed}
    <interface type='network'><source network='${xml(str(p.network) ?? 'default')}'/><model type='virtio'/></interface>
    ${serial}
    <console type='pty'><target type='serial'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <graphics type='vnc' listen='127.0.0.1'/>
  </devices>
</domain>
`;
}
