import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigFileDelegate, DelegateRegistry, DirectoryDelegate, loadPlugins, PortDelegate, portIsFree, SystemCommandRunner } from '../../src/delegates/index.js';
import { context, desired, stateOf } from '../support/delegate-context.js';

let dir: string;
/** The agent's data dir: beside the folders the nodes make, never holding them. */
let agent: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-res2-'));
  agent = join(dir, 'agent-data');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('port delegate (more)', () => {
  it('allocates UDP ports by binding them, skipping one another program holds', async () => {
    const blocker = createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(24100, '0.0.0.0', r));
    try {
      expect(await portIsFree(24100, 'udp')).toBe(false);
      const r = await new PortDelegate().create(context(agent, desired('kaidu:Port', { range: [24100, 24110], protocol: 'udp' }), { reserved: [24101] }));
      expect(r.attributes).toMatchObject({ port: 24102, protocol: 'udp' });
    } finally {
      blocker.close();
    }
  });

  it('a fixed port another node of this host holds is refused; the host address is reported when apply gives one', async () => {
    await expect(new PortDelegate().create(context(agent, desired('kaidu:Port', { port: 24200 }), { reserved: [24200] }))).rejects.toMatchObject({ code: 'E_PORT_IN_USE', message: expect.stringContaining('reserved by another node') });
    const r = await new PortDelegate().create(context(agent, desired('kaidu:Port', { port: 24201, address: '192.0.2.7' })));
    expect(r.attributes).toMatchObject({ port: 24201, address: '192.0.2.7' });
  });

  it('an exhausted range is E_PORT_IN_USE naming the range', async () => {
    await expect(new PortDelegate().create(context(agent, desired('kaidu:Port', { range: [24300, 24301] }), { reserved: [24300, 24301] }))).rejects.toMatchObject({ code: 'E_PORT_IN_USE', message: expect.stringContaining('no free tcp port in 24300-24301') });
  });
});

describe('directory delegate (more)', () => {
  it('refuses to purge the data directory or a folder that holds it', async () => {
    const d = new DirectoryDelegate();
    const dataDir = join(dir, 'agent', 'data');
    await mkdir(dataDir, { recursive: true });
    // The data dir itself is no place for a Directory at all; a folder holding it is never purged.
    for (const [path, code, text] of [[dataDir, 'E_PATH_CONFINED', 'inside the agent\'s own data directory'], [join(dir, 'agent'), 'E_DELEGATE', 'refusing to purge']] as const) {
      const props = { path, purge: true };
      await expect(d.delete(context(dataDir, desired('kaidu:Directory', props), { previous: stateOf('kaidu:Directory', props, { path }) }))).rejects.toMatchObject({ code, message: expect.stringContaining(text) });
    }
    expect((await stat(dataDir)).isDirectory()).toBe(true);
  });

  const nobodyIds = /^nobody:[^:]*:(\d+):(\d+):/m.exec((() => { try { return readFileSync('/etc/passwd', 'utf8'); } catch { return ''; } })());
  const canChown = process.getuid?.() === 0 && Boolean(nobodyIds);
  it.skipIf(!canChown && process.env.CI !== 'true')(`gives the directory to its owner and group${canChown ? '' : ' (skipped: needs root and a "nobody" user)'}`, async () => {
    expect(canChown, 'CI=true: this test needs root and a "nobody" user').toBe(true);
    const path = join(dir, 'owned');
    const group = /^([^:]+):[^:]*:(\d+):/m.exec(readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[2] === nobodyIds![2]) ?? '')?.[1] ?? 'nogroup';
    await new DirectoryDelegate().create(context(agent, desired('kaidu:Directory', { path, mode: '0700', owner: 'nobody', group }), { runner: new SystemCommandRunner() }));
    const st = await stat(path);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([Number(nobodyIds![1]), Number(nobodyIds![2]), 0o700]);
  });

  it('reports a removed directory as gone on inspect', async () => {
    const path = join(dir, 'x', 'y');
    const d = new DirectoryDelegate();
    const r = await d.create(context(agent, desired('kaidu:Directory', { path })));
    expect(r.attributes).toEqual({ path });
    expect((await d.inspect(context(agent, desired('kaidu:Directory', { path }), { previous: stateOf('kaidu:Directory', { path }, r.attributes) }))).exists).toBe(true);
    await rm(path, { recursive: true });
    expect((await d.inspect(context(agent, desired('kaidu:Directory', { path }), { previous: stateOf('kaidu:Directory', { path }, r.attributes) }))).exists).toBe(false);
  });
});

