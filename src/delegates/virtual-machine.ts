/** libvirt virtual machines from a generated domain XML, through virsh. */
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { writeFileAtomic } from '../state/write-file.js';
import { commandFailed, runChecked } from './command-runner.js';
import { saysAbsent } from './not-found.js';
import { appliedProperties, recreate, str, workloadName } from './runtime-common.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

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

/**
 * The libvirt domain a VirtualMachine node describes. Every value is escaped. `seedIso` is the
 * cloud-init NoCloud seed attached as a CD-ROM. Under kvm the guest sees the host's CPU
 * (host-passthrough); under tcg (`<domain type='qemu'>`) qemu's default emulated CPU, since
 * passthrough needs KVM.
 */
export function domainXml(name: string, p: Record<string, PlainValue>, nodeId: string, extra: { seedIso?: string; accelerator?: Accelerator } = {}): string {
  const accel = extra.accelerator ?? 'kvm';
  const memKiB = Math.max(64 * 1024, Math.round((typeof p.memory === 'number' ? p.memory : 1024 ** 3) / 1024));
  const vcpus = typeof p.vcpus === 'number' ? Math.max(1, Math.floor(p.vcpus)) : 1;
  const disk = str(p.disk);
  if (!disk) throw new KaiduError('E_DELEGATE', `${nodeId}: "disk" is required`);
  const osVariant = str(p.os_variant);
  const seed = extra.seedIso ? `\n    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${xml(extra.seedIso)}'/><target dev='sda' bus='sata'/><readonly/></disk>` : '';
  return `<domain type='${accel === 'kvm' ? 'kvm' : 'qemu'}'>
  <name>${xml(name)}</name>
  <metadata><kaidu:node xmlns:kaidu='https://kaidu.dev/libvirt'${osVariant ? ` os_variant='${xml(osVariant)}'` : ''}>${xml(nodeId)}</kaidu:node></metadata>
  <memory unit='KiB'>${memKiB}</memory>
  <vcpu>${vcpus}</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
${accel === 'kvm' ? "  <cpu mode='host-passthrough'/>\n" : ''}  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='${disk.endsWith('.raw') || disk.endsWith('.img') ? 'raw' : 'qcow2'}'/><source file='${xml(disk)}'/><target dev='vda' bus='virtio'/></disk>${seed}
    <interface type='network'><source network='${xml(str(p.network) ?? 'default')}'/><model type='virtio'/></interface>
    <console type='pty'/>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <graphics type='vnc' listen='127.0.0.1'/>
  </devices>
</domain>
`;
}

/**
 * libvirt VMs: the domain XML is generated from the node (written to
 * `<dataDir>/run/libvirt/<name>.xml` so it can be read and replayed by hand), then
 * `virsh define` + `virsh start`. A missing disk with `disk_size` is created with `qemu-img`; a
 * `cloud_init` user-data file from the repository becomes a NoCloud seed ISO (`cloud-localds`).
 * Delete keeps the disk image: data is never removed by a template change.
 */
export class VirtualMachineDelegate implements Delegate {
  readonly name = 'virtual-machine';
  readonly handles = ['kaidu:VirtualMachine'];

  /** `kvmPresent` is asked at each create (default: whether /dev/kvm exists). */
  constructor(private readonly opts: { dataDir: string; kvmPresent?: () => boolean }) {}

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.domain_name) ?? workloadName(ctx);
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const name = this.nameOf(ctx);
    const p = ctx.node.properties;
    const dir = join(ctx.dataDir, 'run', 'libvirt');
    await mkdir(dir, { recursive: true });
    const disk = str(p.disk);
    if (!disk) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "disk" is required`);
    if (typeof p.disk_size === 'number' && !(await exists(disk))) {
      await runChecked(ctx.runner, { argv: ['qemu-img', 'create', '-f', disk.endsWith('.raw') || disk.endsWith('.img') ? 'raw' : 'qcow2', disk, String(Math.round(p.disk_size))], signal: ctx.signal });
    }
    let seedIso: string | undefined;
    const userDataPath = str(p.cloud_init);
    if (userDataPath) {
      const userData = await ctx.readRepoFile(userDataPath);
      if (!userData) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: cloud_init file ${userDataPath} is not in the repository`);
      const ud = join(dir, `${name}.user-data`);
      const md = join(dir, `${name}.meta-data`);
      seedIso = join(dir, `${name}.seed.iso`);
      await writeFileAtomic(ud, userData, 0o600);
      await writeFileAtomic(md, `instance-id: ${name}\nlocal-hostname: ${name}\n`, 0o600);
      await runChecked(ctx.runner, { argv: ['cloud-localds', seedIso, ud, md], signal: ctx.signal });
    }
    const file = join(dir, `${name}.xml`);
    const accelerator = chooseAccelerator(p, ctx.node.id, (this.opts.kvmPresent ?? (() => existsSync('/dev/kvm')))());
    await writeFileAtomic(file, domainXml(name, p, ctx.node.id, { accelerator, ...(seedIso ? { seedIso } : {}) }));
    await runChecked(ctx.runner, { argv: ['virsh', 'define', file], signal: ctx.signal });
    await runChecked(ctx.runner, { argv: ['virsh', 'start', name], signal: ctx.signal });
    const seen = await this.inspect({ ...ctx, previous: undefined });
    return { attributes: { ...seen.attributes }, status: seen.status };
  }

  update(ctx: DelegateContext): Promise<DelegateResult> {
    return recreate(this, ctx);
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const name = this.nameOf(ctx, appliedProperties(ctx));
    const destroySpec = { argv: ['virsh', 'destroy', name] };
    const destroy = await ctx.runner.run(destroySpec);
    if (destroy.exitCode !== 0 && !saysAbsent('virsh', 'domain', name, destroy.stderr) && !saysAbsent('virsh', 'domain-not-running', name, destroy.stderr)) throw commandFailed(destroy, destroySpec);
    const undefineSpec = { argv: ['virsh', 'undefine', name] };
    const undefine = await ctx.runner.run(undefineSpec);
    if (undefine.exitCode !== 0 && !saysAbsent('virsh', 'domain', name, undefine.stderr)) throw commandFailed(undefine, undefineSpec);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const name = this.nameOf(ctx, appliedProperties(ctx));
    const infoSpec = { argv: ['virsh', 'dominfo', name] };
    const info = await ctx.runner.run(infoSpec);
    if (info.exitCode !== 0) {
      if (saysAbsent('virsh', 'domain', name, info.stderr)) return { exists: false, status: 'stopped', attributes: {} };
      throw commandFailed(info, infoSpec);
    }
    const state = /State:\s+(.+)/.exec(info.stdout)?.[1]?.trim() ?? 'unknown';
    const uuid = /UUID:\s+(\S+)/.exec(info.stdout)?.[1] ?? '';
    const addr = await ctx.runner.run({ argv: ['virsh', 'domifaddr', name] });
    const address = /(\d+\.\d+\.\d+\.\d+)\//.exec(addr.stdout)?.[1] ?? null;
    return { exists: true, status: state === 'running' ? 'running' : 'stopped', attributes: { state, uuid, address } };
  }
}

async function exists(path: string): Promise<boolean> {
  return Boolean(await stat(path).catch(() => undefined));
}
