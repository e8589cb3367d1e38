/**
 * A VirtualMachine for real on libvirt/qemu (software emulation here: no /dev/kvm), with the
 * stand-in guest of .ci/vm-image.sh (a Debian kernel and a busybox initramfs that reports on its
 * serial console). One guest is booted for the whole file (boots are slow under emulation): created
 * by `kaidu apply` of examples/vm (its templates unchanged, inputs pointing at the stand-in guest),
 * re-adopted, updated (more memory: a restart), deleted with its disk. With CI=true every step runs
 * or fails; elsewhere the file is skipped with the reason.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SystemCommandRunner, VirtualMachineDelegate } from '../../src/delegates/index.js';
import type { CommandRunner } from '../../src/delegates/types.js';
import { waitBooted } from '../../src/delegates/vm-boot.js';
import type { NodeState } from '../../src/state/model.js';
import { BIN, ROOT } from '../support/agent-harness.js';
import { context, desired } from '../support/delegate-context.js';
import { removeLeftovers, removeTestVm, virsh } from '../support/test-vm.js';

const exec = promisify(execFile);
const CI = process.env.CI === 'true';

interface Guest { kernel: string; initrd: string; template: string }

/** What this machine lacks for the test, or the stand-in guest's files. */
function prerequisites(): { guest: Guest } | { missing: string } {
  // Generous limits: on a loaded machine even apt-cache takes seconds.
  let why = '';
  const ok = (argv: string[], timeout = 60_000) => {
    try {
      return execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout, maxBuffer: 64 << 20 }).toString();
    } catch (err) {
      // The command's last word on stderr, so a failed prerequisite says why.
      why = String((err as { stderr?: Buffer }).stderr ?? '').trim().split('\n').pop() ?? '';
      return undefined;
    }
  };
  if (process.getuid?.() !== 0) return { missing: 'not root (libvirt qemu:///system)' };
  if (ok(['virsh', '--connect', 'qemu:///system', 'list']) === undefined) return { missing: 'virsh/libvirtd does not answer (.ci/runtimes.sh up)' };
  for (const tool of ['qemu-system-x86_64', 'qemu-img', 'genisoimage']) if (ok(['which', tool]) === undefined) return { missing: `${tool} is not installed` };
  if (!/Active:\s+yes/.test(ok(['virsh', 'net-info', 'default']) ?? '')) return { missing: "libvirt's default network is not active (.ci/runtimes.sh up)" };
  // Builds the guest when it is not cached (about 20 s); prints KEY=path lines.
  const out = ok(['bash', join(ROOT, '.ci', 'vm-image.sh')], 900_000);
  if (!out) return { missing: '.ci/vm-image.sh could not build the stand-in guest' + (why ? `: ${why}` : '') };
  const v = Object.fromEntries(out.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
  return { guest: { kernel: v.KAIDU_VM_KERNEL!, initrd: v.KAIDU_VM_INITRD!, template: v.KAIDU_VM_DISK_TEMPLATE! } };
}

const pre = prerequisites();
const missing = 'missing' in pre ? pre.missing : undefined;
const NAME = `kaidu-test-vm-${process.pid}`;
const DISK = `/var/lib/libvirt/images/${NAME}.qcow2`;
const work = join('/var/tmp', `${NAME}-work`);
const repo = join(work, 'repo');
const data = join(work, 'data');