describe('config file delegate (more)', () => {
  const files = { 't.conf': 'port={{ port }}\n' };

  it('writes with the mode, leaves unchanged content alone but applies a new mode, and moves with its path', async () => {
    const d = new ConfigFileDelegate();
    const path = join(dir, 'etc', 'app.conf');
    const props = { path, template: 't.conf', variables: { port: 80 }, mode: '0600' };
    const one = await d.create(context(agent, desired('kaidu:ConfigFile', props), { files }));
    expect(await readFile(path, 'utf8')).toBe('port=80\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const mtime = (await stat(path)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const two = await d.update(context(agent, desired('kaidu:ConfigFile', { ...props, mode: '0640' }), { files, previous: stateOf('kaidu:ConfigFile', props, one.attributes) }));
    expect(two.attributes.checksum).toBe(one.attributes.checksum);
    expect((await stat(path)).mtimeMs).toBe(mtime);
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    const moved = join(dir, 'etc', 'moved.conf');
    await d.update(context(agent, desired('kaidu:ConfigFile', { ...props, path: moved }), { files, previous: stateOf('kaidu:ConfigFile', props, two.attributes) }));
    await expect(stat(path)).rejects.toThrow();
    expect(await readFile(moved, 'utf8')).toBe('port=80\n');
  });

  it('a template missing from the repository is a clear error', async () => {
    await expect(new ConfigFileDelegate().create(context(agent, desired('kaidu:ConfigFile', { path: join(dir, 'x'), template: 'nope.tmpl', variables: {} }), { files }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('template nope.tmpl is not in the repository') });
  });
});

describe('plugins (more)', () => {
  it('a factory default export is called with the plugin options; a package name resolves from the repository', async () => {
    const pkg = join(dir, 'node_modules', 'acme-kaidu-delegate');
    await mkdir(pkg, { recursive: true });
    await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'acme-kaidu-delegate', version: '1.0.0', type: 'module', exports: './index.js' }));
    await writeFile(
      join(pkg, 'index.js'),
      'export default async function make(opts) { return { name: "acme", handles: opts.types, async create() { return { attributes: { types: opts.types.join(",") } }; }, async update() { return { attributes: {} }; }, async delete() {}, async inspect() { return { exists: true, status: "running", attributes: {} }; } }; }\n',
    );
    await writeFile(
      join(dir, 'class-delegate.mjs'),
      'export default class Mine { constructor(opts) { this.name = "class:" + opts.types[0]; this.handles = opts.types; } async create() { return { attributes: {} }; } async update() { return { attributes: {} }; } async delete() {} async inspect() { return { exists: true, status: "running", attributes: {} }; } }\n',
    );
    const registry = new DelegateRegistry();
    const loaded = await loadPlugins(
      registry,
      [
        { module: 'acme-kaidu-delegate', types: ['acme:Queue'] },
        { module: './class-delegate.mjs', types: ['acme:Cache'] },
      ],
      { baseDir: dir },
    );
    expect(loaded.map((d) => d.name)).toEqual(['acme', 'class:acme:Cache']);
    const d = registry.select({ types: ['acme:Queue', 'tosca:Root'] })!;
    expect((await d.create(context(agent, desired('acme:Queue', {})))).attributes).toEqual({ types: 'acme:Queue' });
    expect(registry.byName('class:acme:Cache')).toBeDefined();
  });

  it('an HTTP delegate sends the token named by token_env as a bearer token', async () => {
    const auth: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      auth.push(req.headers.authorization);
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"exists": false, "status": "stopped", "attributes": {}}'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    process.env.KAIDU_TEST_PLUGIN_TOKEN = 's3cret';
    try {
      const registry = new DelegateRegistry();
      await loadPlugins(registry, [{ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, types: ['acme:Lb'], token_env: 'KAIDU_TEST_PLUGIN_TOKEN' }], { baseDir: dir });
      const seen = await registry.select({ types: ['acme:Lb'] })!.inspect(context(agent, desired('acme:Lb', {})));
      expect(seen).toEqual({ exists: false, status: 'stopped', attributes: {} });
      expect(auth).toEqual(['Bearer s3cret']);
    } finally {
      delete process.env.KAIDU_TEST_PLUGIN_TOKEN;
      server.close();
    }
  });

  it('a module without a delegate export is refused', async () => {
    await writeFile(join(dir, 'bad.mjs'), 'export default { name: "half" };\n');
    await expect(loadPlugins(new DelegateRegistry(), [{ module: './bad.mjs', types: ['x'] }], { baseDir: dir })).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('must export') });
  });
});
