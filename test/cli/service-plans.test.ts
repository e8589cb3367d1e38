import { cp, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';
import { serializeServiceState, stateFilePath } from '../../src/state/index.js';
import type { ServiceState } from '../../src/state/model.js';
import type { Plan } from '../../src/plan/model.js';
import { pruneCache, pruneIfDue } from '../../src/cli/cache-prune.js';
import { readCacheFile, writeCacheFile } from '../../src/cli/cache-file.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/web-db/', import.meta.url));
let repo: string;

/** Every kind of share the per-service planner assembles: waits across hosts, deletes, placement by policy, a clash across services. */
const files: Record<string, string> = {
  'services/spread.yaml': `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    host-a:
      type: kaidu:Host
      properties: { labels: { role: other, zone: z1 }, address: 10.0.0.1 }
    host-c:
      type: kaidu:Host
      properties: { labels: { zone: z1 } }
    worker:
      type: kaidu:Process
      properties:
        command: [ /bin/worker, { $get_attribute: [ host-a, address ] } ]
    fixed:
      type: kaidu:Port
      properties: { port: 8080 }
      requirements: [ { host: host-c } ]
  policies:
    - spread:
        type: kaidu:Spread
        properties: { count: 2, labels: { zone: z1 } }
        targets: [ worker ]
`,
  'services/clash.yaml': `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    host-c: { type: kaidu:Host }
    other:
      type: kaidu:Port
      properties: { port: 8080 }
      requirements: [ { host: host-c } ]
    chain-b:
      type: kaidu:Process
      properties: { command: [ /bin/b ] }
      requirements: [ { host: host-c }, { dependency: chain-a } ]
    chain-a:
      type: kaidu:Process
      properties: { command: [ /bin/a ] }
      requirements: [ { host: host-c } ]
`,
  'services/broken.yaml': `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    x: { type: kaidu:NoSuchType }
`,
  'services/types.yaml': `tosca_definitions_version: tosca_2_0
node_types:
  my:Thing:
    derived_from: kaidu:Process
`,
};

function state(host: string, service: string, nodes: ServiceState['nodes']): [string, string] {
  return [stateFilePath('state', host, service), serializeServiceState({ schema: 'kaidu/state/v1', host, service, revision: 'r0', updatedAt: '2026-01-01T00:00:00.000Z', nodes })];
}
const node = (type: string, attributes: Record<string, string | number> = {}, dependsOn?: string[]) => ({ type, status: 'running' as const, fingerprint: 'sha256:00000000000000000000000000000000', properties: {}, attributes, revision: 'r0', appliedAt: '2026-01-01T00:00:00.000Z', ...(dependsOn ? { dependsOn } : {}) });

beforeEach(async () => {
  repo = tempDir('kaidu-service-plans-');
  // Never a cache another run left in the example (its prune stamp would make this one skip pruning).
  await cp(EXAMPLE, repo, { recursive: true, filter: (src) => !/[\\/]\.kaidu([\\/]|$)/.test(src) });
  for (const [path, text] of Object.entries(files)) await writeFile(join(repo, path), text);
  const states = [
    // db-port is up on host-b: web on host-a reads its attributes instead of waiting
    state('host-b', 'web-db', { 'db-port': node('kaidu:Port', { address: '127.0.0.1', port: 20200 }) }),
    // a service no template names any more: its nodes are deleted, the dependent first
    state('host-a', 'gone', { app: node('kaidu:Process', {}, ['dir']), dir: node('kaidu:Directory') }),
    // a failed service's nodes are left alone
    state('host-c', 'broken', { x: node('kaidu:Process') }),
  ];
  for (const [path, text] of states) {
    await mkdir(join(repo, path, '..'), { recursive: true });
    await writeFile(join(repo, path), text);
  }
  // a damaged state file: reported, and its service frozen on that host
  await mkdir(join(repo, 'state', 'host-c'), { recursive: true });
  await writeFile(join(repo, 'state', 'host-c', 'clash.yaml'), 'schema: [unclosed\n');
});

