/**
 * Workloads driven through their own tools: Podman/Docker containers and pods, distrobox,
 * systemd-nspawn machines, libvirt VMs. Every step is an argv run through the CommandRunner,
 * so tests pin the exact sequences and a sysadmin can repeat them by hand.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { runChecked } from './command-runner.js';
import type { BuiltinOptions } from './registry.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

export function workloadName(ctx: DelegateContext): string {
  return `kaidu-${ctx.node.service}-${ctx.node.key}`.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-');
}

const str = (v: PlainValue | undefined): string | undefined => (typeof v === 'string' && v ? v : undefined);
const list = (v: PlainValue | undefined): string[] => (Array.isArray(v) ? v.map(String) : []);
const map = (v: PlainValue | undefined): Record<string, string> =>
  v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)])) : {};

function notFound(stderr: string): boolean {
  return /no such|not found|does not exist|unknown|failed to get domain|No machine/i.test(stderr);
}

export class ContainerDelegate implements Delegate {
  readonly name = 'container';
  readonly handles = ['kaidu:Container'];

  private cli(ctx: DelegateContext, props = ctx.node.properties): string {
    return props.runtime === 'docker' ? 'docker' : 'podman';
  }

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.container_name) ?? workloadName(ctx);
  }

  /** The `run` argv: what a sysadmin would type. */
  runArgv(ctx: DelegateContext): string[] {
    const p = ctx.node.properties;
    const image = str(p.image);
    if (!image) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "image" is required`);
    const argv = [this.cli(ctx), 'run', '-d', '--name', this.nameOf(ctx), '--label', `kaidu.node=${ctx.node.id}`, '--label', `kaidu.fingerprint=${ctx.node.fingerprint}`];
    if (str(p.pod)) argv.push('--pod', str(p.pod)!);
    for (const [k, v] of Object.entries({ ...ctx.node.env, ...map(p.env) }).sort()) argv.push('-e', `${k}=${v}`);
    if (!str(p.pod)) for (const port of list(p.ports)) argv.push('-p', port);
    for (const vol of list(p.volumes)) argv.push('-v', vol);
    argv.push(image, ...list(p.command));
    return argv;
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const cli = this.cli(ctx);
    await runChecked(ctx.runner, { argv: [cli, 'pull', str(ctx.node.properties.image) ?? ''], timeoutMs: 10 * 60_000 });
    // A leftover with our name (an interrupted create) is replaced, never duplicated.
    await ctx.runner.run({ argv: [cli, 'rm', '-f', this.nameOf(ctx)] });
    const run = await runChecked(ctx.runner, { argv: this.runArgv(ctx) });
    return { attributes: { container_id: run.stdout.trim().split('\n').pop() ?? '', ...(await this.inspect(ctx)).attributes } };
  }

  async update(ctx: DelegateContext): Promise<DelegateResult> {
    // Containers are replaced, not mutated: the new one starts from the (pulled) image.
    await this.delete(ctx);
    return this.create(ctx);
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const props = ctx.previous?.properties ?? ctx.node.properties;
    const r = await ctx.runner.run({ argv: [this.cli(ctx, props), 'rm', '-f', '-t', '10', this.nameOf(ctx, props)] });
    if (r.exitCode !== 0 && !notFound(r.stderr)) throw new KaiduError('E_COMMAND_FAILED', `${this.cli(ctx, props)} rm ${this.nameOf(ctx, props)}: ${r.stderr.trim()}`);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const props = ctx.previous?.properties ?? ctx.node.properties;
    const r = await ctx.runner.run({ argv: [this.cli(ctx, props), 'inspect', '--format', '{{.Id}} {{.State.Status}} {{.NetworkSettings.IPAddress}}', this.nameOf(ctx, props)] });
    if (r.exitCode !== 0) return { exists: false, status: 'stopped', attributes: {} };
    const [id = '', status = 'unknown', address = ''] = r.stdout.trim().split(/\s+/);
    return { exists: true, status: status === 'running' ? 'running' : 'stopped', attributes: { container_id: id, status, address } };
  }
}

export class PodDelegate implements Delegate {
  readonly name = 'pod';
  readonly handles = ['kaidu:Pod'];

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.pod_name) ?? workloadName(ctx);
  }

  private cli(props: Record<string, PlainValue>): string {
    return props.runtime === 'docker' ? 'docker' : 'podman';
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const p = ctx.node.properties;
    if (this.cli(p) === 'docker') throw new KaiduError('E_DELEGATE', `${ctx.node.id}: pods need podman (docker has no pods)`);
    await ctx.runner.run({ argv: ['podman', 'pod', 'rm', '-f', this.nameOf(ctx)] });
    const argv = ['podman', 'pod', 'create', '--name', this.nameOf(ctx), '--label', `kaidu.node=${ctx.node.id}`];
    for (const port of list(p.ports)) argv.push('-p', port);
    const r = await runChecked(ctx.runner, { argv });
    await runChecked(ctx.runner, { argv: ['podman', 'pod', 'start', this.nameOf(ctx)] });
    return { attributes: { pod_id: r.stdout.trim(), pod_name: this.nameOf(ctx) } };
  }

  async update(ctx: DelegateContext): Promise<DelegateResult> {
    await this.delete(ctx);
    return this.create(ctx);
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const r = await ctx.runner.run({ argv: ['podman', 'pod', 'rm', '-f', this.nameOf(ctx, ctx.previous?.properties ?? ctx.node.properties)] });
    if (r.exitCode !== 0 && !notFound(r.stderr)) throw new KaiduError('E_COMMAND_FAILED', `podman pod rm: ${r.stderr.trim()}`);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const r = await ctx.runner.run({ argv: ['podman', 'pod', 'inspect', '--format', '{{.Id}} {{.State}}', this.nameOf(ctx, ctx.previous?.properties ?? ctx.node.properties)] });
    if (r.exitCode !== 0) return { exists: false, status: 'stopped', attributes: {} };
    const [id = '', state = ''] = r.stdout.trim().split(/\s+/);
    return { exists: true, status: /running/i.test(state) ? 'running' : 'stopped', attributes: { pod_id: id } };
  }
}

export class DistroboxDelegate implements Delegate {
  readonly name = 'distrobox';
  readonly handles = ['kaidu:Distrobox'];

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.box_name) ?? workloadName(ctx);
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const p = ctx.node.properties;
    const image = str(p.image);
    if (!image) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "image" is required`);
    const argv = ['distrobox', 'create', '--yes', '--name', this.nameOf(ctx), '--image', image];
    if (p.init === true) argv.push('--init');
    const pkgs = list(p.additional_packages);
    if (pkgs.length) argv.push('--additional-packages', pkgs.join(' '));
    await runChecked(ctx.runner, { argv, timeoutMs: 15 * 60_000 });
    return { attributes: { status: 'created', box_name: this.nameOf(ctx) } };
  }

  async update(ctx: DelegateContext): Promise<DelegateResult> {
    await this.delete(ctx);
    return this.create(ctx);
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const r = await ctx.runner.run({ argv: ['distrobox', 'rm', '--force', this.nameOf(ctx, ctx.previous?.properties ?? ctx.node.properties)] });
    if (r.exitCode !== 0 && !notFound(r.stderr + r.stdout)) throw new KaiduError('E_COMMAND_FAILED', `distrobox rm: ${r.stderr.trim()}`);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const r = await ctx.runner.run({ argv: ['distrobox', 'list', '--no-color'] });
    const name = this.nameOf(ctx, ctx.previous?.properties ?? ctx.node.properties);
    const line = r.stdout.split('\n').find((l) => l.split('|').map((x) => x.trim()).includes(name));
    return line ? { exists: true, status: 'running', attributes: { status: line.split('|')[2]?.trim() ?? 'unknown' } } : { exists: false, status: 'stopped', attributes: {} };
  }
}

