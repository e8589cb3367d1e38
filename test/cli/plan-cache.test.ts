import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';
import { BlobIdIndex, gitBlobId } from '../../src/cli/blob-ids.js';
import { readCacheFile, writeCacheFile } from '../../src/cli/cache-file.js';
import { DiskCompileStore, DiskStateStore } from '../../src/cli/compile-store.js';
import { loadState } from '../../src/state/load.js';
import { ownFingerprint } from '../../src/plan/plan.js';
import { fsReader, profilesReader } from '../../src/cli/fs-reader.js';
import { loadRepository } from '../../src/repository/index.js';

const exec = promisify(execFile);
let repo: string;
const git = (...args: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: repo });

const service = (name: string, cmd: string) => `tosca_definitions_version: tosca_2_0
imports:
  - types/app.yaml
service_template:
  node_templates:
    local: { type: kaidu:Host }
    ${name}:
      type: my:App
      properties:
        command: [sleep, "${cmd}"]
      requirements: [ { host: local } ]
`;
const types = (dflt: string) => `tosca_definitions_version: tosca_2_0
node_types:
  my:App:
    derived_from: kaidu:Process
    properties:
      stop_grace: { type: integer, default: ${dflt} }
`;

beforeEach(async () => {
  repo = tempDir('kaidu-plan-cache-');
  await mkdir(join(repo, 'services', 'types'), { recursive: true });
  await writeFile(join(repo, 'kaidu.yaml'), 'branch: main\n');
  await writeFile(join(repo, 'services', 'types', 'app.yaml'), types('5'));
  for (let i = 0; i < 3; i++) await writeFile(join(repo, 'services', `s${i}.yaml`), service(`app${i}`, String(i)));
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-qm', 'one');
});

afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

async function cacheEntries(): Promise<string[]> {
  const out: string[] = [];
  const root = join(repo, '.kaidu', 'cache', 'compile');
  for (const d of await readdir(root)) for (const f of await readdir(join(root, d))) out.push(join(root, d, f));
  return out.sort();
}

async function load(store?: DiskCompileStore) {
  const index = await BlobIdIndex.open(repo);
  return loadRepository(fsReader(repo, index ? { index } : {}), { profiles: profilesReader(), ...(store ? { store } : {}) });
}

