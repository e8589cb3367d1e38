/**
 * What a kaidu:Pod can host. validate and plan report, where the node is, a Process, ConfigFile or
 * Directory hosted on a pod without `image` and a Container hosted on a pod (it joins one through
 * `pod` instead); a pod with an image hosts them, and a Port hosted on any pod is one of its
 * published ports. Apply (the CLI and an agent) applies the rest: such a node fails with the hint
 * (its delegate never runs anything on the outer machine instead).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFileDelegate, ProcessDelegate, RecordingRunner } from '../../src/delegates/index.js';
import { recordedInside } from '../../src/delegates/nesting.js';
import type { HostedOn } from '../../src/delegates/types.js';
import { context, desired, stateOf } from '../support/delegate-context.js';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';

const service = (podProps: string, hosted: string) => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    box: { type: kaidu:Host }
    pod:
      type: kaidu:Pod
      properties: { ${podProps} }
      requirements: [ { host: box } ]
    port:
      type: kaidu:Port
      properties: { port: 8080 }
      requirements: [ { host: pod } ]
${hosted}`;

const PROCESS = `    web:
      type: kaidu:Process
      properties: { command: [ httpd, -f ] }
      requirements: [ { host: pod } ]
`;
const CONTAINER = `    c:
      type: kaidu:Container
      properties: { image: busybox }
      requirements: [ { host: pod } ]
`;

async function repo(text: string): Promise<string> {
  const dir = tempDir('kaidu-pod-hosting-');
  await mkdir(join(dir, 'services'));
  await writeFile(join(dir, 'kaidu.yaml'), 'branch: main\n');
  await writeFile(join(dir, 'services', 'shop.yaml'), text);
  return dir;
}

describe('nodes hosted on a kaidu:Pod', () => {
  it('a Process on a pod without image is reported at the node with the hint, by validate and plan', async () => {
    const dir = await repo(service('pod_name: shop', PROCESS));
    const v = await kaidu(['validate'], dir);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('services/shop.yaml:13:5: error E_TOPOLOGY_POD_HOSTING: shop/web is hosted on the kaidu:Pod shop/pod, which has no `image`: nothing in the pod can run it');
    expect(v.stdout).toContain('hint: give the pod an `image`');
    const p = await kaidu(['plan', '--json'], dir);
    expect(p.code).toBe(1);
    expect(JSON.parse(p.stdout).diagnostics).toContainEqual(expect.objectContaining({ code: 'E_TOPOLOGY_POD_HOSTING', file: 'services/shop.yaml', line: 13, column: 5 }));
  });

  it('a Container hosted on a pod is told to join it instead', async () => {
    const v = await kaidu(['validate'], await repo(service('image: busybox', CONTAINER)));
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('shop/c is a kaidu:Container hosted on the kaidu:Pod shop/pod: a container joins a pod, it is not hosted on it');
  });

  it('a pod with an image hosts a Process; any pod publishes the Ports hosted on it', async () => {
    const dir = await repo(service('image: busybox', PROCESS));
    expect((await kaidu(['validate'], dir)).code).toBe(0);
    const plan = JSON.parse((await kaidu(['plan', '--json'], dir)).stdout);
    const pod = plan.hosts[0].waves.flat().find((a: { node: string }) => a.node === 'shop/pod');
    expect(pod.desired.properties.publish).toEqual(['127.0.0.1:8080:8080/tcp']);
    const bare = await repo(service('pod_name: shop', ''));
    expect((await kaidu(['validate'], bare)).code).toBe(0);
  });

  it('at apply, a node on a pod without image fails with the hint and runs nothing', async () => {
    const dir = tempDir('kaidu-pod-hosting-apply-');
    const hostedOn: HostedOn = { node: 'svc/pod', type: 'kaidu:Pod', types: ['kaidu:Pod', 'tosca:Root'], properties: { pod_name: 'shop' }, attributes: { pod_id: 'p1', pod_name: 'shop', infra_container_id: 'i1' } };
    const runner = new RecordingRunner();
    const web = desired('kaidu:Process', { command: ['httpd', '-f'] }, { name: 'web', hostedOn });
    const failure = { code: 'E_DELEGATE', message: expect.stringContaining('svc/web is hosted on the kaidu:Pod svc/pod, which runs no container to host it: give the pod an `image`') };
    await expect(new ProcessDelegate({ dataDir: dir, runner }).create(context(dir, web, { runner }))).rejects.toMatchObject(failure);
    const page = desired('kaidu:ConfigFile', { path: '/srv/x.html', template: 'page.tmpl' }, { name: 'web', hostedOn });
    await expect(new ConfigFileDelegate().create(context(dir, page, { runner, files: { 'page.tmpl': 'x' } }))).rejects.toMatchObject(failure);
    expect(runner.lines).toEqual([]);
    // What a Port on that pod records (the infra container) reaches the pod's ports, never runs a command.
    const port = desired('kaidu:Port', { port: 8080 }, { name: 'port' });
    const inside = recordedInside({ node: port, previous: stateOf('kaidu:Port', port.properties, { inside: { kind: 'pod', runtime: 'podman', pod_name: 'shop', container_id: 'i1', workload: false } }) })!;
    expect(inside.description).toBe('podman pod shop');
    await expect(inside.exec(runner, ['true'])).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('runs no container to run a command in') });
    expect(runner.lines).toEqual([]);
  });
});