export class NspawnDelegate implements Delegate {
  readonly name = 'nspawn';
  readonly handles = ['kaidu:Nspawn'];

  private machine(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.machine) ?? workloadName(ctx);
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const p = ctx.node.properties;
    const machine = this.machine(ctx);
    // A transient unit runs systemd-nspawn, so machinectl and journalctl see it like any machine.
    const argv = ['systemd-run', `--unit=kaidu-nspawn-${machine}`, '--property=KillMode=mixed', '--', 'systemd-nspawn', `--machine=${machine}`, '--quiet', '--keep-unit'];
    if (str(p.directory)) argv.push(`--directory=${str(p.directory)}`);
    else if (str(p.image)) argv.push(`--image=${str(p.image)}`);
    else throw new KaiduError('E_DELEGATE', `${ctx.node.id}: give a "directory" or an "image"`);
    for (const b of list(p.bind)) argv.push(`--bind=${b}`);
    if (p.boot !== false) argv.push('--boot');
    await runChecked(ctx.runner, { argv });
    return { attributes: { status: 'running', machine, ...(await this.inspect(ctx)).attributes } };
  }

  async update(ctx: DelegateContext): Promise<DelegateResult> {
    await this.delete(ctx);
    return this.create(ctx);
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const machine = this.machine(ctx, ctx.previous?.properties ?? ctx.node.properties);
    const r = await ctx.runner.run({ argv: ['machinectl', 'poweroff', machine] });
    if (r.exitCode !== 0 && !notFound(r.stderr)) throw new KaiduError('E_COMMAND_FAILED', `machinectl poweroff ${machine}: ${r.stderr.trim()}`);
    await ctx.runner.run({ argv: ['systemctl', 'stop', `kaidu-nspawn-${machine}.service`] });
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const machine = this.machine(ctx, ctx.previous?.properties ?? ctx.node.properties);
    const r = await ctx.runner.run({ argv: ['machinectl', 'show', machine, '--property=State', '--property=Leader'] });
    if (r.exitCode !== 0) return { exists: false, status: 'stopped', attributes: {} };
    const state = /State=(\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
    return { exists: true, status: state === 'running' ? 'running' : 'stopped', attributes: { status: state } };
  }
}

