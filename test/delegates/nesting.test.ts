/**
 * Nesting for real: a Process, ConfigFile, Directory and Port hosted on a podman or docker
 * container run and are written inside it (never on the outer host), with the same false-success
 * rules as on a machine: a process that died inside is not running, a failing exec is a failure,
 * and a node whose container is gone is "already gone". Busybox from the loopback registry
 * (.ci/runtimes.sh). In CI (CI=true) a runtime that cannot run fails; elsewhere the tests are skipped.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigFileDelegate, ContainerDelegate, DirectoryDelegate, PortDelegate, ProcessDelegate, SystemCommandRunner } from '../../src/delegates/index.js';
import type { DelegateResult, DesiredNode, HostedOn } from '../../src/delegates/types.js';
import type { PlainValue } from '../../src/state/model.js';
import { context, desired, stateOf } from '../support/delegate-context.js';
import { engineUnavailable, freePort, runTool, TEST_IMAGE } from '../support/container-engine.js';

const IMAGE = TEST_IMAGE;
const inCI = process.env.CI === 'true';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-nest-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const cli of ['podman', 'docker'] as const) {
  const why = engineUnavailable(cli);
  describe.skipIf(why !== undefined && !inCI)(`nesting in a ${cli} container, for real${why ? ` (skipped: ${why})` : ''}`, () => {
    const tag = `${cli}-${process.pid}`;
    const made: string[] = [];
    const runner = new SystemCommandRunner();
    beforeAll(() => {
      if (why) throw new Error(`CI=true and ${cli} cannot run: ${why}`);
    });
    afterAll(() => {
      for (const name of made) runTool([cli, 'rm', '-f', name]);
    });

    /** A busybox container that publishes `publish`, as the compiler makes it for the Ports it hosts. */
    async function box(key: string, publish: string[] = []): Promise<{ name: string; hostedOn: HostedOn; node: DesiredNode; result: DelegateResult }> {
      const name = `kaidu-test-${key}-${tag}`;
      made.push(name);
      const props: Record<string, PlainValue> = { image: IMAGE, runtime: cli, init: true, pull_policy: 'never', command: ['sleep', '600'], container_name: name, ...(publish.length ? { publish } : {}) };
      const node = desired('kaidu:Container', props, { name: key });
      const result = await new ContainerDelegate().create(context(dir, node, { runner }));
      return { name, node, result, hostedOn: { node: node.id, type: 'kaidu:Container', types: ['kaidu:Container', 'tosca:Root'], properties: props, attributes: result.attributes } };
    }
    const inside = (name: string, ...argv: string[]) => runTool([cli, 'exec', name, ...argv]);
    const nested = (type: string, props: Record<string, PlainValue>, hostedOn: HostedOn, extra: Partial<DesiredNode> = {}) => desired(type, props, { hostedOn, ...extra });

    it('a Process hosted on a container runs inside it, serves through the published Port, is re-adopted, is not running once it died, updates and deletes inside', async () => {
      const port = await freePort();
      const c = await box('proc', [`127.0.0.1:${port}:${port}/tcp`]);
      // The Port: the container publishes it (proven by asking the runtime), on the same port outside.
      const portNode = nested('kaidu:Port', { port, protocol: 'tcp' }, c.hostedOn, { name: 'port' });
      const reserved = await new PortDelegate().create(context(dir, portNode, { runner }));
      expect(reserved.attributes).toMatchObject({ port, address: '127.0.0.1', container_port: port, inside: { kind: 'container', runtime: cli } });

      const d = new ProcessDelegate({ dataDir: dir, runner });
      const web = nested('kaidu:Process', { command: ['sh', '-c', `sleep 1; exec httpd -f -h /etc -p ${port}`], env: { GREETING: 'one' } }, c.hostedOn, {
        name: 'web',
        ports: [{ node: 'svc/port', port, address: '127.0.0.1', protocol: 'tcp' }],
      });
      // Ready only once it accepts connections from outside, through the published port.
      const created = await d.create(context(dir, web, { runner }));
      expect((await fetch(`http://127.0.0.1:${port}/passwd`)).status).toBe(200);
      const pid = created.attributes.pid as number;
      // Inside: the pid is the container's, the launcher's files are there, and nothing runs outside.
      expect(inside(c.name, 'cat', '/run/kaidu/svc/web/pid').out.trim()).toBe(String(pid));
      expect(inside(c.name, 'sh', '-c', `tr '\\0' ' ' </proc/${pid}/environ`).out).toContain('GREETING=one');
      expect(existsSync(join(dir, 'run', 'svc'))).toBe(false);

      // Re-adopted by a new agent from what the state recorded.
      const prev = stateOf('kaidu:Process', web.properties, created.attributes);
      expect(await new ProcessDelegate({ dataDir: dir, runner: new SystemCommandRunner() }).inspect(context(dir, web, { runner: new SystemCommandRunner(), previous: prev }))).toMatchObject({ exists: true, status: 'running', attributes: { pid } });

      // Update: stopped inside and started again with the new environment.
      const web2 = { ...web, properties: { ...web.properties, env: { GREETING: 'two' } } };
      const updated = await d.update(context(dir, web2, { runner, previous: prev }));
      const pid2 = updated.attributes.pid as number;
      expect(inside(c.name, 'sh', '-c', `tr '\\0' ' ' </proc/${pid2}/environ`).out).toContain('GREETING=two');
      expect(inside(c.name, 'test', '-e', `/proc/${pid}`).ok).toBe(pid === pid2);
      const prev2 = stateOf('kaidu:Process', web2.properties, updated.attributes);

      // Killed inside: not running, whatever the state file says.
      expect(inside(c.name, 'kill', '-9', String(pid2)).ok).toBe(true);
      let seen = await d.inspect(context(dir, web2, { runner, previous: prev2 }));
      for (let i = 0; i < 100 && seen.exists; i++) seen = await d.inspect(context(dir, web2, { runner, previous: prev2 }));
      expect(seen).toMatchObject({ exists: false, status: 'stopped', attributes: { status: 'exited', exit_code: 137 } });

      // Started again, then deleted: gone from inside.
      const again = await d.update(context(dir, web2, { runner, previous: { ...prev2, status: 'stopped' } }));
      const pid3 = again.attributes.pid as number;
      await d.delete(context(dir, web2, { runner, previous: stateOf('kaidu:Process', web2.properties, again.attributes) }));
      expect(inside(c.name, 'test', '-e', `/proc/${pid3}/stat`).ok).toBe(false);
      await new ContainerDelegate().delete(context(dir, c.node, { runner, previous: stateOf('kaidu:Container', c.node.properties, c.result.attributes) }));
    }, 180_000);

    it('a ConfigFile and a Directory hosted on a container are written inside it; failures inside are failures; a gone container means already gone', async () => {
      const c = await box('files');
      const dirNode = nested('kaidu:Directory', { path: '/srv/kaidu-test/data', mode: '0750', purge: true }, c.hostedOn, { name: 'data' });
      const dd = new DirectoryDelegate();
      const made = await dd.create(context(dir, dirNode, { runner }));
      expect(inside(c.name, 'stat', '-c', '%a', '/srv/kaidu-test/data').out.trim()).toBe('750');
      expect(existsSync('/srv/kaidu-test/data')).toBe(false);

      const files = { 'services/app.conf.tmpl': 'listen {{ port }}\n' };
      const conf = nested('kaidu:ConfigFile', { path: '/srv/kaidu-test/data/app.conf', template: 'services/app.conf.tmpl', variables: { port: 8080 }, mode: '0640' }, c.hostedOn, { name: 'conf' });
      const cf = new ConfigFileDelegate();
      const written = await cf.create(context(dir, conf, { runner, files }));
      expect(inside(c.name, 'cat', '/srv/kaidu-test/data/app.conf').out).toBe('listen 8080\n');
      expect(inside(c.name, 'stat', '-c', '%a', '/srv/kaidu-test/data/app.conf').out.trim()).toBe('640');
      const confPrev = stateOf('kaidu:ConfigFile', conf.properties, written.attributes);
      expect((await cf.inspect(context(dir, conf, { runner, previous: confPrev }))).exists).toBe(true);

      // A write that fails inside (/proc is not writable) is an error naming the container, not a success.
      const bad = nested('kaidu:ConfigFile', { path: '/proc/kaidu-test.conf', template: 'services/app.conf.tmpl', variables: { port: 1 } }, c.hostedOn, { name: 'bad' });
      await expect(cf.create(context(dir, bad, { runner, files }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED', message: expect.stringContaining(`${cli} container ${c.name}`) });
      // A process that cannot start inside fails its create, with what it said.
      await expect(new ProcessDelegate({ dataDir: dir, runner }).create(context(dir, nested('kaidu:Process', { command: ['kaidu-no-such-command'] }, c.hostedOn, { name: 'nope' }), { runner }))).rejects.toMatchObject({ code: 'E_PROCESS_EXITED', message: expect.stringContaining('exited at once (exit code 127)') });

      await cf.delete(context(dir, conf, { runner, previous: confPrev }));
      expect(inside(c.name, 'test', '-e', '/srv/kaidu-test/data/app.conf').ok).toBe(false);
      expect((await cf.inspect(context(dir, conf, { runner, previous: confPrev }))).exists).toBe(false);
      const dirPrev = stateOf('kaidu:Directory', dirNode.properties, made.attributes);
      await dd.delete(context(dir, dirNode, { runner, previous: dirPrev }));
      expect(inside(c.name, 'test', '-e', '/srv/kaidu-test/data').ok).toBe(false);

      // Stopped container: its files still exist, so removing one cannot succeed.
      const again = await cf.create(context(dir, conf, { runner, files }));
      const againPrev = stateOf('kaidu:ConfigFile', conf.properties, again.attributes);
      expect(runTool([cli, 'stop', '-t', '0', c.name]).ok).toBe(true);
      await expect(cf.delete(context(dir, conf, { runner, previous: againPrev }))).rejects.toMatchObject({ message: expect.stringContaining('is not running') });
      // Gone: everything inside went with it; deletes succeed, inspects say gone, creates fail.
      expect(runTool([cli, 'rm', '-f', c.name]).ok).toBe(true);
      await cf.delete(context(dir, conf, { runner, previous: againPrev }));
      expect((await cf.inspect(context(dir, conf, { runner, previous: againPrev }))).exists).toBe(false);
      await dd.delete(context(dir, dirNode, { runner, previous: dirPrev }));
      const procPrev = stateOf('kaidu:Process', { command: ['sleep', '1'] }, { pid: 5, inside: again.attributes.inside! });
      const p = new ProcessDelegate({ dataDir: dir, runner });
      expect(await p.inspect(context(dir, nested('kaidu:Process', { command: ['sleep', '1'] }, c.hostedOn), { runner, previous: procPrev }))).toMatchObject({ exists: false, status: 'stopped' });
      await p.delete(context(dir, nested('kaidu:Process', { command: ['sleep', '1'] }, c.hostedOn), { runner, previous: procPrev }));
      await expect(cf.create(context(dir, conf, { runner, files }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('does not exist') });
    }, 180_000);

    it('a Port hosted on a container that does not publish it is an error, not a reservation', async () => {
      const c = await box('noport');
      const port = await freePort();
      await expect(new PortDelegate().create(context(dir, nested('kaidu:Port', { port }, c.hostedOn, { name: 'p' }), { runner }))).rejects.toMatchObject({ code: 'E_PORT_IN_USE', message: expect.stringContaining(`does not publish port ${port}/tcp`) });
      await expect(new PortDelegate().create(context(dir, nested('kaidu:Port', {}, c.hostedOn, { name: 'p' }), { runner }))).rejects.toMatchObject({ message: expect.stringContaining('needs a fixed `port`') });
    }, 60_000);
  });
}