/** The same plan, byte for byte, with the per-service cache and without any cache, in each output form. */
async function expectSamePlans(label: string): Promise<Plan> {
  const forms: string[][] = [['--json'], [], ['--host', 'host-a'], ['--host', 'host-c', '--json'], ['--format', 'markdown'], ['-v']];
  let parsed: Plan | undefined;
  for (const form of forms) {
    const cached = await kaidu(['plan', ...form], repo);
    const uncached = await kaidu(['plan', ...form, '--no-cache'], repo);
    expect(cached.stderr, `${label} ${form.join(' ')}`).toBe(uncached.stderr);
    expect(cached.stdout, `${label} ${form.join(' ')}`).toBe(uncached.stdout);
    expect(cached.code, `${label} ${form.join(' ')}`).toBe(uncached.code);
    if (form[0] === '--json') parsed = JSON.parse(cached.stdout) as Plan;
  }
  return parsed!;
}

async function entries(kind: string): Promise<string[]> {
  const root = join(repo, '.kaidu', 'cache', kind);
  const out: string[] = [];
  for (const d of await readdir(root).catch(() => [])) for (const f of await readdir(join(root, d))) out.push(join(d, f));
  return out.sort();
}

describe('kaidu plan, service by service through the cache', () => {
  it('gives the plan the whole-topology planner gives, cold, warm and after each kind of edit', async () => {
    const cold = await expectSamePlans('cold');
    // the fixture exercises what the shares must reproduce
    const actions = cold.hosts.flatMap((h) => h.waves.flat());
    expect(actions.some((a) => a.kind === 'delete' && a.service === 'gone')).toBe(true);
    expect(actions.some((a) => a.service === 'broken')).toBe(false);
    expect(cold.diagnostics.map((d) => d.code)).toEqual(expect.arrayContaining(['E_TOPOLOGY_PORT_CLASH', 'W_TOPOLOGY_HOST_LABEL', 'E_STATE_YAML']));
    expect(Object.keys(cold.placement).some((id) => id.startsWith('spread/worker#1'))).toBe(true);
    expect(cold.hosts.find((h) => h.host === 'host-a')!.waves.length).toBeGreaterThan(2);
    expect((await entries('service-plan')).length).toBeGreaterThan(0);
    await expectSamePlans('warm');

    // one service's file
    await writeFile(join(repo, 'services', 'clash.yaml'), files['services/clash.yaml']!.replace('/bin/b', '/bin/bb'));
    await expectSamePlans('service edited');
    // a file a node uses (the config template)
    await writeFile(join(repo, 'services', 'web-db', 'files', 'web.conf.tmpl'), '# changed\ndb = {{ db_address }}\n');
    await expectSamePlans('artifact edited');
    // the state another host's node waits for
    const [path, text] = state('host-b', 'web-db', {});
    await writeFile(join(repo, path), text);
    await expectSamePlans('state edited');
    // a machine's address in another service: every share that reads machines is planned again
    await writeFile(join(repo, 'services', 'spread.yaml'), files['services/spread.yaml']!.replace('10.0.0.1', '10.0.0.2'));
    await expectSamePlans('machines edited');
    // a service added, one removed, the broken one fixed (its recorded node is then planned)
    await writeFile(join(repo, 'services', 'new.yaml'), files['services/clash.yaml']!.replace(/host-c/g, 'host-d').replace('8080', '9090'));
    await rm(join(repo, 'services', 'spread.yaml'));
    await writeFile(join(repo, 'services', 'broken.yaml'), `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    h: { type: kaidu:Host, properties: { name: host-c } }
    x:
      type: kaidu:Process
      properties: { command: [ /bin/x ] }
      requirements: [ { host: h } ]
`);
    await expectSamePlans('services added, removed, fixed');
    // the damaged state file repaired
    const [fixed, fixedText] = state('host-c', 'clash', { other: node('kaidu:Port', { port: 8080 }) });
    await writeFile(join(repo, fixed), fixedText);
    await expectSamePlans('state repaired');
  });

  it('after a one-file change compiles and stores that service alone; unchanged services need no compile result at all', async () => {
    // (a service with a damaged state file is planned again each time: no share is kept for it)
    await rm(join(repo, 'state', 'host-c', 'clash.yaml'));
    await kaidu(['plan'], repo);
    const compiled = await entries('compile');
    const shares = await entries('service-plan');
    await writeFile(join(repo, 'services', 'clash.yaml'), files['services/clash.yaml']!.replace('/bin/a', '/bin/aa'));
    const before = await kaidu(['plan', '--no-cache'], repo);
    // Without the compile results, a warm plan still holds: each other service is one share read.
    await rm(join(repo, '.kaidu', 'cache', 'compile'), { recursive: true });
    const after = await kaidu(['plan'], repo);
    expect(after.stdout).toBe(before.stdout);
    expect(await entries('compile')).toHaveLength(1);
    expect(compiled.length).toBeGreaterThan(1);
    // the new share: a header and its body
    const added = (await entries('service-plan')).filter((e) => !shares.includes(e));
    expect(added).toHaveLength(2);
    // and the next run compiles nothing
    await kaidu(['plan'], repo);
    expect(await entries('compile')).toHaveLength(1);
  });

  it('a damaged share, or a body that is not the one its header names, is not used', async () => {
    const first = await kaidu(['plan', '--json'], repo);
    const shares = await entries('service-plan');
    const dir = join(repo, '.kaidu', 'cache', 'service-plan');
    const bodies = shares.filter((e) => e.endsWith('.body.bin'));
    const headers = shares.filter((e) => !e.endsWith('.body.bin'));
    // a body swapped for another service's (each whole and well-formed on its own)
    const a = await readCacheFile(join(dir, bodies[0]!), 'service-plan-body');
    const b = await readCacheFile(join(dir, bodies[1]!), 'service-plan-body');
    await writeCacheFile(join(dir, bodies[0]!), 'service-plan-body', b!);
    await writeCacheFile(join(dir, bodies[1]!), 'service-plan-body', a!);
    // a header cut short
    const h = join(dir, headers[2]!);
    await writeFile(h, (await readFile(h)).subarray(0, 40));
    const again = await kaidu(['plan', '--json'], repo);
    expect(again.stdout).toBe(first.stdout);
    const text = await kaidu(['plan'], repo);
    expect(text.stdout).toBe((await kaidu(['plan', '--no-cache'], repo)).stdout);
  });
});

