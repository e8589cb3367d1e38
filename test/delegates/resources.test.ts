import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigFileDelegate, DelegateRegistry, DirectoryDelegate, HttpDelegate, loadPlugins, PortDelegate, RecordingRunner, ScriptDelegate, builtinRegistry, portIsFree } from '../../src/delegates/index.js';
import { context, desired, stateOf } from '../support/delegate-context.js';

let dir: string;
/** The agent's data dir: beside the folders the nodes make, never holding them. */
let agent: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-res-'));
  agent = join(dir, 'agent-data');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('port delegate', () => {
  it('allocates the first free port of the range that no other node holds, and keeps it', async () => {
    const d = new PortDelegate();
    const blocker = createServer().listen(23001, '0.0.0.0');
    await new Promise((r) => blocker.once('listening', r));
    try {
      const node = desired('kaidu:Port', { range: [23000, 23010], protocol: 'tcp' });
      const a = await d.create(context(agent, node, { reserved: [23000] }));
      expect(a.attributes).toMatchObject({ port: 23002, address: '127.0.0.1' });
      const again = await d.update(context(agent, node, { previous: stateOf('kaidu:Port', node.properties, a.attributes) }));
      expect(again.attributes.port).toBe(23002);
    } finally {
      blocker.close();
    }
  });

  it('a fixed port bound by another program is a clear error', async () => {
    const blocker = createServer().listen(23050, '0.0.0.0');
    await new Promise((r) => blocker.once('listening', r));
    try {
      const err = await new PortDelegate().create(context(agent, desired('kaidu:Port', { port: 23050, protocol: 'tcp' }))).catch((e: Error) => e);
      expect(err).toMatchObject({ code: 'E_PORT_IN_USE' });
      expect((err as Error).message).toContain('port 23050/tcp is already in use by another program');
    } finally {
      blocker.close();
    }
    expect(await portIsFree(23050)).toBe(true);
  });

  it('opens and closes the port in firewalld when exposed (commands pinned)', async () => {
    const runner = new RecordingRunner();
    const node = desired('kaidu:Port', { port: 23060, protocol: 'tcp', expose: true, zone: 'public' });
    const r = await new PortDelegate().create(context(agent, node, { runner }));
    await new PortDelegate().delete(context(agent, node, { runner, previous: stateOf('kaidu:Port', node.properties, r.attributes) }));
    expect(runner.lines).toEqual([
      'firewall-cmd --zone=public --add-port=23060/tcp',
      'firewall-cmd --zone=public --permanent --add-port=23060/tcp',
      'firewall-cmd --zone=public --remove-port=23060/tcp',
      'firewall-cmd --zone=public --permanent --remove-port=23060/tcp',
    ]);
  });
});

describe('directory delegate', () => {
  it('creates with a mode, keeps data on delete, removes it with purge', async () => {
    const d = new DirectoryDelegate();
    const path = join(dir, 'a', 'data');
    const node = desired('kaidu:Directory', { path, mode: '0750', purge: false });
    await d.create(context(agent, node));
    expect((await stat(path)).mode & 0o777).toBe(0o750);
    await writeFile(join(path, 'keep'), 'x');
    await d.delete(context(agent, node, { previous: stateOf('kaidu:Directory', node.properties, { path }) }));
    expect(await readFile(join(path, 'keep'), 'utf8')).toBe('x');
    const purge = { ...node.properties, purge: true };
    await d.delete(context(agent, desired('kaidu:Directory', purge), { previous: stateOf('kaidu:Directory', purge, { path }) }));
    await expect(stat(path)).rejects.toThrow();
    const root = desired('kaidu:Directory', { path: '/', purge: true });
    await expect(d.delete(context(agent, root, { previous: stateOf('kaidu:Directory', root.properties, {}) }))).rejects.toMatchObject({ code: 'E_DELEGATE' });
  });
});

describe('config file delegate', () => {
  it('renders from the repository, re-renders when a variable changes, and names a missing variable', async () => {
    const d = new ConfigFileDelegate();
    const files = { 'files/app.conf.tmpl': 'db = {{ db.host }}:{{ port }}\nliteral = {{{{ not a var }}\n' };
    const path = join(dir, 'app.conf');
    const one = await d.create(context(agent, desired('kaidu:ConfigFile', { path, template: 'files/app.conf.tmpl', variables: { db: { host: '10.0.0.2' }, port: 5432 } }), { files }));
    expect(await readFile(path, 'utf8')).toBe('db = 10.0.0.2:5432\nliteral = {{ not a var }}\n');
    const two = await d.update(context(agent, desired('kaidu:ConfigFile', { path, template: 'files/app.conf.tmpl', variables: { db: { host: '10.0.0.3' }, port: 5432 } }), { files }));
    expect(two.attributes.checksum).not.toBe(one.attributes.checksum);
    expect(await readFile(path, 'utf8')).toContain('10.0.0.3');
    const err = await d.create(context(agent, desired('kaidu:ConfigFile', { path, template: 'files/app.conf.tmpl', variables: { port: 1 } }), { files })).catch((e: Error) => e);
    expect((err as Error).message).toContain('files/app.conf.tmpl:1: no variable "db.host"');
  });
});

