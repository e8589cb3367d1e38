/**
 * A real agent records the exit of a process nested in a container as it happens: the state
 * commit shows the node stopped (exit code 0) or failed (its exit code), with no push of the
 * templates and no pass of its own to look; and it still does after the agent restarted (the
 * restarted agent re-adopts the process and watches it again). On podman and docker; the
 * processes wait for a file the test creates. In CI (CI=true) a runtime that cannot run fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { engineUnavailable, runTool, TEST_IMAGE } from '../support/container-engine.js';
import { startHarness, type Harness } from '../support/agent-harness.js';

const inCI = process.env.CI === 'true';

const service = (cli: string, name: string) => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    host-a: { type: kaidu:Host }
    c:
      type: kaidu:Container
      properties: { image: ${TEST_IMAGE}, runtime: ${cli}, init: true, pull_policy: never, command: [ sleep, '3600' ], container_name: ${name} }
      requirements: [ { host: host-a } ]
    done:
      type: kaidu:Process
      properties: { command: [ sh, -c, 'while [ ! -e /tmp/go-done ]; do sleep 0.1; done; exit 0' ] }
      requirements: [ { host: c } ]
    broken:
      type: kaidu:Process
      properties: { command: [ sh, -c, 'while [ ! -e /tmp/go-broken ]; do sleep 0.1; done; exit 3' ] }
      requirements: [ { host: c } ]
`;

for (const cli of ['podman', 'docker'] as const) {
  const why = engineUnavailable(cli);
  describe.skipIf(why !== undefined && !inCI)(`an agent records exits inside a ${cli} container as events${why ? ` (skipped: ${why})` : ''}`, () => {
    const name = `kaidu-test-agent-exit-${cli}-${process.pid}`;
    let h: Harness | undefined;
    afterEach(async () => {
      await h?.close();
      h = undefined;
      runTool([cli, 'rm', '-f', name]); // docker rm has no -t
    });

    it('the state commit records stopped / failed with the exit code, without another push, before and after an agent restart', async () => {
      if (why) throw new Error(`CI=true and ${cli} cannot run: ${why}`);
      h = await startHarness({ 'kaidu.yaml': 'branch: main\n', 'services/nest.yaml': service(cli, name) });
      const a = await h.startAgent('host-a');
      await h.waitReady(a);
      const node = async (key: string) => (await h!.state())['host-a']?.nest?.nodes[key];
      await h.until('both running inside', async () => (await node('done'))?.status === 'running' && (await node('broken'))?.status === 'running');
      const templatePushes = () => h!.pushes.filter((p) => p.ref === 'refs/heads/main').length;
      const pushedBefore = templatePushes();

      // Exits 0 under the first agent: stopped, exit code 0.
      expect(runTool([cli, 'exec', name, 'touch', '/tmp/go-done']).ok).toBe(true);
      const done = await h.until('the exit of nest/done recorded', async () => {
        const n = await node('done');
        return n && n.status !== 'running' ? n : undefined;
      });
      expect(done.status).toBe('stopped');
      expect(done.attributes).toMatchObject({ exit_code: 0, status: 'exited' });
      expect((await h.log()).join('\n')).toContain('record exit of nest/done');

      // The agent restarts; the new one re-adopts nest/broken and records its exit too.
      a.proc.kill('SIGTERM');
      expect(await a.exited).toBe(0);
      const b = await h.startAgent('host-a');
      await h.waitReady(b);
      expect((await node('broken'))?.status).toBe('running');
      expect(runTool([cli, 'exec', name, 'touch', '/tmp/go-broken']).ok).toBe(true);
      const broken = await h.until('the exit of nest/broken recorded', async () => {
        const n = await node('broken');
        return n && n.status !== 'running' ? n : undefined;
      });
      expect(broken.status).toBe('failed');
      expect(broken.attributes).toMatchObject({ exit_code: 3, status: 'exited' });
      expect(broken.error).toMatch(/exited with code 3/);
      expect((await h.log()).join('\n')).toContain('record exit of nest/broken');
      // Nobody pushed the templates: the exits themselves were the events.
      expect(templatePushes()).toBe(pushedBefore);
    }, 300_000);
  });
}
