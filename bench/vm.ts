/**
 * VM: create (until the guest is seen booted: it took an address) and delete 1 VM through the
 * VirtualMachine delegate on libvirt/qemu with the stand-in guest of .ci/vm-image.sh, beside the
 * same with virsh alone (define, start, ask domifaddr until an address shows; destroy, undefine).
 * The baseline runs first (it pays for a cold page cache, if anyone does). Wall time, the CPU of Kaidu's process and of the commands it ran (virsh, qemu-img, genisoimage),
 * and the CPU qemu spent emulating the guest until it booted. Skipped with the reason when libvirt
 * or the guest is not available here.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { SystemCommandRunner } from '../src/delegates/command-runner.js';
import type { DelegateContext } from '../src/delegates/types.js';
import { VirtualMachineDelegate, domainXml } from '../src/delegates/virtual-machine.js';
import { round } from './measure.js';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function run(argv: string[]): string | undefined {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], timeout: 900_000 }).toString();
  } catch {
    return undefined;
  }
}

/** CPU ms of this process and of its waited-for children, from /proc/self/stat. */
async function cpuWithChildren(): Promise<number> {
  const f = (await readFile('/proc/self/stat', 'utf8')).split(') ')[1]!.split(' ');
  // After "pid (comm) ": state is field 0; utime 11, stime 12, cutime 13, cstime 14.
  return [11, 12, 13, 14].reduce((s, i) => s + Number(f[i]), 0) * TICK_MS;
}

/** CPU ms qemu has used for a running domain. */
async function qemuCpu(name: string): Promise<number | null> {
  try {
    const pid = (await readFile(`/run/libvirt/qemu/${name}.pid`, 'utf8')).trim();
    const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return null;
  }
}

export async function benchVm(): Promise<Record<string, unknown>> {
  const target = 'create (until booted) + delete of 1 VM through the delegate within 1.5x of virsh alone (one run each: the guest boot, 10-30 s under emulation, dominates and varies with the load)';
  if (process.getuid?.() !== 0) return { target, skipped: 'needs root (libvirt qemu:///system)' };
  if (run(['virsh', 'list']) === undefined) return { target, skipped: 'libvirtd does not answer (.ci/runtimes.sh up)' };
  const paths = run(['bash', '.ci/vm-image.sh']);
  if (!paths) return { target, skipped: '.ci/vm-image.sh could not build the stand-in guest' };
  const v = Object.fromEntries(paths.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
  const work = `/var/lib/libvirt/images/kaidu-bench-vm-${process.pid}`;
  const dataDir = `/var/tmp/kaidu-bench-vm-${process.pid}`;
  await mkdir(work, { recursive: true, mode: 0o755 });
  const props = { memory: 256 * 1024 ** 2, vcpus: 1, disk: join(work, 'kaidu.qcow2'), disk_template: v.KAIDU_VM_DISK_TEMPLATE!, kernel: v.KAIDU_VM_KERNEL!, initrd: v.KAIDU_VM_INITRD!, kernel_args: 'console=ttyS0 quiet' };
  const ctx: DelegateContext = {
    node: { id: 'bench/vm', service: 'bench', key: 'vm', name: 'vm', host: 'h', type: 'kaidu:VirtualMachine', types: ['kaidu:VirtualMachine'], properties: { ...props, domain_name: `kaidu-bench-vm-${process.pid}` }, env: {}, interfaces: {}, artifacts: {}, fingerprint: 'bench' },
    host: 'h',
    dataDir,
    readRepoFile: async () => undefined,
    reservedPorts: new Set(),
    runner: new SystemCommandRunner(),
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
  };
  const rawName = `kaidu-bench-raw-${process.pid}`;
  try {
    // virsh alone, the same guest and disk.
    const rawDisk = join(work, 'raw.qcow2');
    const xmlFile = join(work, 'raw.xml');
    let t0 = performance.now();
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', v.KAIDU_VM_DISK_TEMPLATE!, rawDisk]);
    await writeFile(xmlFile, domainXml(rawName, { ...props, disk: rawDisk }, 'bench/raw', { accelerator: 'tcg' }));
    execFileSync('virsh', ['define', xmlFile], { stdio: 'ignore' });
    execFileSync('virsh', ['start', rawName], { stdio: 'ignore' });
    for (let wait = 100; !/ipv4\s+\d/.test(run(['virsh', 'domifaddr', rawName]) ?? ''); wait = Math.min(wait * 2, 1000)) {
      if (performance.now() - t0 > 600_000) throw new Error('the baseline guest did not boot within 600 s');
      await new Promise((r) => setTimeout(r, wait));
    }
    const rawCreateMs = performance.now() - t0;
    t0 = performance.now();
    execFileSync('virsh', ['destroy', rawName], { stdio: 'ignore' });
    execFileSync('virsh', ['undefine', rawName], { stdio: 'ignore' });
    await rm(rawDisk, { force: true });
    const rawDeleteMs = performance.now() - t0;
    const d = new VirtualMachineDelegate({ dataDir });
    let cpu0 = await cpuWithChildren();
    t0 = performance.now();
    await d.create(ctx);
    const createMs = performance.now() - t0;
    const createCpu = (await cpuWithChildren()) - cpu0;
    const guestCpu = await qemuCpu(String(ctx.node.properties.domain_name));
    cpu0 = await cpuWithChildren();
    t0 = performance.now();
    await d.delete(ctx);
    const deleteMs = performance.now() - t0;
    const deleteCpu = (await cpuWithChildren()) - cpu0;

    return {
      target,
      accelerator: run(['test', '-e', '/dev/kvm']) === undefined ? 'tcg' : 'kvm',
      createUntilBootedMs: round(createMs, 0),
      createCpuMs: createCpu,
      guestBootCpuMs: guestCpu,
      deleteMs: round(deleteMs, 0),
      deleteCpuMs: deleteCpu,
      baselineVirshCreateUntilAddressMs: round(rawCreateMs, 0),
      baselineVirshDeleteMs: round(rawDeleteMs, 0),
      ratioToVirsh: round((createMs + deleteMs) / (rawCreateMs + rawDeleteMs)),
      meets_goal: (createMs + deleteMs) / (rawCreateMs + rawDeleteMs) <= 1.5,
    };
  } finally {
    run(['virsh', 'destroy', rawName]);
    run(['virsh', 'undefine', rawName]);
    run(['virsh', 'destroy', String(ctx.node.properties.domain_name)]);
    run(['virsh', 'undefine', String(ctx.node.properties.domain_name)]);
    await rm(work, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  }
}
