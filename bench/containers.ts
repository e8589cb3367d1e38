/**
 * Containers: create and delete 20 busybox containers through the Container delegate, per engine
 * that works here (podman, docker), against the same 20 done with the engine's CLI alone
 * (`run -d` then `rm -f`). The image must be local (`.ci/runtimes.sh up`); an engine that cannot
 * run is reported as skipped with the reason. Beside wall time, the CPU each phase costs: this
 * process (the delegate), the engine commands it ran (reaped children, from /proc/self/stat), and
 * the engine's daemons (dockerd and containerd; podman has none, its conmons are counted with
 * neither, as they leave the command's process tree).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ContainerDelegate } from '../src/delegates/container.js';
import { SystemCommandRunner } from '../src/delegates/command-runner.js';
import type { DelegateContext } from '../src/delegates/types.js';
import { round, time } from './measure.js';

const COUNT = 20;
const IMAGE = process.env.KAIDU_TEST_IMAGE ?? 'docker.io/library/busybox:1.36';

function works(argv: string[]): boolean {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

const TICK_MS = (() => {
  try {
    return 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  } catch {
    return 10;
  }
})();

/** utime+stime, and the reaped children's cutime+cstime, of a process, in ms ("self": this one). */
function procCpuMs(pid: number | 'self'): { own: number; children: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // After the command: state(0) … utime(11) stime(12) cutime(13) cstime(14).
    return { own: (f[11]! + f[12]!) * TICK_MS, children: (f[13]! + f[14]!) * TICK_MS };
  } catch {
    return undefined;
  }
}

function daemonPids(cli: 'podman' | 'docker'): number[] {
  if (cli !== 'docker') return [];
  try {
    return execFileSync('pidof', ['dockerd', 'containerd'], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Runs `fn` and reports its wall time with the CPU it cost, in ms. */
async function measured(cli: 'podman' | 'docker', fn: () => Promise<void> | void): Promise<{ wallMs: number; cpuMs: { kaidu: number; commands: number; daemons: number; total: number } }> {
  const daemons = daemonPids(cli);
  const daemonCpu = () => daemons.reduce((sum, pid) => sum + (procCpuMs(pid)?.own ?? 0), 0);
  const cpu0 = process.cpuUsage();
  const self0 = procCpuMs('self');
  const d0 = daemonCpu();
  const t = await time(fn);
  const cpu1 = process.cpuUsage(cpu0);
  const self1 = procCpuMs('self');
  const kaidu = (cpu1.user + cpu1.system) / 1000;
  const commands = self0 && self1 ? self1.children - self0.children : 0;
  const daemonsMs = daemonCpu() - d0;
  return { wallMs: round(t.ms, 0), cpuMs: { kaidu: round(kaidu, 0), commands: round(commands, 0), daemons: round(daemonsMs, 0), total: round(kaidu + commands + daemonsMs, 0) } };
}

function removeLeftovers(cli: 'podman' | 'docker'): void {
  for (let i = 0; i < COUNT; i++) for (const name of [`kaidu-bench-c${i}`, `kaidu-bench-raw-${i}`]) works([cli, 'rm', '-f', name]);
}

async function oneEngine(cli: 'podman' | 'docker', dataDir: string): Promise<Record<string, unknown>> {
  if (!works([cli, 'info'])) return { skipped: `${cli} does not work here` };
  if (!works(cli === 'podman' ? ['podman', 'image', 'exists', IMAGE] : ['docker', 'image', 'inspect', IMAGE])) return { skipped: `${IMAGE} is not local; run .ci/runtimes.sh up` };
  const runner = new SystemCommandRunner();
  const d = new ContainerDelegate();
  const ctx = (i: number): DelegateContext => ({
    node: { id: `bench/c${i}`, service: 'bench', key: `c${i}`, name: `c${i}`, host: 'h', type: 'kaidu:Container', types: ['kaidu:Container'], properties: { image: IMAGE, runtime: cli, init: true, pull_policy: 'never', command: ['sleep', '600'] }, env: {}, interfaces: {}, artifacts: {}, fingerprint: 'bench' },
    host: 'h',
    dataDir,
    readRepoFile: async () => undefined,
    reservedPorts: new Set(),
    runner,
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
  });
  const ids = [...Array(COUNT).keys()];
  try {
    const create = await measured(cli, async () => {
      for (const i of ids) await d.create(ctx(i));
    });
    const del = await measured(cli, async () => {
      for (const i of ids) await d.delete(ctx(i));
    });
    const cliCreate = await measured(cli, () => {
      for (const i of ids) execFileSync(cli, ['run', '-d', '--init', '--name', `kaidu-bench-raw-${i}`, IMAGE, 'sleep', '600'], { stdio: 'ignore' });
    });
    const cliDelete = await measured(cli, () => {
      for (const i of ids) execFileSync(cli, ['rm', '-f', `kaidu-bench-raw-${i}`], { stdio: 'ignore' });
    });
    return {
      containers: COUNT,
      createMs: create.wallMs,
      deleteMs: del.wallMs,
      perContainerMs: round((create.wallMs + del.wallMs) / COUNT, 0),
      createCpuMs: create.cpuMs,
      deleteCpuMs: del.cpuMs,
      baselineCliCreateMs: cliCreate.wallMs,
      baselineCliDeleteMs: cliDelete.wallMs,
      baselineCliCreateCpuMs: cliCreate.cpuMs,
      baselineCliDeleteCpuMs: cliDelete.cpuMs,
      ratioToCli: round((create.wallMs + del.wallMs) / (cliCreate.wallMs + cliDelete.wallMs)),
      cpuRatioToCli: round((create.cpuMs.total + del.cpuMs.total) / Math.max(1, cliCreate.cpuMs.total + cliDelete.cpuMs.total)),
    };
  } finally {
    // Nothing stays behind, also when a step failed.
    removeLeftovers(cli);
  }
}

export async function benchContainers(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kaidu-bench-ct-'));
  try {
    return {
      target: 'create + delete of 20 containers within 2x of the engine CLI alone (the delegate also checks the image, the name and the result)',
      podman: await oneEngine('podman', dataDir),
      docker: await oneEngine('docker', dataDir),
    };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
