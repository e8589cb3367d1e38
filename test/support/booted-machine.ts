/**
 * The booted systemd container of `.ci/machines.sh` (systemd-nspawn --boot), for the tests of what
 * needs systemd as PID 1. CI brings it up once for the whole run; a test file run on its own brings
 * it up itself and powers it off again. Where it cannot run (not root, no systemd-nspawn) the tests
 * skip, except with CI=true, where that is a failure.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.ci', 'machines.sh');

export interface BootedMachine {
  leader: number;
  user: string;
  /** Inside the machine: a read-only Debian tree with systemd, to copy for nested machines. */
  base: string;
  /** Powers it off if this file brought it up. */
  release(): Promise<void>;
}

/** Why the machine cannot be booted here, or undefined when it can. */
export function cannotBoot(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!['/usr/bin/systemd-nspawn', '/bin/systemd-nspawn'].some((p) => existsSync(p))) return 'systemd-nspawn is not installed (systemd-container)';
  return undefined;
}

async function env(): Promise<Record<string, string> | undefined> {
  try {
    const { stdout } = await run('bash', [script, 'env'], { timeout: 30_000 });
    return Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  } catch {
    return undefined;
  }
}

export async function bootMachine(): Promise<BootedMachine> {
  let e = await env();
  const ours = !e;
  if (!e) {
    // Builds the tree on first use (a few minutes), then boots in well under a minute.
    await run('bash', [script, 'up'], { timeout: 15 * 60_000 }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`.ci/machines.sh up failed: ${err.stderr ?? err.message}`);
    });
    e = await env();
    if (!e) throw new Error('.ci/machines.sh up succeeded but env says the machine is not up');
  }
  return {
    leader: Number(e.KAIDU_TEST_MACHINE_LEADER),
    user: e.KAIDU_TEST_MACHINE_USER!,
    base: e.KAIDU_TEST_MACHINE_BASE!,
    release: async () => {
      if (ours) await run('bash', [script, 'down'], { timeout: 120_000 });
    },
  };
}