const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** The libvirt domain a VirtualMachine node describes. Every value is escaped. */
export function domainXml(name: string, p: Record<string, PlainValue>, nodeId: string): string {
  const memKiB = Math.max(64 * 1024, Math.round((typeof p.memory === 'number' ? p.memory : 1024 ** 3) / 1024));
  const vcpus = typeof p.vcpus === 'number' ? Math.max(1, Math.floor(p.vcpus)) : 1;
  const disk = str(p.disk);
  if (!disk) throw new KaiduError('E_DELEGATE', `${nodeId}: "disk" is required`);
  return `<domain type='kvm'>
  <name>${xml(name)}</name>
  <metadata><kaidu:node xmlns:kaidu='https://kaidu.dev/libvirt'>${xml(nodeId)}</kaidu:node></metadata>
  <memory unit='KiB'>${memKiB}</memory>
  <vcpu>${vcpus}</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='${disk.endsWith('.raw') ? 'raw' : 'qcow2'}'/><source file='${xml(disk)}'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><source network='${xml(str(p.network) ?? 'default')}'/><model type='virtio'/></interface>
    <console type='pty'/>
    <graphics type='vnc' listen='127.0.0.1'/>
  </devices>
</domain>
`;
}

export class VirtualMachineDelegate implements Delegate {
  readonly name = 'virtual-machine';
  readonly handles = ['kaidu:VirtualMachine'];

  constructor(private readonly opts: { dataDir: string }) {}

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.domain_name) ?? workloadName(ctx);
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const name = this.nameOf(ctx);
    const dir = join(ctx.dataDir, 'run', 'libvirt');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${name}.xml`);
    await writeFile(file, domainXml(name, ctx.node.properties, ctx.node.id));
    await runChecked(ctx.runner, { argv: ['virsh', 'define', file] });
    await runChecked(ctx.runner, { argv: ['virsh', 'start', name] });
    return { attributes: { ...(await this.inspect(ctx)).attributes } };
  }

  async update(ctx: DelegateContext): Promise<DelegateResult> {
    await this.delete(ctx);
    return this.create(ctx);
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const name = this.nameOf(ctx, ctx.previous?.properties ?? ctx.node.properties);
    const destroy = await ctx.runner.run({ argv: ['virsh', 'destroy', name] });
    if (destroy.exitCode !== 0 && !notFound(destroy.stderr) && !/not running/i.test(destroy.stderr)) throw new KaiduError('E_COMMAND_FAILED', `virsh destroy ${name}: ${destroy.stderr.trim()}`);
    const undefine = await ctx.runner.run({ argv: ['virsh', 'undefine', name] });
    if (undefine.exitCode !== 0 && !notFound(undefine.stderr)) throw new KaiduError('E_COMMAND_FAILED', `virsh undefine ${name}: ${undefine.stderr.trim()}`);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const name = this.nameOf(ctx, ctx.previous?.properties ?? ctx.node.properties);
    const info = await ctx.runner.run({ argv: ['virsh', 'dominfo', name] });
    if (info.exitCode !== 0) return { exists: false, status: 'stopped', attributes: {} };
    const state = /State:\s+(.+)/.exec(info.stdout)?.[1]?.trim() ?? 'unknown';
    const uuid = /UUID:\s+(\S+)/.exec(info.stdout)?.[1] ?? '';
    const addr = await ctx.runner.run({ argv: ['virsh', 'domifaddr', name] });
    const address = /(\d+\.\d+\.\d+\.\d+)\//.exec(addr.stdout)?.[1] ?? null;
    return { exists: true, status: state === 'running' ? 'running' : 'stopped', attributes: { state, uuid, address } };
  }
}

export function runtimeDelegates(opts: BuiltinOptions): Delegate[] {
  return [new ContainerDelegate(), new PodDelegate(), new DistroboxDelegate(), new NspawnDelegate(), new VirtualMachineDelegate(opts)];
}