describe('operation scripts', () => {
  const iface = (ops: Record<string, string>) => ({
    Standard: { type: 'tosca:Standard', types: ['tosca:Standard'], inputs: {}, operations: Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, { implementation: v, dependencies: [], inputs: { greeting: 'hi', count: 3 }, outputs: {} }])) },
  });

  it('runs create/configure/start with inputs as environment variables and reads outputs back', async () => {
    const files = {
      'scripts/create.sh': '#!/bin/sh\necho "made=$GREETING-$COUNT-$KAIDU_NODE" >> "$KAIDU_OUTPUTS"\n',
      'scripts/start.sh': 'echo "address=10.1.2.3" >> "$KAIDU_OUTPUTS"\n',
    };
    const registry = builtinRegistry({ dataDir: dir, runner: new RecordingRunner() });
    const node = desired('tosca:SoftwareComponent', {}, { interfaces: iface({ create: 'scripts/create.sh', start: 'scripts/start.sh' }) });
    const d = registry.select(node)!;
    expect(d).toBeInstanceOf(ScriptDelegate);
    const { SystemCommandRunner } = await import('../../src/delegates/index.js');
    const r = await d.create(context(agent, node, { files, runner: new SystemCommandRunner() }));
    expect(r.attributes).toEqual({ made: 'hi-3-svc/n1', address: '10.1.2.3' });
  });

  it('a failing script fails the step with its stderr', async () => {
    const files = { 'scripts/create.sh': '#!/bin/sh\necho "cannot reach the license server" >&2\nexit 4\n' };
    const node = desired('tosca:SoftwareComponent', {}, { interfaces: iface({ create: 'scripts/create.sh' }) });
    const { SystemCommandRunner } = await import('../../src/delegates/index.js');
    const d = builtinRegistry({ dataDir: dir, runner: new SystemCommandRunner() }).select(node)!;
    const err = await d.create(context(agent, node, { files, runner: new SystemCommandRunner() })).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'E_COMMAND_FAILED' });
    expect((err as Error).message).toContain('exited with 4');
    expect((err as Error).message).toContain('cannot reach the license server');
  });
});

describe('plugins', () => {
  it('an HTTP delegate gets JSON over POST, and a non-2xx is a clear error', async () => {
    const seen: { url: string; body: { node: { id: string } } }[] = [];
    const server = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ url: req.url!, body: JSON.parse(body) });
        if (req.url === '/delete') return res.writeHead(500).end('backend exploded');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ attributes: { lb_id: 'lb-7' }, status: 'running' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const registry = new DelegateRegistry();
      await loadPlugins(registry, [{ url, types: ['acme:LoadBalancer'] }], { baseDir: dir });
      const node = desired('acme:LoadBalancer', { size: 2 });
      const d = registry.select(node)!;
      expect(d).toBeInstanceOf(HttpDelegate);
      expect((await d.create(context(agent, node))).attributes).toEqual({ lb_id: 'lb-7' });
      expect(seen[0]).toMatchObject({ url: '/create', body: { node: { id: 'svc/n1' } } });
      await expect(d.delete(context(agent, node))).rejects.toThrow(/answered 500 to delete of svc\/n1: backend exploded/);
    } finally {
      server.close();
    }
  });

  it('an in-process module plugin is loaded relative to the repository', async () => {
    await writeFile(join(dir, 'my-delegate.mjs'), 'export default { name: "mine", handles: [], async create() { return { attributes: { made: true } }; }, async update() { return { attributes: {} }; }, async delete() {}, async inspect() { return { exists: true, status: "running", attributes: {} }; } };\n');
    const registry = new DelegateRegistry();
    await loadPlugins(registry, [{ module: './my-delegate.mjs', types: ['acme:Thing'] }], { baseDir: dir });
    const d = registry.select(desired('acme:Thing', {}))!;
    expect(d.name).toBe('mine');
    expect((await d.create(context(agent, desired('acme:Thing', {})))).attributes).toEqual({ made: true });
    await expect(loadPlugins(registry, [{ module: './missing.mjs', types: ['x'] }], { baseDir: dir })).rejects.toMatchObject({ code: 'E_DELEGATE' });
  });

  it('falls back to recording a node Kaidu does not act on', () => {
    expect(builtinRegistry({ dataDir: dir, runner: new RecordingRunner() }).select(desired('tosca:Compute', {}))!.name).toBe('record-only');
  });
});
