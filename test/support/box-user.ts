/**
 * What the real Distrobox tests share: whether they can run here, the box user and images that
 * `.ci/machines.sh box` and `.ci/box-image.sh` prepare, and commands run as that user (another
 * route than Kaidu's, to check what it did).
 */
import { execFile, execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SystemCommandRunner } from '../../src/delegates/index.js';

const run = promisify(execFile);
const ciDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.ci');

function hasDistrobox(): boolean {
  try {
    execFileSync('distrobox', ['version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Why the box tests cannot run here, or undefined. As root, `.ci/machines.sh box` installs what is missing, so in CI only root is needed. */
export function boxTestsCannotRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (to prepare the box user)';
  if (process.env.CI !== 'true' && !hasDistrobox()) return 'distrobox is not installed (.ci/machines.sh box installs it)';
  return undefined;
}

/** The `KEY=value` lines a .ci script prints. */
async function scriptEnv(script: string, arg: string, timeoutMs: number): Promise<Record<string, string>> {
  const { stdout } = await run('bash', [join(ciDir, script), arg], { timeout: timeoutMs });
  return Object.fromEntries(stdout.trim().split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The box user (made if need be) and the busybox image its podman holds. */
export async function prepareBoxUser(): Promise<{ user: string; image: string }> {
  const env = await scriptEnv('machines.sh', 'box', 10 * 60_000);
  if (!env.KAIDU_TEST_BOX_USER || !env.KAIDU_TEST_BOX_IMAGE) throw new Error(`.ci/machines.sh box printed no box user or image: ${JSON.stringify(env)}`);
  return { user: env.KAIDU_TEST_BOX_USER, image: env.KAIDU_TEST_BOX_IMAGE };
}

/** A Debian image in the box user's podman that distrobox's init can start (built if need be). */
export async function prepareBoxDistroImage(): Promise<string> {
  const env = await scriptEnv('box-image.sh', 'up', 15 * 60_000);
  if (!env.KAIDU_TEST_BOX_DISTRO_IMAGE) throw new Error(`.ci/box-image.sh up printed no image: ${JSON.stringify(env)}`);
  return env.KAIDU_TEST_BOX_DISTRO_IMAGE;
}

/** Runs `argv` as `user` (their groups, a clean environment, in `/`); never throws for its exit code. */
export async function asBoxUser(user: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new SystemCommandRunner(120_000).run({ argv: ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--reset-env', ...argv], cwd: '/' });
  return { code: r.exitCode, out: r.stdout, err: r.stderr };
}
