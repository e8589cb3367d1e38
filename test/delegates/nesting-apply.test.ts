/**
 * Nesting through `kaidu apply` on real podman: a service whose Port, Directory, ConfigFile and
 * Process are hosted on a busybox container. Apply writes and runs them inside it and the page is
 * served through the published port; moving the Port recreates the container (its published ports
 * are fixed at create) and restarts everything inside; removing the service deletes the nested
 * nodes before the container and leaves nothing on the machine. In CI (CI=true) it runs or fails.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { engineUnavailable, freePort, runTool, TEST_IMAGE } from '../support/container-engine.js';
import { kaidu } from '../support/run-cli.js';
import { serviceRepo, type ServiceRepo } from '../support/service-repo.js';

const inCI = process.env.CI === 'true';
const NAME = `kaidu-test-nest-apply-${process.pid}`;

const run = (argv: string[]) => runTool(argv, 60_000);
const why = engineUnavailable('podman');

const template = (port: number) => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    box: { type: kaidu:Host }
    c:
      type: kaidu:Container
      properties: { image: ${TEST_IMAGE}, init: true, command: [ sleep, '3600' ], container_name: ${NAME}, pull_policy: never }
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
  let repo: ServiceRepo | undefined;
  afterAll(async () => {
    run(['podman', 'rm', '-f', '-t', '0', NAME]);
    if (repo) await rm(repo.dir, { recursive: true, force: true });
  });

  it('applies a Port, Directory, ConfigFile and Process inside a container, recreates it when the Port moves, and deletes inside-out', async () => {
    if (why) throw new Error(`CI=true and podman cannot run: ${why}`);
    const port1 = await freePort();
    repo = await serviceRepo('kaidu-nest-apply-', { 'services/files/page.tmpl': 'served inside on {{ port }}\n', 'services/nest.yaml': template(port1) }, { commit: true });
    const { dir, git } = repo;

    const first = await kaidu(['apply', '--yes', '--host', 'box'], dir);
    expect(first.stderr + first.stdout).toContain('Applied.');
    expect(await (await fetch(`http://127.0.0.1:${port1}/`)).text()).toBe(`served inside on ${port1}\n`);
    // Written inside the container, not on the machine.
    expect(run(['podman', 'exec', NAME, 'cat', '/srv/kaidu-www/index.html']).out).toBe(`served inside on ${port1}\n`);
    expect(existsSync('/srv/kaidu-www')).toBe(false);
    const id1 = run(['podman', 'container', 'inspect', '--format', '{{.Id}}', NAME]).out.trim();

    // The Port moves: the container is recreated with the new published port, everything inside follows.
    const port2 = await freePort();
    await repo.write('services/nest.yaml', template(port2));
    await git('commit', '-qam', 'two');
    const planned = await kaidu(['plan', '--host', 'box'], dir);
    expect(planned.stdout).toMatch(/nest\/c \(kaidu:Container\) \[destructive\]: configuration changed \([^)]*publish/);
    const second = await kaidu(['apply', '--yes', '--host', 'box'], dir);
    expect(second.code).toBe(0);
    expect(run(['podman', 'container', 'inspect', '--format', '{{.Id}}', NAME]).out.trim()).not.toBe(id1);
    expect(await (await fetch(`http://127.0.0.1:${port2}/`)).text()).toBe(`served inside on ${port2}\n`);
    await expect(fetch(`http://127.0.0.1:${port1}/`)).rejects.toThrow();

    await git('rm', '-q', 'services/nest.yaml');
    await git('commit', '-qm', 'gone');
    const gone = await kaidu(['apply', '--yes', '--host', 'box'], dir);
    expect(gone.code).toBe(0);
    // Inside-out: the process before its container (the container's delete comes last).
    const order = (gone.stderr + gone.stdout).split('\n').filter((l) => /^- nest\/\w+: delete/.test(l)).map((l) => l.split(':')[0]);
    expect(order.at(-1)).toBe('- nest/c');
    expect(order.indexOf('- nest/web')).toBeLessThan(order.indexOf('- nest/c'));
    expect(run(['podman', 'container', 'exists', NAME]).ok).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port2}/`)).rejects.toThrow();
  }, 300_000);
});