describe('the compile cache on disk', () => {
  it('is used by the next run, and gives the same plan as --no-cache', async () => {
    const cold = await kaidu(['plan', '--json'], repo);
    expect(cold.code).toBe(0);
    expect(await cacheEntries()).toHaveLength(3);
    // Out of `git status`, even without a .gitignore naming .kaidu/.
    expect((await git('status', '--porcelain')).stdout).toBe('');
    const warm = await kaidu(['plan', '--json'], repo);
    const none = await kaidu(['plan', '--json', '--no-cache'], repo);
    expect(warm.stdout).toBe(cold.stdout);
    expect(none.stdout).toBe(cold.stdout);

    const store = new DiskCompileStore(join(repo, '.kaidu', 'cache'));
    const repoLoaded = await load(store);
    expect(store.hits).toBe(3);
    expect(store.misses).toBe(0);
    expect(repoLoaded.services.map((s) => s.name)).toEqual(['s0', 's1', 's2']);
  });

  it('keeps each template\'s own fingerprint with its compile result, and takes only well-formed ones back', async () => {
    await kaidu(['plan'], repo);
    const store = new DiskCompileStore(join(repo, '.kaidu', 'cache'));
    const loaded = await load(store);
    expect(store.hits).toBe(3);
    const entry = (await store.get(`services/s1.yaml\0{}\0${gitBlobId(await readFile(join(repo, 'services', 's1.yaml')))}`))!;
    const fresh = await load();
    const app1 = fresh.services.find((s) => s.name === 's1')!.nodes.app1!;
    expect(new Map(entry.fingerprints)).toEqual(new Map([['local', expect.stringMatching(/^sha256:[0-9a-f]{32}$/)], ['app1', ownFingerprint(app1)]]));
    expect(ownFingerprint(loaded.services.find((s) => s.name === 's1')!.nodes.app1!)).toBe(ownFingerprint(app1));
    // A loaded template takes the entry's fingerprint, not hashed again (shown by one that differs) …
    const key = `services/s1.yaml\0{}\0${gitBlobId(await readFile(join(repo, 'services', 's1.yaml')))}`;
    const marked = `sha256:${'a'.repeat(32)}`;
    store.set(key, { ...entry, fingerprints: [['app1', marked]] });
    await store.flush();
    const again = await load(new DiskCompileStore(join(repo, '.kaidu', 'cache')));
    expect(ownFingerprint(again.services.find((s) => s.name === 's1')!.nodes.app1!)).toBe(marked);
    // … but only a well-formed one.
    store.set(key, { ...entry, fingerprints: [['app1', 'sha256:not-one']] });
    await store.flush();
    const third = await load(new DiskCompileStore(join(repo, '.kaidu', 'cache')));
    expect(ownFingerprint(third.services.find((s) => s.name === 's1')!.nodes.app1!)).toBe(ownFingerprint(app1));
  });

  it('keeps a service\'s placed instances with its compile result, and takes back only a fragment of those templates', async () => {
    await kaidu(['plan'], repo);
    const store = new DiskCompileStore(join(repo, '.kaidu', 'cache'));
    const key = `services/s1.yaml\0{}\0${gitBlobId(await readFile(join(repo, 'services', 's1.yaml')))}`;
    const entry = (await store.get(key))!;
    expect(entry.fragment!.nodes.map((n) => n.id)).toEqual(['s1/local', 's1/app1']);
    expect(entry.fragment!.edges).toEqual([expect.objectContaining({ source: 's1/app1', target: 's1/local', kind: 'host' })]);
    // One that differs (a marker diagnostic) shows which was used.
    const marker = { severity: 'warning' as const, code: 'W_TEST_MARKER', message: 'from the cache', file: 'services/s1.yaml', line: 1, column: 1 };
    store.set(key, { ...entry, fragment: { ...entry.fragment!, diagnostics: [marker] } });
    await store.flush();
    const used = await load(new DiskCompileStore(join(repo, '.kaidu', 'cache')));
    expect(used.topology.diagnostics).toContainEqual(marker);
    expect(Object.keys(used.topology.nodes)).toContain('s1/app1');
    // Instances that do not hold this service's templates are not taken.
    store.set(key, { ...entry, fragment: { ...entry.fragment!, diagnostics: [marker], nodes: entry.fragment!.nodes.map((n) => ({ ...n, template: { ...n.template } })) } });
    await store.flush();
    const refused = await load(new DiskCompileStore(join(repo, '.kaidu', 'cache')));
    expect(refused.topology.diagnostics).not.toContainEqual(marker);
    expect(refused.topology.nodes['s1/app1']!.template).toBe(refused.services.find((s) => s.name === 's1')!.nodes.app1);
    // A service placed by policy depends on every service's hosts: nothing kept for it.
    await writeFile(join(repo, 'services', 'p.yaml'), `tosca_definitions_version: tosca_2_0\nservice_template:\n  node_templates:\n    w: { type: kaidu:Process, properties: { command: [x] } }\n  policies:\n    - pin: { type: kaidu:Placement, targets: [ w ], properties: { hosts: [ local ] } }\n`);
    await kaidu(['plan'], repo);
    const placed = (await new DiskCompileStore(join(repo, '.kaidu', 'cache')).get(`services/p.yaml\0{}\0${gitBlobId(await readFile(join(repo, 'services', 'p.yaml')))}`))!;
    expect(placed.result.service!.nodes.w).toBeDefined();
    expect(placed.fragment).toBeUndefined();
  });

  it('--no-cache neither reads nor writes it', async () => {
    await kaidu(['plan', '--no-cache'], repo);
    expect(existsSync(join(repo, '.kaidu', 'cache'))).toBe(false);
  });

  it('recompiles a service whose file or whose import changed', async () => {
    await kaidu(['plan'], repo);
    await writeFile(join(repo, 'services', 's1.yaml'), service('app1', 'changed'));
    const a = await kaidu(['plan', '--json'], repo);
    expect(JSON.parse(a.stdout).hosts[0].waves.flat().find((x: { node: string }) => x.node === 's1/app1').desired.properties.command).toEqual(['sleep', 'changed']);
    // The import is not the file the entry is found by: its id is checked all the same.
    await writeFile(join(repo, 'services', 'types', 'app.yaml'), types('7'));
    const store = new DiskCompileStore(join(repo, '.kaidu', 'cache'));
    const loaded = await load(store);
    expect(store.hits).toBe(3); // found …
    expect(loaded.services.every((s) => Object.values(s.nodes).every((n) => n.type !== 'my:App' || n.properties.stop_grace === 7))).toBe(true); // … but not used
    const b = await kaidu(['plan', '--json'], repo);
    expect(b.stdout).toBe((await kaidu(['plan', '--json', '--no-cache'], repo)).stdout);
  });

  it('ignores and rewrites a truncated entry, one of another version, and one with a bad checksum', async () => {
    const expected = (await kaidu(['plan', '--json'], repo)).stdout;
    const [a, b, c] = await cacheEntries();
    const bytes = await readFile(a!);
    await writeFile(a!, bytes.subarray(0, bytes.length - 10));
    await writeFile(b!, (await readFile(b!)).toString('latin1').replace(' v1 ', ' v0 '), 'latin1');
    const flipped = Buffer.from(await readFile(c!));
    flipped[flipped.length - 5] ^= 0xff;
    await writeFile(c!, flipped);
    for (const f of [a!, b!, c!]) expect(await readCacheFile(f, 'compile')).toBeUndefined();

    const store = new DiskCompileStore(join(repo, '.kaidu', 'cache'));
    await load(store);
    await store.flush();
    expect(store.hits).toBe(0);
    expect(store.misses).toBe(3);
    for (const f of [a!, b!, c!]) expect(await readCacheFile(f, 'compile')).toBeDefined();
    expect((await kaidu(['plan', '--json'], repo)).stdout).toBe(expected);
  });

  it('an entry whose content does not match its name is not used', async () => {
    await kaidu(['plan'], repo);
    const [a, b] = await cacheEntries();
    // A whole, valid file, but for another key: copied over the first one.
    await writeFile(a!, await readFile(b!));
    const store = new DiskCompileStore(join(repo, '.kaidu', 'cache'));
    const loaded = await load(store);
    expect(store.hits).toBe(2);
    expect(loaded.services.map((s) => Object.keys(s.nodes).sort())).toEqual([['app0', 'local'], ['app1', 'local'], ['app2', 'local']]);
  });

  it('two runs at once on a cold cache both succeed with the same plan', async () => {
    const expected = (await kaidu(['plan', '--json', '--no-cache'], repo)).stdout;
    const [x, y] = await Promise.all([kaidu(['plan', '--json'], repo), kaidu(['plan', '--json'], repo)]);
    expect(x.stdout).toBe(expected);
    expect(y.stdout).toBe(expected);
    for (const f of await cacheEntries()) expect(await readCacheFile(f, 'compile')).toBeDefined();
  });

  it('--base/--head reuse entries made from the working tree (keyed by blob id)', async () => {
    await kaidu(['plan'], repo);
    const store = new DiskCompileStore(join(repo, '.kaidu', 'cache'));
    const { atRevision } = await import('../../src/cli/plan-source.js');
    const view = await atRevision(repo, 'HEAD');
    await loadRepository(view.reader, { profiles: profilesReader(), store });
    expect(store.hits).toBe(3);
    expect(store.misses).toBe(0);
  });
});

