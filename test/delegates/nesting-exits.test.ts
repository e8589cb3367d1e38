/**
 * Exits inside a workload are events: a kaidu:Process nested in a podman or docker container, or
 * in a pod's workload container, that ends after it started is reported through `onExit` the
 * moment it ends (its exit code, or the signal that killed it), the way a bare process is; one
 * Kaidu stops itself is not news; a copy re-adopted by a new delegate (an agent restart) is
 * watched again. The processes wait for a file the test creates, so nothing depends on timing.
 * In CI (CI=true) a runtime that cannot run fails; elsewhere the tests are skipped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ContainerDelegate, PodDelegate, ProcessDelegate, SystemCommandRunner } from '../../src/delegates/index.js';
import { exitOf } from '../../src/delegates/nested-exit-watch.js';
import type { ExitEvent, HostedOn } from '../../src/delegates/types.js';
import type { PlainValue } from '../../src/state/model.js';
import { context, desired, stateOf } from '../support/delegate-context.js';
import { engineUnavailable, runTool, TEST_IMAGE } from '../support/container-engine.js';

const inCI = process.env.CI === 'true';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-nest-exit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Exit events as they come, and a wait for the next one (event-driven, with a generous outer limit). */
class Sink {
  readonly seen: ExitEvent[] = [];
  private waiters: (() => void)[] = [];
  readonly onExit = (e: ExitEvent): void => {
    this.seen.push(e);
    for (const w of this.waiters.splice(0)) w();
  };
  async next(count: number, timeoutMs = 60_000): Promise<ExitEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.seen.length < count) {
      if (Date.now() > deadline) throw new Error(`no exit event within ${timeoutMs / 1000} s (seen ${JSON.stringify(this.seen)})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 1000);
      });
    }
    return this.seen;
  }
}

/** Waits in the workload until /tmp/<flag> exists, then exits with `code`. */
const waitsFor = (flag: string, code: number) => ['sh', '-c', `while [ ! -e /tmp/${flag} ]; do sleep 0.1; done; exit ${code}`];

describe('exit codes read back from a shell', () => {
  it('128 + N is signal N, as a bare process reports it; other codes are codes', () => {
    expect(exitOf(3)).toEqual({ exitCode: 3, signal: null });
    expect(exitOf(0)).toEqual({ exitCode: 0, signal: null });
    expect(exitOf(137)).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(exitOf(143)).toEqual({ exitCode: null, signal: 'SIGTERM' });
    expect(exitOf(255)).toEqual({ exitCode: 255, signal: null });
  });
});

for (const cli of ['podman', 'docker'] as const) {
  const why = engineUnavailable(cli);
  describe.skipIf(why !== undefined && !inCI)(`exits inside a ${cli} workload are events${why ? ` (skipped: ${why})` : ''}`, () => {
    const tag = `${cli}-${process.pid}`;
    const made: string[] = [];
    const pods: string[] = [];
    const runner = new SystemCommandRunner();
    beforeAll(() => {
      if (why) throw new Error(`CI=true and ${cli} cannot run: ${why}`);
    });
    afterAll(() => {
      // docker rm has no -t (podman's grace period): -f kills at once on both.
      for (const name of made) runTool([cli, 'rm', '-f', name]);
      for (const name of pods) runTool(['podman', 'pod', 'rm', '-f', '-t', '0', name]);
    });

    async function container(key: string): Promise<{ name: string; hostedOn: HostedOn }> {
      const name = `kaidu-test-exit-${key}-${tag}`;
      made.push(name);
      const props: Record<string, PlainValue> = { image: TEST_IMAGE, runtime: cli, init: true, pull_policy: 'never', command: ['sleep', '600'], container_name: name };
      const node = desired('kaidu:Container', props, { name: key });
      const result = await new ContainerDelegate().create(context(dir, node, { runner }));
      return { name, hostedOn: { node: node.id, type: 'kaidu:Container', types: ['kaidu:Container', 'tosca:Root'], properties: props, attributes: result.attributes } };
    }

    async function pod(key: string): Promise<{ name: string; hostedOn: HostedOn }> {
      const name = `kaidu-test-exit-${key}-${tag}`;
      pods.push(name);
      const props: Record<string, PlainValue> = { image: TEST_IMAGE, pull_policy: 'never', pod_name: name };
      const node = desired('kaidu:Pod', props, { name: key });
      const result = await new PodDelegate().create(context(dir, node, { runner }));
      expect(result.status).toBe('running');
      return { name: `${name}-host`, hostedOn: { node: node.id, type: 'kaidu:Pod', types: ['kaidu:Pod', 'tosca:Root'], properties: props, attributes: result.attributes } };
    }

    const hosts = cli === 'podman' ? { container, pod } : { container };
    for (const [kind, make] of Object.entries(hosts)) {
      it(`a process in a ${kind} that exits is reported at once with its code or signal; one Kaidu stops is not; a re-adopted one is watched again`, async () => {
        const w = await make(kind);
        const touch = (flag: string) => expect(runTool([cli, 'exec', w.name, 'touch', `/tmp/${flag}`]).ok).toBe(true);
        const sink = new Sink();
        const d = new ProcessDelegate({ dataDir: dir, runner });
        const proc = (key: string, command: string[]) => desired('kaidu:Process', { command }, { name: key, hostedOn: w.hostedOn });

        // Exits with a code after it started (and was reported running).
        const a = proc('a', waitsFor('go-a', 3));
        const ra = await d.create(context(dir, a, { runner, onExit: sink.onExit }));
        expect(ra.attributes).toMatchObject({ status: 'running' });
        touch('go-a');
        expect(await sink.next(1)).toEqual([{ nodeId: 'svc/a', exitCode: 3, signal: null, at: expect.any(String) }]);

        // Stopped by Kaidu: not news. Then b is killed: only b is reported.
        const b = proc('b', ['sleep', '600']);
        const c = proc('c', ['sleep', '600']);
        const rb = await d.create(context(dir, b, { runner, onExit: sink.onExit }));
        const rc = await d.create(context(dir, c, { runner, onExit: sink.onExit }));
        await d.delete(context(dir, c, { runner, previous: stateOf('kaidu:Process', c.properties, rc.attributes) }));
        expect(runTool([cli, 'exec', w.name, 'kill', '-KILL', String(rb.attributes.pid)]).ok).toBe(true);
        expect((await sink.next(2)).slice(1)).toEqual([{ nodeId: 'svc/b', exitCode: null, signal: 'SIGKILL', at: expect.any(String) }]);

        // A new delegate (the agent restarted) re-adopts a running copy through inspect, and watches it.
        const e = proc('e', waitsFor('go-e', 0));
        const re = await d.create(context(dir, e, { runner }));
        const after = new Sink();
        const again = new ProcessDelegate({ dataDir: dir, runner });
        expect(await again.inspect(context(dir, e, { runner, previous: stateOf('kaidu:Process', e.properties, re.attributes), onExit: after.onExit }))).toMatchObject({ exists: true, status: 'running' });
        touch('go-e');
        expect(await after.next(1)).toEqual([{ nodeId: 'svc/e', exitCode: 0, signal: null, at: expect.any(String) }]);
        expect(sink.seen.map((x) => x.nodeId)).toEqual(['svc/a', 'svc/b']);
      }, 180_000);
    }
  });
}
