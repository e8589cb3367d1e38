/**
 * Nesting through `kaidu apply` on real podman: a service whose Port, Directory, ConfigFile and
 * Process are hosted on a busybox container. Apply writes and runs them inside it and the page is
 * served through the published port; moving the Port recreates the container (its published ports
 * are fixed at create) and restarts everything inside; removing the service deletes the nested
 * nodes before the container and leaves nothing on the machine. In CI (CI=true) it runs or fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { kaidu } from '../support/run-cli.js';

const exec = promisify(execFile);
const IMAGE = process.env.KAIDU_TEST_IMAGE ?? 'docker.io/library/busybox:1.36';
const inCI = process.env.CI === 'true';
const NAME = `kaidu-test-nest-apply-${process.pid}`;

function run(argv: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }) };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? (e as Error).message) };
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const why = !run(['podman', 'info']).ok ? 'podman does not work here' : !run(['podman', 'image', 'exists', IMAGE]).ok ? `${IMAGE} is not local; run .ci/runtimes.sh up` : undefined;

const template = (port: number) => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    box: { type: kaidu:Host }
    c:
      type: kaidu:Container
      properties: { image: ${IMAGE}, init: true, command: [ sleep, '3600' ], container_name: ${NAME}, pull_policy: never }
      requirements: [ { host: box } ]
    port:
      type: kaidu:Port
      properties: { port: ${port} }
      requirements: [ { host: c } ]
    www:
      type: kaidu:Directory
      properties: { path: /srv/kaidu-www }
      requirements: [ { host: c } ]
    page:
      type: kaidu:ConfigFile
      properties: { path: /srv/kaidu-www/index.html, template: services/files/page.tmpl, variables: { port: ${port} } }
      requirements: [ { host: c }, { dependency: www } ]
    web:
      type: kaidu:Process
      properties: { command: [ httpd, -f, -h, /srv/kaidu-www, -p, '${port}' ] }
      requirements: [ { host: c }, { dependency: port }, { dependency: page } ]
`;

describe.skipIf(why !== undefined && !inCI)(`nesting through kaidu apply on podman${why ? ` (skipped: ${why})` : ''}`, () => {
  let repo: string | undefined;
  afterAll(async () => {
    run(['podman', 'rm', '-f', '-t', '0', NAME]);
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  it('applies a Port, Directory, ConfigFile and Process inside a container, recreates it when the Port moves, and deletes inside-out', async () => {
    if (why) throw new Error(`CI=true and podman cannot run: ${why}`);
    repo = await mkdtemp(join(tmpdir(), 'kaidu-nest-apply-'));
    const git = (...args: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: repo });
    await mkdir(join(repo, 'services', 'files'), { recursive: true });
    await writeFile(join(repo, 'kaidu.yaml'), 'branch: main\n');
    await writeFile(join(repo, '.gitignore'), '.kaidu/\n');
    await writeFile(join(repo, 'services', 'files', 'page.tmpl'), 'served inside on {{ port }}\n');
    const port1 = await freePort();
    await writeFile(join(repo, 'services', 'nest.yaml'), template(port1));
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('commit', '-qm', 'one');

    const first = await kaidu(['apply', '--yes', '--host', 'box'], repo);
    expect(first.stderr + first.stdout).toContain('Applied.');
    expect(await (await fetch(`http://127.0.0.1:${port1}/`)).text()).toBe(`served inside on ${port1}\n`);
    // Written inside the container, not on the machine.
    expect(run(['podman', 'exec', NAME, 'cat', '/srv/kaidu-www/index.html']).out).toBe(`served inside on ${port1}\n`);
    expect(existsSync('/srv/kaidu-www')).toBe(false);
    const id1 = run(['podman', 'container', 'inspect', '--format', '{{.Id}}', NAME]).out.trim();

    // The Port moves: the container is recreated with the new published port, everything inside follows.
    const port2 = await freePort();
    await writeFile(join(repo, 'services', 'nest.yaml'), template(port2));
    await git('commit', '-qam', 'two');
    const planned = await kaidu(['plan', '--host', 'box'], repo);
    expect(planned.stdout).toMatch(/nest\/c \(kaidu:Container\) \[destructive\]: configuration changed \([^)]*publish/);
    const second = await kaidu(['apply', '--yes', '--host', 'box'], repo);
    expect(second.code).toBe(0);
    expect(run(['podman', 'container', 'inspect', '--format', '{{.Id}}', NAME]).out.trim()).not.toBe(id1);
    expect(await (await fetch(`http://127.0.0.1:${port2}/`)).text()).toBe(`served inside on ${port2}\n`);
    await expect(fetch(`http://127.0.0.1:${port1}/`)).rejects.toThrow();

    await git('rm', '-q', 'services/nest.yaml');
    await git('commit', '-qm', 'gone');
    const gone = await kaidu(['apply', '--yes', '--host', 'box'], repo);
    expect(gone.code).toBe(0);
    // Inside-out: the process before its container (the container's delete comes last).
    const order = (gone.stderr + gone.stdout).split('\n').filter((l) => /^- nest\/\w+: delete/.test(l)).map((l) => l.split(':')[0]);
    expect(order.at(-1)).toBe('- nest/c');
    expect(order.indexOf('- nest/web')).toBeLessThan(order.indexOf('- nest/c'));
    expect(run(['podman', 'container', 'exists', NAME]).ok).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port2}/`)).rejects.toThrow();
  }, 300_000);
});
