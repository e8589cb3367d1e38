/**
 * Containers and pods against the real podman and docker: create, inspect, update, re-adopt,
 * delete, already gone; pull policies; readiness. The image is a busybox that `.ci/runtimes.sh`
 * builds from Debian's busybox-static and serves from a loopback registry as
 * docker.io/library/busybox:1.36, so nothing is pulled from the internet. In CI (CI=true) a runtime
 * that cannot run fails these tests; elsewhere they are skipped with the reason in their title.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ContainerDelegate, PodDelegate, SystemCommandRunner } from '../../src/delegates/index.js';
import type { DesiredNode } from '../../src/delegates/types.js';
import type { PlainValue } from '../../src/state/model.js';
import { context, desired, stateOf } from '../support/delegate-context.js';
import { engineUnavailable, freePort, runTool, TEST_IMAGE } from '../support/container-engine.js';

const IMAGE = TEST_IMAGE;
const REGISTRY = '127.0.0.1:5000';
const inCI = process.env.CI === 'true';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-rtc-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const cli of ['podman', 'docker'] as const) {
  const why = engineUnavailable(cli);
  describe.skipIf(why !== undefined && !inCI)(`${cli} containers, for real${why ? ` (skipped: ${why})` : ''}`, () => {
    // Unique per run, so a leftover of a killed run never collides.
    const tag = `${process.pid}`;
    const made: string[] = [];
    beforeAll(() => {
      if (why) throw new Error(`CI=true and ${cli} cannot run: ${why}`);
    });
    afterAll(() => {
      for (const name of made) runTool([cli, 'rm', '-f', name]);
    });

    const node = (key: string, props: Record<string, PlainValue>): DesiredNode => {
      made.push(`kaidu-svc-${key}-${tag}`);
      return desired('kaidu:Container', { image: IMAGE, runtime: cli, init: true, pull_policy: 'never', ...props }, { name: `${key}-${tag}` });
    };
    const runner = new SystemCommandRunner();
    const inside = (name: string, ...argv: string[]) => runTool([cli, 'exec', name, ...argv]);
    const ids = (name: string) => runTool([cli, 'ps', '-aq', '--no-trunc', '--filter', `name=^${name}$`]).out.trim();

    it('creates, inspects, updates a changed property, is re-adopted by a new agent, deletes, and finds it already gone', async () => {
      const n1 = node('life', { command: ['sleep', '600'], env: { GREETING: 'one' } });
      const name = `kaidu-svc-life-${tag}`;
      const d = new ContainerDelegate();
      const created = await d.create(context(dir, n1, { runner }));
      expect(created.status).toBe('running');
      expect(created.attributes.status).toBe('running');
      const firstId = String(created.attributes.container_id);
      expect(ids(name)).toBe(firstId);
      expect(inside(name, 'sh', '-c', 'echo $GREETING').out.trim()).toBe('one');

      const seen = await d.inspect(context(dir, n1, { runner, previous: stateOf('kaidu:Container', n1.properties, created.attributes) }));
      expect(seen).toMatchObject({ exists: true, status: 'running', attributes: { container_id: firstId, status: 'running' } });

      // A changed property replaces the container: a new one with the new value, the old one gone.
      const n2 = { ...n1, properties: { ...n1.properties, env: { GREETING: 'two' } }, fingerprint: 'fp2' };
      const updated = await d.update(context(dir, n2, { runner, previous: stateOf('kaidu:Container', n1.properties, created.attributes) }));
      const secondId = String(updated.attributes.container_id);
      expect(secondId).not.toBe(firstId);
      expect(ids(name)).toBe(secondId);
      expect(inside(name, 'sh', '-c', 'echo $GREETING').out.trim()).toBe('two');

      // The agent restarted: a fresh delegate and runner find it from what the state file recorded.
      const afterRestart = await new ContainerDelegate().inspect(context(dir, n2, { runner: new SystemCommandRunner(), previous: stateOf('kaidu:Container', n2.properties, updated.attributes) }));
      expect(afterRestart).toMatchObject({ exists: true, status: 'running', attributes: { container_id: secondId } });

      const prev = stateOf('kaidu:Container', n2.properties, updated.attributes);
      await new ContainerDelegate().delete(context(dir, n2, { runner, previous: prev }));
      expect(ids(name)).toBe('');
      expect(await d.inspect(context(dir, n2, { runner, previous: prev }))).toEqual({ exists: false, status: 'stopped', attributes: {} });
      // Already gone: deleting again succeeds, and says nothing false.
      await d.delete(context(dir, n2, { runner, previous: prev }));
    }, 120_000);

    it('a container that stopped by itself is seen as stopped, and is still deleted', async () => {
      const n = node('exits', { command: ['true'] });
      const name = `kaidu-svc-exits-${tag}`;
      const d = new ContainerDelegate();
      await d.create(context(dir, n, { runner }));
      // `true` exits at once; wait for the runtime to say so (bounded, event-free runtimes need polling).
      for (let i = 0; i < 200 && runTool([cli, 'container', 'inspect', '--format', '{{.State.Status}}', name]).out.trim() === 'running'; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await d.inspect(context(dir, n, { runner }))).toMatchObject({ exists: true, status: 'stopped', attributes: { status: 'exited' } });
      await d.delete(context(dir, n, { runner }));
      expect(ids(name)).toBe('');
    }, 60_000);

    it('pull policies: never refuses an absent image at once; missing fails fast on an unreachable registry; a used name of someone else is left alone', async () => {
      const d = new ContainerDelegate();
      await expect(d.create(context(dir, node('never', { image: 'localhost/kaidu-absent:0', pull_policy: 'never' }), { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('is not present') });
      // localhost:1 refuses connections: the pull fails with the runtime's own error, quickly.
      await expect(d.create(context(dir, node('missing', { image: 'localhost:1/kaidu-absent:0', pull_policy: 'missing' }), { runner }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
      const foreign = `kaidu-svc-foreign-${tag}`;
      made.push(foreign);
      expect(runTool([cli, 'run', '-d', '--init', '--name', foreign, IMAGE, 'sleep', '600']).ok).toBe(true);
      const before = ids(foreign);
      await expect(d.create(context(dir, node('foreign', { container_name: foreign, command: ['sleep', '600'] }), { runner }))).rejects.toMatchObject({ message: expect.stringContaining('not made by Kaidu') });
      expect(ids(foreign)).toBe(before);
    }, 60_000);

    const registryUp = runTool(['curl', '-fsS', `http://${REGISTRY}/v2/`]).ok;
    it.skipIf(!registryUp && !inCI)(`pull policy always pulls from the loopback registry${registryUp ? '' : ' (skipped: no registry on 127.0.0.1:5000)'}`, async () => {
      const n = node('always', { image: `${REGISTRY}/library/busybox:1.36`, pull_policy: 'always', command: ['sleep', '600'] });
      const d = new ContainerDelegate();
      expect((await d.create(context(dir, n, { runner }))).status).toBe('running');
      await d.delete(context(dir, n, { runner }));
    }, 60_000);

    it('readiness: an http probe through the published port; a command probe in the container; a probe that never passes fails the action', async () => {
      const port = await freePort();
      const d = new ContainerDelegate();
      // The server starts a moment after the container does: create must wait for it.
      const web = node('ready', { command: ['sh', '-c', 'sleep 1; exec httpd -f -h /etc -p 8080'], ports: [`127.0.0.1:${port}:8080`], readiness: { http: `http://127.0.0.1:${port}/passwd`, timeout: 60 } });
      await d.create(context(dir, web, { runner }));
      const res = await fetch(`http://127.0.0.1:${port}/passwd`);
      expect(res.status).toBe(200);
      await d.delete(context(dir, web, { runner }));

      // A tcp probe on the published port: docker's proxy accepts there before anything listens
      // inside, so create must also see the port listening in the container.
      const tcpPort = await freePort();
      const late = node('ready-tcp', { command: ['sh', '-c', 'sleep 2; exec httpd -f -h /etc -p 8080'], ports: [`127.0.0.1:${tcpPort}:8080`], readiness: { tcp: tcpPort, timeout: 60 } });
      await d.create(context(dir, late, { runner }));
      expect((await fetch(`http://127.0.0.1:${tcpPort}/passwd`)).status).toBe(200);
      await d.delete(context(dir, late, { runner }));

      const file = node('ready-cmd', { command: ['sh', '-c', 'sleep 1; touch /tmp/ready; exec sleep 600'], readiness: { command: ['test', '-e', '/tmp/ready'], timeout: 60 } });
      await d.create(context(dir, file, { runner }));
      expect(inside(`kaidu-svc-ready-cmd-${tag}`, 'test', '-e', '/tmp/ready').ok).toBe(true);
      await d.delete(context(dir, file, { runner }));

      const never = node('never-ready', { command: ['sleep', '600'], readiness: { command: ['false'], timeout: 1 } });
      await expect(d.create(context(dir, never, { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE_TIMEOUT', message: expect.stringContaining('was not ready within 1s') });
      await d.delete(context(dir, never, { runner }));
      // A container that died will never be ready: the action fails at once, not after the timeout.
      const dies = node('dies', { command: ['sh', '-c', 'exit 3'], readiness: { tcp: await freePort(), timeout: 600 } });
      await expect(d.create(context(dir, dies, { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('will not be') });
      await d.delete(context(dir, dies, { runner }));
    }, 120_000);

    if (cli === 'docker') {
      it('docker has no pods: a Pod on docker is a clear error', async () => {
        await expect(new PodDelegate().create(context(dir, desired('kaidu:Pod', { runtime: 'docker' }), { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('pods need podman') });
      });
    }

    if (cli === 'podman') {
      it('pods: create with a published port, a member container serves through it, update recreates, re-adopt, delete, already gone', async () => {
        const podName = `kaidu-svc-pod-${tag}`;
        const port1 = await freePort();
        const pod = desired('kaidu:Pod', { runtime: 'podman', ports: [`127.0.0.1:${port1}:8080`] }, { name: `pod-${tag}` });
        const pods = new PodDelegate();
        try {
          const created = await pods.create(context(dir, pod, { runner }));
          expect(created).toMatchObject({ status: 'running', attributes: { pod_name: podName } });
          const member = node('member', { pod: podName, command: ['httpd', '-f', '-h', '/etc', '-p', '8080'], readiness: { http: `http://127.0.0.1:${port1}/passwd` } });
          await new ContainerDelegate().create(context(dir, member, { runner }));
          expect((await fetch(`http://127.0.0.1:${port1}/passwd`)).status).toBe(200);

          const port2 = await freePort();
          const pod2 = { ...pod, properties: { ...pod.properties, ports: [`127.0.0.1:${port2}:8080`] } };
          const prev = stateOf('kaidu:Pod', pod.properties, created.attributes);
          const updated = await pods.update(context(dir, pod2, { runner, previous: prev }));
          expect(updated.attributes.pod_id).not.toBe(created.attributes.pod_id);
          expect(runTool(['podman', 'pod', 'inspect', '--format', '{{.Id}}', podName]).out.trim()).toBe(updated.attributes.pod_id);

          const prev2 = stateOf('kaidu:Pod', pod2.properties, updated.attributes);
          expect(await new PodDelegate().inspect(context(dir, pod2, { runner: new SystemCommandRunner(), previous: prev2 }))).toMatchObject({ exists: true, status: 'running', attributes: { pod_id: updated.attributes.pod_id } });
          await pods.delete(context(dir, pod2, { runner, previous: prev2 }));
          expect(runTool(['podman', 'pod', 'exists', podName]).ok).toBe(false);
          expect((await pods.inspect(context(dir, pod2, { runner, previous: prev2 }))).exists).toBe(false);
          await pods.delete(context(dir, pod2, { runner, previous: prev2 }));
        } finally {
          runTool(['podman', 'pod', 'rm', '-f', podName]);
        }
      }, 120_000);
    }
  });
}