describe('parsed state files on disk', () => {
  const stateFile = (pid: number) => `schema: kaidu/state/v1
host: local
service: s0
revision: r0
updatedAt: 2026-01-01T00:00:00.000Z
nodes:
  app0:
    type: my:App
    status: running
    fingerprint: sha256:00
    revision: r0
    appliedAt: 2026-01-01T00:00:00.000Z
    properties: {}
    attributes:
      pid: ${pid}
`;
  const old = new Date(Date.now() - 60_000);
  async function writeState(text: string) {
    await mkdir(join(repo, 'state', 'local'), { recursive: true });
    await writeFile(join(repo, 'state', 'local', 's0.yaml'), text);
    // Old enough not to be racily clean, so the blob-id index records it.
    await utimes(join(repo, 'state', 'local', 's0.yaml'), old, old);
  }
  async function loadWith(store: DiskStateStore) {
    const index = await BlobIdIndex.open(repo, join(repo, '.kaidu', 'cache', 'blob-ids'), { racyMs: 0 });
    const loaded = await loadState(fsReader(repo, { index }), 'state', undefined, store);
    await Promise.all([store.flush(), index.save()]);
    return loaded;
  }
  const entries = async () => (await readdir(join(repo, '.kaidu', 'cache', 'state'))).length;

  it('are found by blob id, not used once the file changed, and give what a parse gives', async () => {
    await writeState(stateFile(1));
    const first = new DiskStateStore(join(repo, '.kaidu', 'cache'));
    expect((await loadWith(first)).snapshot.local!.s0!.nodes.app0!.attributes.pid).toBe(1);
    expect(first.hits).toBe(0);
    const second = new DiskStateStore(join(repo, '.kaidu', 'cache'));
    const again = await loadWith(second);
    expect(second.hits).toBe(1);
    expect(again).toEqual(await loadState(fsReader(repo), 'state'));
    await writeState(stateFile(2));
    const third = new DiskStateStore(join(repo, '.kaidu', 'cache'));
    expect((await loadWith(third)).snapshot.local!.s0!.nodes.app0!.attributes.pid).toBe(2);
    expect(third.hits).toBe(0);
  });

  it('a damaged state file is reported from the cache as from the file, and a damaged entry is ignored', async () => {
    await writeState(stateFile(1).replace('status: running', 'status: [running'));
    const direct = await loadState(fsReader(repo), 'state');
    expect(direct.invalidFiles).toEqual(['state/local/s0.yaml']);
    await loadWith(new DiskStateStore(join(repo, '.kaidu', 'cache')));
    const cached = new DiskStateStore(join(repo, '.kaidu', 'cache'));
    expect(await loadWith(cached)).toEqual(direct);
    expect(cached.hits).toBe(1);
    expect(await entries()).toBe(1);
    const dir = join(repo, '.kaidu', 'cache', 'state');
    const [sub] = await readdir(dir);
    const [name] = await readdir(join(dir, sub!));
    const file = join(dir, sub!, name!);
    const bytes = Buffer.from(await readFile(file));
    bytes[bytes.length - 3] ^= 0xff;
    await writeFile(file, bytes);
    const damaged = new DiskStateStore(join(repo, '.kaidu', 'cache'));
    expect(await loadWith(damaged)).toEqual(direct);
    expect(damaged.hits).toBe(0);
  });

  it('kaidu plan uses them: the same plan with and without the cache', async () => {
    await writeState(stateFile(1));
    const none = await kaidu(['plan', '--json', '--no-cache'], repo);
    expect((await kaidu(['plan', '--json'], repo)).stdout).toBe(none.stdout);
    expect(await entries()).toBe(1);
    expect((await kaidu(['plan', '--json'], repo)).stdout).toBe(none.stdout);
  });
});

