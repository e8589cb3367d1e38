/**
 * Pod hosting through `kaidu apply` on real podman: a Pod with an `image` gets a workload
 * container (`<pod>-host`, in the pod, with an init) that the Directory, ConfigFile and Process
 * hosted on the pod are written and run in; the Port hosted on the pod is one of the pod's
 * published ports, and the page is served through it. Removing the service removes the pod with
 * its workload container. A Pod without `image` hosts its Ports, but a Process hosted on it is
 * reported with the hint (validate, plan) and fails at apply. In CI (CI=true) it runs or fails.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PodDelegate, SystemCommandRunner } from '../../src/delegates/index.js';
import { engineUnavailable, freePort, runTool, TEST_IMAGE } from '../support/container-engine.js';
import { context, desired, stateOf } from '../support/delegate-context.js';
import { kaidu } from '../support/run-cli.js';
import { serviceRepo, type ServiceRepo } from '../support/service-repo.js';

const inCI = process.env.CI === 'true';
const NAME = `kaidu-test-pod-host-${process.pid}`;
const BARE = `kaidu-test-pod-bare-${process.pid}`;
const LONE = `kaidu-test-pod-lone-${process.pid}`;
const why = engineUnavailable('podman');

const hosting = (port: number) => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    box: { type: kaidu:Host }
    pod:
      type: kaidu:Pod
      properties: { image: ${TEST_IMAGE}, pull_policy: never, pod_name: ${NAME} }
      requirements: [ { host: box } ]
    port:
      type: kaidu:Port
      properties: { port: ${port} }
      requirements: [ { host: pod } ]
    www:
      type: kaidu:Directory
      properties: { path: /srv/kaidu-pod-www }
      requirements: [ { host: pod } ]
    page:
      type: kaidu:ConfigFile
      properties: { path: /srv/kaidu-pod-www/index.html, template: services/files/page.tmpl, variables: { port: ${port} } }
      requirements: [ { host: pod }, { dependency: www } ]
    web:
      type: kaidu:Process
      properties: { command: [ httpd, -f, -h, /srv/kaidu-pod-www, -p, '${port}' ] }
      requirements: [ { host: pod }, { dependency: port }, { dependency: page } ]
`;

const bare = (port: number, withProcess: boolean) => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    box: { type: kaidu:Host }
    pod:
      type: kaidu:Pod
      properties: { pod_name: ${BARE} }
      requirements: [ { host: box } ]
    port:
      type: kaidu:Port
      properties: { port: ${port} }
      requirements: [ { host: pod } ]
${
  withProcess
    ? `    web:
      type: kaidu:Process
      properties: { command: [ sleep, '600' ] }
      requirements: [ { host: pod }, { dependency: port } ]
`
    : ''
}`;

describe.skipIf(why !== undefined && !inCI)(`nodes hosted on a kaidu:Pod, through kaidu apply on podman${why ? ` (skipped: ${why})` : ''}`, () => {
  let repo: ServiceRepo | undefined;
  afterAll(async () => {
    for (const pod of [NAME, BARE, LONE]) runTool(['podman', 'pod', 'rm', '-f', '-t', '0', pod]);
    runTool(['podman', 'rm', '-f', '-t', '0', `${LONE}-host`]);
    if (repo) await rm(repo.dir, { recursive: true, force: true });
  });

  it('runs them in the pod\'s workload container, publishes the Port through the pod, removes both with the pod; without an image a Process fails with the hint', async () => {
    if (why) throw new Error(`CI=true and podman cannot run: ${why}`);
    const port = await freePort();
    repo = await serviceRepo('kaidu-pod-nest-', { 'services/files/page.tmpl': 'served in the pod on {{ port }}\n', 'services/podnest.yaml': hosting(port) }, { commit: true });
    const { dir, git } = repo;

    const first = await kaidu(['apply', '--yes', '--host', 'box'], dir);
    expect(first.stderr + first.stdout).toContain('Applied.');
    expect(first.code).toBe(0);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(`served in the pod on ${port}\n`);
    // The workload container is in the pod, runs with an init, and holds what was written.
    const podId = runTool(['podman', 'pod', 'inspect', '--format', '{{.Id}}', NAME]).out.trim();
    expect(runTool(['podman', 'container', 'inspect', '--format', '{{.Pod}} {{.HostConfig.Init}} {{.State.Status}}', `${NAME}-host`]).out.trim()).toBe(`${podId} true running`);
    expect(runTool(['podman', 'exec', `${NAME}-host`, 'cat', '/srv/kaidu-pod-www/index.html']).out).toBe(`served in the pod on ${port}\n`);
    expect(existsSync('/srv/kaidu-pod-www')).toBe(false);
    // The pod publishes the Port (the pod owns the network).
    expect(runTool(['podman', 'pod', 'inspect', '--format', '{{json .InfraConfig.PortBindings}}', NAME]).out).toContain(`"HostPort":"${port}"`);

    await git('rm', '-q', 'services/podnest.yaml');
    await git('commit', '-qm', 'gone');
    const gone = await kaidu(['apply', '--yes', '--host', 'box'], dir);
    expect(gone.code).toBe(0);
    expect(runTool(['podman', 'pod', 'exists', NAME]).ok).toBe(false);
    expect(runTool(['podman', 'container', 'exists', `${NAME}-host`]).ok).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();

    // No image: a Port hosted on the pod is one of its published ports.
    const port2 = await freePort();
    await repo.write('services/bare.yaml', bare(port2, false));
    await git('add', '-A');
    await git('commit', '-qm', 'bare');
    const ported = await kaidu(['apply', '--yes', '--host', 'box'], dir);
    expect(ported.code).toBe(0);
    expect(ported.stderr + ported.stdout).toContain('+ bare/port: done');
    expect(runTool(['podman', 'pod', 'inspect', '--format', '{{json .InfraConfig.PortBindings}}', BARE]).out).toContain(`"HostPort":"${port2}"`);
    // ... but a Process has nowhere to run: validate and apply say so where it is.
    await repo.write('services/bare.yaml', bare(port2, true));
    await git('commit', '-qam', 'a process in the bare pod');
    const problem = /services\/bare\.yaml:\d+:5: error E_TOPOLOGY_POD_HOSTING: bare\/web is hosted on the kaidu:Pod bare\/pod, which has no `image`: nothing in the pod can run it\n  hint: give the pod an `image`/;
    const v = await kaidu(['validate'], dir);
    expect(v.code).toBe(1);
    expect(v.stdout + v.stderr).toMatch(problem);
    const refused = await kaidu(['apply', '--yes', '--host', 'box'], dir);
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toMatch(problem);
    // apply applies the rest (as for any node that fails); the node fails with the same advice.
    expect(refused.stdout + refused.stderr).toContain('FAILED bare/web: bare/web is hosted on the kaidu:Pod bare/pod, which runs no container to host it: give the pod an `image`');
  }, 300_000);

  it('a pod whose workload container is gone is not running; a stranger with its name fails the create and leaves no pod behind', async () => {
    if (why) throw new Error(`CI=true and podman cannot run: ${why}`);
    const dir = await mkdtemp(join(tmpdir(), 'kaidu-pod-lone-'));
    const runner = new SystemCommandRunner();
    const pods = new PodDelegate();
    const node = desired('kaidu:Pod', { image: TEST_IMAGE, pull_policy: 'never', pod_name: LONE }, { name: 'lone' });
    try {
      const made = await pods.create(context(dir, node, { runner }));
      expect(made).toMatchObject({ status: 'running', attributes: { pod_name: LONE, host_container: `${LONE}-host`, host_container_status: 'running' } });
      const prev = stateOf('kaidu:Pod', node.properties, made.attributes);
      expect(runTool(['podman', 'rm', '-f', '-t', '0', `${LONE}-host`]).ok).toBe(true);
      expect(await pods.inspect(context(dir, node, { runner, previous: prev }))).toMatchObject({ exists: true, status: 'stopped', attributes: { host_container_id: null, host_container_status: 'absent' } });
      await pods.delete(context(dir, node, { runner, previous: prev }));
      expect(runTool(['podman', 'pod', 'exists', LONE]).ok).toBe(false);

      // Someone else's container has the workload container's name: podman's error, and no half pod.
      expect(runTool(['podman', 'run', '-d', '--name', `${LONE}-host`, '--pull', 'never', TEST_IMAGE, 'sleep', '600']).ok).toBe(true);
      await expect(pods.create(context(dir, node, { runner }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED', message: expect.stringMatching(/already in use/) });
      expect(runTool(['podman', 'pod', 'exists', LONE]).ok).toBe(false);
      expect(runTool(['podman', 'container', 'inspect', '--format', '{{.State.Status}}', `${LONE}-host`]).out.trim()).toBe('running');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