/** The repository: examples/vm as it is, plus inputs for the stand-in guest in kaidu.yaml. */
async function writeInputs(memory: string): Promise<void> {
  if (!('guest' in pre)) return;
  const settings = await readFile(join(ROOT, 'examples', 'vm', 'kaidu.yaml'), 'utf8');
  const inputs = {
    vm_name: NAME,
    memory,
    disk_template: pre.guest.template,
    kernel: pre.guest.kernel,
    initrd: pre.guest.initrd,
    kernel_args: 'console=ttyS0 quiet',
    hub: 'http://192.168.122.1:9/fleet.git',
    agent_package: 'http://192.168.122.1:9/kaidu-0.1.0.tgz',
    // The stand-in guest runs no agent (test/delegates/vm-agent.test.ts boots one that does): it is
    // up once it has an address.
    boot_readiness: { address: true },
  };
  await writeFile(join(repo, 'kaidu.yaml'), `${settings}inputs:\n  lab:\n${Object.entries(inputs).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}\n`).join('')}`);
  const git = (...a: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...a], { cwd: repo });
  await git('add', '-A');
  await git('commit', '-qm', `memory ${memory}`);
}

async function apply(): Promise<{ code: number; out: string }> {
  try {
    const r = await exec(process.execPath, [BIN, 'apply', '--host', 'hypervisor', '--yes', '--data-dir', data, '-C', repo], { timeout: 20 * 60_000, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

async function vmState(): Promise<NodeState> {
  const doc = parse(await readFile(join(repo, 'state', 'hypervisor', 'lab.yaml'), 'utf8')) as { nodes: Record<string, NodeState> };
  return doc.nodes['builder-vm']!;
}

const consoleLog = join(data, 'run', 'libvirt', `${NAME}.console.log`);

/** Waits (event-driven, generous limit) until the guest's console shows `text`. */
function consoleShows(text: string): Promise<void> {
  return waitBooted({ kind: 'console', text }, { timeoutS: 600, signal: new AbortController().signal, consoleLog, what: NAME, address: async () => undefined, gone: async () => undefined });
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { timeout: 30_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += String(c)));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}


afterAll(async () => {
  if (missing) return;
  // Whatever happened above: no domain, disk or seed of this test is left behind.
  await removeTestVm(NAME);
});

describe.skipIf(missing !== undefined && !CI)(`VirtualMachine on libvirt/qemu, for real${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let booted: NodeState;

  it('kaidu apply of examples/vm creates the VM from the template image and reports it running only once the guest booted', { timeout: 20 * 60_000 }, async () => {
    expect(missing, 'CI=true: the VM test must run (sudo .ci/runtimes.sh up)').toBeUndefined();
    await removeLeftovers('kaidu-test-vm-');
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await cp(join(ROOT, 'examples', 'vm'), repo, { recursive: true });
    await rm(join(repo, 'state'), { recursive: true, force: true });
    await exec('git', ['init', '-q', '-b', 'main'], { cwd: repo });
    await writeInputs('256 MiB');

    const r = await apply();
    expect(r.code, r.out).toBe(0);
    booted = await vmState();
    expect(booted.status).toBe('running');
    // Running means the guest took an address on libvirt's network: observed, not assumed.
    expect(booted.attributes.address).toMatch(/^192\.168\.122\.\d+$/);
    expect(booted.attributes.state).toBe('running');

    // From outside: libvirt runs it under qemu's software emulation, from a disk made by qemu-img.
    expect((await virsh('domstate', NAME)).stdout.trim()).toBe('running');
    expect((await virsh('dumpxml', NAME)).stdout).toMatch(/^<domain type='qemu'/);
    expect((await virsh('domifaddr', NAME)).stdout).toContain(`${String(booted.attributes.address)}/24`);
    const info = JSON.parse((await exec('qemu-img', ['info', '--output=json', '-U', DISK])).stdout) as { format: string; 'backing-filename'?: string };
    expect(info.format).toBe('qcow2');
    expect(info['backing-filename']).toBe('guest' in pre ? pre.guest.template : '');

    // The guest saw its disk and the NoCloud seed Kaidu wrote (hub URL and host name for the
    // agent it would install), and answers on the network.
    await consoleShows('kaidu-guest: ready');
    const log = await readFile(consoleLog, 'utf8');
    expect(log).toContain('kaidu-guest: disk vda sectors=');
    expect(log).toMatch(/kaidu-guest: seed \/dev\/vdb instance-id=\S+ local-hostname=builder hub=http:\/\/192\.168\.122\.1:9\/fleet\.git host=builder/);
    expect(await httpGet(`http://${String(booted.attributes.address)}/`)).toContain('kaidu stand-in guest');
  });

  it('after an agent restart, inspect finds it by name and reports what it observes', { timeout: 120_000 }, async () => {
    const node = desired('kaidu:VirtualMachine', booted.properties, { service: 'lab', name: 'builder-vm', key: 'builder-vm', id: 'lab/builder-vm' });
    const seen = await new VirtualMachineDelegate({ dataDir: data }).inspect(context(data, node, { previous: booted }));
    expect(seen).toEqual({ exists: true, status: 'running', attributes: { state: 'running', uuid: booted.attributes.uuid, address: booted.attributes.address } });
  });

  it('update: more memory redefines and restarts the domain, keeps its disk, and waits for the new boot', { timeout: 20 * 60_000 }, async () => {
    const diskBefore = await stat(DISK);
    await writeInputs('320 MiB');
    const r = await apply();
    expect(r.code, r.out).toBe(0);
    const after = await vmState();
    expect(after.status).toBe('running');
    expect(after.attributes.address).toMatch(/^192\.168\.122\.\d+$/);
    expect((await virsh('dominfo', NAME)).stdout).toMatch(/Max memory:\s+327680 KiB/);
    expect((await stat(DISK)).ino).toBe(diskBefore.ino);
    // The console log was emptied at the restart: this boot is the new one.
    const log = await readFile(consoleLog, 'utf8');
    expect(log.match(/kaidu-guest: booted/g)?.length).toBe(1);
    booted = after;
  });

  it('delete destroys the domain and removes its disk and seed; already gone is a no-op; another virsh error is a failure', { timeout: 180_000 }, async () => {
    const node = desired('kaidu:VirtualMachine', booted.properties, { service: 'lab', name: 'builder-vm', key: 'builder-vm', id: 'lab/builder-vm' });
    const d = new VirtualMachineDelegate({ dataDir: data });
    await d.delete(context(data, node, { previous: booted }));
    const gone = await virsh('dominfo', NAME);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain(`failed to get domain '${NAME}'`);
    await expect(stat(DISK)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(`${DISK}.cidata.iso`)).rejects.toMatchObject({ code: 'ENOENT' });
    // Already gone: clean, and reported absent.
    await d.delete(context(data, node, { previous: booted }));
    expect((await d.inspect(context(data, node, { previous: booted }))).exists).toBe(false);
    // libvirtd unreachable (a real virsh failure): an error, never "absent" or "deleted".
    const real = new SystemCommandRunner();
    const broken: CommandRunner = { run: (spec) => real.run({ ...spec, env: { ...process.env, LIBVIRT_DEFAULT_URI: 'qemu:///system?socket=/nonexistent/libvirt-sock' } }) };
    await expect(d.inspect(context(data, node, { previous: booted, runner: broken }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    await expect(d.delete(context(data, node, { previous: booted, runner: broken }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
  });
});
