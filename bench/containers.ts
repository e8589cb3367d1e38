/**
 * Containers: create and delete 20 busybox containers through the Container delegate, per engine
 * that works here (podman, docker), against the same 20 done with the engine's CLI alone
 * (`run -d` then `rm -f`). The image must be local (`.ci/runtimes.sh up`); an engine that cannot
 * run is reported as skipped with the reason.
 */
import { execFileSync } from 'node:child_process';
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
  const create = await time(async () => {
    for (const i of ids) await d.create(ctx(i));
  });
  const del = await time(async () => {
    for (const i of ids) await d.delete(ctx(i));
  });
  const cliCreate = await time(() => {
    for (const i of ids) execFileSync(cli, ['run', '-d', '--init', '--name', `kaidu-bench-raw-${i}`, IMAGE, 'sleep', '600'], { stdio: 'ignore' });
  });
  const cliDelete = await time(() => {
    for (const i of ids) execFileSync(cli, ['rm', '-f', `kaidu-bench-raw-${i}`], { stdio: 'ignore' });
  });
  return {
    containers: COUNT,
    createMs: round(create.ms, 0),
    deleteMs: round(del.ms, 0),
    perContainerMs: round((create.ms + del.ms) / COUNT, 0),
    baselineCliCreateMs: round(cliCreate.ms, 0),
    baselineCliDeleteMs: round(cliDelete.ms, 0),
    ratioToCli: round((create.ms + del.ms) / (cliCreate.ms + cliDelete.ms)),
  };
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