describe('the cache stays bounded', () => {
  it('pruning removes the least recently used entries first, down to 80% of the bound, and stale temporary files', async () => {
    const dir = tempDir('kaidu-prune-');
    const now = Date.now();
    for (let i = 0; i < 10; i++) {
      const f = join(dir, 'compile', 'ab', `e${i}.bin`);
      await writeCacheFile(f, 'compile', Buffer.alloc(1000, i));
      // e0 is the oldest, e9 the newest
      await utimes(f, (now - (100 - i) * 60_000) / 1000, (now - (100 - i) * 60_000) / 1000);
    }
    await writeFile(join(dir, 'compile', 'ab', '.left.tmp'), 'x');
    await utimes(join(dir, 'compile', 'ab', '.left.tmp'), (now - 2 * 3600_000) / 1000, (now - 2 * 3600_000) / 1000);
    await writeFile(join(dir, '.gitignore'), '*\n');
    const result = await pruneCache(dir, { maxBytes: 9000, maxFiles: 1000 }, now);
    const left = (await readdir(join(dir, 'compile', 'ab'))).sort();
    // each entry is 1000 bytes and a header: 80% of 9000 bytes keeps the six newest
    expect(left).toEqual(['e4.bin', 'e5.bin', 'e6.bin', 'e7.bin', 'e8.bin', 'e9.bin']);
    expect(result.removed).toBe(5);
    expect(await readdir(dir)).toContain('.gitignore');
    // by count as well
    await pruneCache(dir, { maxBytes: 1e9, maxFiles: 3 }, now);
    expect((await readdir(join(dir, 'compile', 'ab'))).sort()).toEqual(['e8.bin', 'e9.bin']);
  });

  it('an entry read again counts as recently used', async () => {
    const dir = tempDir('kaidu-prune-');
    const f = join(dir, 'state', 'ab', 'x.bin');
    await writeCacheFile(f, 'state', Buffer.from('hello'));
    const old = (Date.now() - 3 * 86400_000) / 1000;
    await utimes(f, old, old);
    expect(String(await readCacheFile(f, 'state'))).toBe('hello');
    expect((await stat(f)).mtimeMs).toBeGreaterThan(Date.now() - 3600_000);
  });

  it('kaidu plan prunes at most once an hour, to KAIDU_CACHE_MAX_MB, and still plans right', async () => {
    const first = await kaidu(['plan', '--json'], repo, { KAIDU_CACHE_MAX_MB: '0' });
    // the first run pruned what it had written (a bound of 0 keeps nothing) and left its stamp
    const cache = join(repo, '.kaidu', 'cache');
    expect(await entries('compile')).toEqual([]);
    expect((await readdir(cache)).sort()).toContain('.pruned');
    // within the hour nothing is pruned, and a plan from a pruned cache is the same plan
    const second = await kaidu(['plan', '--json'], repo, { KAIDU_CACHE_MAX_MB: '0' });
    expect(second.stdout).toBe(first.stdout);
    expect((await entries('compile')).length).toBeGreaterThan(0);
    expect(await pruneIfDue(cache, { KAIDU_CACHE_MAX_MB: '0' })).toBeUndefined();
    // an hour later it is
    const later = await pruneIfDue(cache, { KAIDU_CACHE_MAX_MB: '0' }, Date.now() + 3600_001);
    expect(later?.files).toBe(0);
    expect(await entries('compile')).toEqual([]);
  });
});