describe('sourceDigest', () => {
  it('only a saved plan has one; a saved plan is refused once a file changed at the same revision', async () => {
    expect(JSON.parse((await kaidu(['plan', '--json'], repo)).stdout).sourceDigest).toBeUndefined();
    const saved = join(repo, '.kaidu', 'plan.json');
    await kaidu(['plan', '--out', saved], repo);
    expect(JSON.parse(await readFile(saved, 'utf8')).sourceDigest).toMatch(/^sha256:/);
    // Same commit, same services, an edited import: stale.
    await writeFile(join(repo, 'services', 'types', 'app.yaml'), types('9'));
    const r = await kaidu(['apply', '--yes', '--host', 'local', saved], repo);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the templates or the state changed since the plan was made');
  });
});

describe('blob ids of working-tree files', () => {
  it('are git blob ids, kept by stat data and recomputed when the file changed under the same mtime', async () => {
    const dir = tempDir('kaidu-blob-ids-');
    const file = join(dir, 'a.yaml');
    await writeFile(file, 'one: 1\n');
    const old = new Date(Date.now() - 60_000);
    await utimes(file, old, old);
    const expected = (await exec('git', ['hash-object', file])).stdout.trim();
    expect(gitBlobId(await readFile(file))).toBe(expected);
    const indexFile = join(dir, 'cache', 'blob-ids');
    // utimes moved the ctime to now: recorded only because this test says so (no 2 s wait).
    const racy = await BlobIdIndex.open(dir, indexFile);
    expect(await racy.id('a.yaml')).toBe(expected);
    await racy.save();
    expect(existsSync(indexFile)).toBe(false);
    const index = await BlobIdIndex.open(dir, indexFile, { racyMs: 0 });
    expect(await index.id('a.yaml')).toBe(expected);
    await index.save();
    const again = await BlobIdIndex.open(dir, indexFile, { racyMs: 0 });
    expect(await again.id('a.yaml')).toBe(expected);
    expect(again.hashed).toBe(0);
    // Same size, same mtime: the change is still seen (ctime moved).
    const mtime = (await stat(file)).mtime;
    await writeFile(file, 'one: 2\n');
    await utimes(file, mtime, mtime);
    const third = await BlobIdIndex.open(dir, indexFile, { racyMs: 0 });
    expect(await third.id('a.yaml')).toBe(gitBlobId(Buffer.from('one: 2\n')));
    expect(third.hashed).toBe(1);
    expect(await third.id('missing.yaml')).toBeUndefined();
  });

  it('a damaged index is ignored', async () => {
    const dir = tempDir('kaidu-blob-ids-');
    await writeFile(join(dir, 'a.yaml'), 'x\n');
    const indexFile = join(dir, 'blob-ids');
    await writeCacheFile(indexFile, 'stat-index', Buffer.from('{not json'));
    const index = await BlobIdIndex.open(dir, indexFile);
    expect(await index.id('a.yaml')).toBe(gitBlobId(Buffer.from('x\n')));
  });
});
