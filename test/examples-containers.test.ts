/**
 * examples/containers, applied unchanged by `kaidu apply` against real podman and the stand-in
 * nginx and redis images (.ci/images.sh, served from the loopback registry as docker.io/library/…),
 * checked from outside (nginx answers on the pod's published port 8080 with the rendered page;
 * redis answers PONG), then deleted with nothing left behind: no pod, no container, no directory.
 * The example's names and port are its own (kaidu-shop-*, 8080, /var/tmp/kaidu-shop): leftovers of
 * an interrupted run are removed before and after. In CI (CI=true) it runs or fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kaidu } from './support/run-cli.js';

const exec = promisify(execFile);
const EXAMPLE = join(import.meta.dirname, '..', 'examples', 'containers');
const inCI = process.env.CI === 'true';
const POD = 'kaidu-shop-shop-pod';
const CONTAINERS = ['kaidu-shop-web', 'kaidu-shop-cache'];
const DATA = '/var/tmp/kaidu-shop';
const IMAGES = ['docker.io/library/nginx:1.27', 'docker.io/library/redis:7'];

function run(argv: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }) };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? (e as Error).message) };
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Why the example cannot be applied here, or undefined. */
function unavailable(): string | undefined {
  if (!run(['podman', 'info']).ok) return 'podman does not work here; run .ci/runtimes.sh up';
  // Present locally, or pullable from the loopback registry that stands in for docker.io.
  for (const image of IMAGES) {
    if (run(['podman', 'image', 'exists', image]).ok) continue;
    const [path, tag] = image.replace('docker.io/', '').split(':');
    if (!run(['curl', '-fs', '-o', '/dev/null', '-H', 'Accept: application/vnd.docker.distribution.manifest.v2+json', `http://127.0.0.1:5000/v2/${path}/manifests/${tag}`]).ok) return `${image} is neither local nor in the loopback registry; run .ci/runtimes.sh up`;
  }
  return undefined;
}

function cleanUp(): void {
  run(['podman', 'pod', 'rm', '-f', '-t', '0', POD]);
  for (const c of CONTAINERS) run(['podman', 'rm', '-f', '-t', '0', c]);
  run(['rm', '-rf', DATA]);
}

const why = unavailable();
describe.skipIf(why !== undefined && !inCI)(`examples/containers applies unchanged on podman${why ? ` (skipped: ${why})` : ''}`, () => {
  let repo: string;
  const git = (...args: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: repo });

  beforeAll(async () => {
    if (why) throw new Error(`CI=true and the example cannot run: ${why}`);
    cleanUp();
    repo = await mkdtemp(join(tmpdir(), 'kaidu-example-containers-'));
    await cp(EXAMPLE, repo, { recursive: true });
    await writeFile(join(repo, '.gitignore'), '.kaidu/\n');
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('commit', '-qm', 'the example as it is');
  });
  afterAll(async () => {
    cleanUp();
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  it('serves the rendered page on 8080, redis answers PONG, and deleting the service leaves nothing behind', async () => {
    if (!(await portFree(8080))) throw new Error('port 8080, which the example publishes, is taken on this machine');
    const applied = await kaidu(['apply', '--yes', '--host', 'box'], repo);
    expect(applied.stderr + applied.stdout).toContain('Applied.');
    expect(applied.code).toBe(0);

    // Apply said done only once nginx answered (its readiness probe): no retries needed here.
    const res = await fetch('http://127.0.0.1:8080/');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`Served by nginx in pod ${POD}`);
    expect(run(['podman', 'exec', 'kaidu-shop-cache', 'redis-cli', 'ping']).out.trim()).toBe('PONG');
    // nginx and redis share the pod's network: redis is reachable from the web container on localhost.
    expect(run(['podman', 'exec', 'kaidu-shop-web', 'redis-cli', '-h', '127.0.0.1', 'ping']).out.trim()).toBe('PONG');

    await git('rm', '-q', 'services/shop.yaml');
    await git('commit', '-qm', 'remove the shop');
    const deleted = await kaidu(['apply', '--yes', '--host', 'box'], repo);
    expect(deleted.code).toBe(0);
    expect(run(['podman', 'pod', 'exists', POD]).ok).toBe(false);
    for (const c of CONTAINERS) expect(run(['podman', 'container', 'exists', c]).ok).toBe(false);
    expect(existsSync(DATA)).toBe(false);
    expect(existsSync(join(repo, 'state', 'box', 'shop.yaml'))).toBe(false);
    await expect(fetch('http://127.0.0.1:8080/')).rejects.toThrow();
  }, 300_000);
});