describe('the index of share headers', () => {
  const indexDir = () => join(repo, '.kaidu', 'cache', 'service-plan-index');
  const stats = (stderr: string) => /cache: (\d+) of (\d+) service files/.exec(stderr)?.slice(1).map(Number);

  it('holds the headers a run used: a warm plan finds them there, without their own files', async () => {
    const first = await kaidu(['plan', '--json'], repo);
    const [index] = await readdir(indexDir());
    expect(index).toBeDefined();
    const warm = await kaidu(['plan', '--json'], repo, { KAIDU_CACHE_STATS: '1' });
    const reused = stats(warm.stderr)!;
    expect(reused[0]).toBeGreaterThan(0);
    // the header files gone (the bodies stay): the index alone vouches for the same shares
    for (const e of await entries('service-plan')) if (!e.endsWith('.body.bin')) await rm(join(repo, '.kaidu', 'cache', 'service-plan', e));
    const fromIndex = await kaidu(['plan', '--json'], repo, { KAIDU_CACHE_STATS: '1' });
    expect(stats(fromIndex.stderr)).toEqual(reused);
    expect(fromIndex.stdout).toBe(first.stdout);
  });

  it('runs at once, each writing its own index, leave a cache that still plans right', async () => {
    await kaidu(['plan'], repo);
    await writeFile(join(repo, 'services', 'clash.yaml'), files['services/clash.yaml']!.replace('/bin/b', '/bin/bbb'));
    const runs = await Promise.all([kaidu(['plan', '--json'], repo), kaidu(['plan', '--json'], repo), kaidu(['plan'], repo)]);
    const uncached = await kaidu(['plan', '--json', '--no-cache'], repo);
    expect(runs[0]!.stdout).toBe(uncached.stdout);
    expect(runs[1]!.stdout).toBe(uncached.stdout);
    expect(runs[2]!.stdout).toBe((await kaidu(['plan', '--no-cache'], repo)).stdout);
    // whichever index won, the next runs agree with the uncached plan
    expect((await kaidu(['plan', '--json'], repo)).stdout).toBe(uncached.stdout);
    expect((await kaidu(['plan'], repo)).stdout).toBe((await kaidu(['plan', '--no-cache'], repo)).stdout);
  });

  it('a damaged index, or one of another build, is ignored: each header is read from its own file', async () => {
    const first = await kaidu(['plan', '--json'], repo);
    const warm = stats((await kaidu(['plan'], repo, { KAIDU_CACHE_STATS: '1' })).stderr)!;
    const file = join(indexDir(), (await readdir(indexDir()))[0]!);
    const whole = await readFile(file);
    // a flipped byte (the checksum no longer matches)
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 3] ^= 0xff;
    await writeFile(file, flipped);
    const afterFlip = await kaidu(['plan', '--json'], repo, { KAIDU_CACHE_STATS: '1' });
    expect(afterFlip.stdout).toBe(first.stdout);
    expect(stats(afterFlip.stderr)).toEqual(warm);
    // well-formed, but its entries are not this build's keys: none is taken
    const payload = (await readCacheFile(file, 'service-plan-index'))!;
    const { deserialize, serialize } = await import('node:v8');
    const entries0 = deserialize(payload) as Array<[string, unknown]>;
    await writeCacheFile(file, 'service-plan-index', serialize(entries0.map(([k, e]) => [`other-build${k}`, e])));
    for (const e of await entries('service-plan')) if (!e.endsWith('.body.bin')) await rm(join(repo, '.kaidu', 'cache', 'service-plan', e));
    const foreign = await kaidu(['plan', '--json'], repo, { KAIDU_CACHE_STATS: '1' });
    expect(foreign.stdout).toBe(first.stdout);
    expect(stats(foreign.stderr)![0]).toBe(0);
    expect(foreign.stdout).toBe((await kaidu(['plan', '--json', '--no-cache'], repo)).stdout);
  });
});
