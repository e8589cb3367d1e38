/**
 * The per-service cache beyond a plain `kaidu plan` of a working tree: `--base/--head`, `--head`,
 * `--out` (its sourceDigest) and state on the hosts' state branches give, byte for byte, what the
 * whole-topology planner gives without a cache; and entries made by one form are used by another
 * (they are keyed by blob ids), which `KAIDU_CACHE_STATS=1` makes visible.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';
import { serializeServiceState, stateFilePath } from '../../src/state/index.js';
import type { ServiceState } from '../../src/state/model.js';
import type { Plan } from '../../src/plan/model.js';

const exec = promisify(execFile);
const EXAMPLE = fileURLToPath(new URL('../../examples/web-db/', import.meta.url));
let repo: string;

const git = async (...args: string[]) => (await exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd: repo })).stdout.trim();

const worker = (cmd: string) => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    host-a: { type: kaidu:Host }
    worker:
      type: kaidu:Process
      properties: { command: [ ${cmd} ] }
      requirements: [ { host: host-a } ]
`;

const node = (type: string, attributes: Record<string, string | number> = {}) => ({ type, status: 'running' as const, fingerprint: 'sha256:00000000000000000000000000000000', properties: {}, attributes, revision: 'r0', appliedAt: '2026-01-01T00:00:00.000Z' });
async function writeState(host: string, service: string, nodes: ServiceState['nodes']): Promise<void> {
  const path = join(repo, stateFilePath('state', host, service));
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, serializeServiceState({ schema: 'kaidu/state/v1', host, service, revision: 'r0', updatedAt: '2026-01-01T00:00:00.000Z', nodes }));
}

beforeEach(async () => {
  repo = tempDir('kaidu-service-plans-rev-');
  await cp(EXAMPLE, repo, { recursive: true, filter: (src) => !/[\\/]\.kaidu([\\/]|$)/.test(src) });
  await writeFile(join(repo, '.gitignore'), '.kaidu/\n');
  await writeFile(join(repo, 'services', 'worker.yaml'), worker('/bin/w'));
  await writeFile(join(repo, 'services', 'broken.yaml'), 'tosca_definitions_version: tosca_2_0\nservice_template:\n  node_templates:\n    x: { type: kaidu:NoSuchType }\n');
  await writeState('host-b', 'web-db', { 'db-port': node('kaidu:Port', { address: '127.0.0.1', port: 20200 }) });
  await writeState('host-a', 'gone', { app: node('kaidu:Process') });
  await writeState('host-a', 'worker', { worker: node('kaidu:Process', { pid: 42 }) });
  await git('init', '-q');
  await git('add', '-A');
  await git('commit', '-qm', 'base');
  // head: a service edited, one added, the state of one changed, and a state file damaged (head only: its problem is reported)
  await writeFile(join(repo, 'services', 'worker.yaml'), worker('/bin/w2'));
  await writeFile(join(repo, 'services', 'extra.yaml'), worker('/bin/extra').replace(/worker/g, 'extra'));
  await writeState('host-a', 'worker', { worker: node('kaidu:Process', { pid: 43 }) });
  await writeFile(join(repo, 'state', 'host-b', 'broken.yaml'), 'schema: [unclosed\n');
  await git('add', '-A');
  await git('commit', '-qm', 'head');
});

/** Each form with the cache (twice: cold, then warm) and without: the same stdout, stderr and exit code. */
async function expectSame(forms: string[][]): Promise<void> {
  for (const form of forms) {
    const uncached = await kaidu(['plan', ...form, '--no-cache'], repo);
    for (const run of ['cold', 'warm']) {
      const cached = await kaidu(['plan', ...form], repo);
      const label = `${run}: plan ${form.join(' ')}`;
      expect(cached.stdout, label).toBe(uncached.stdout);
      expect(cached.stderr, label).toBe(uncached.stderr);
      expect(cached.code, label).toBe(uncached.code);
    }
  }
}

const REVISION_FORMS = [
  ['--base', 'HEAD~1', '--head', 'HEAD', '--json'],
  ['--base', 'HEAD~1', '--head', 'HEAD'],
  ['--base', 'HEAD~1', '--head', 'HEAD', '--format', 'markdown'],
  ['--base', 'HEAD~1', '--head', 'HEAD', '--host', 'host-a', '--json'],
  ['--base', 'HEAD', '--head', 'HEAD~1', '--json', '-v'],
  ['--head', 'HEAD~1', '--json'],
  ['--head', 'HEAD', '-v'],
];

const stats = (stderr: string) => /cache: (\d+) of (\d+) service files planned from the cache/.exec(stderr)?.slice(1).map(Number);

describe('the per-service cache for --base/--head, --out and state branches', () => {
  it('--base/--head and --head plan as the whole-topology planner does, cold and warm', async () => {
    await expectSame(REVISION_FORMS);
    // the fixture exercises what the base/head plan must reproduce
    const plan = JSON.parse((await kaidu(['plan', '--base', 'HEAD~1', '--head', 'HEAD', '--json'], repo)).stdout) as Plan;
    expect(plan.baseRevision).toBe(await git('rev-parse', 'HEAD~1'));
    expect(plan.baseState).toEqual({ hosts: 2, nodes: 3 });
    expect(plan.diagnostics.map((d) => d.code)).toContain('E_STATE_YAML');
    expect(plan.hosts.flatMap((h) => h.waves.flat()).some((a) => a.kind === 'delete' && a.service === 'gone')).toBe(true);
  });

  it('--out saves the plan (and the sourceDigest) the uncached planner saves, for the working tree and for --base/--head', async () => {
    for (const form of [[], ['--base', 'HEAD~1', '--head', 'HEAD']]) {
      const out = (name: string) => join(repo, '.kaidu', `${name}.json`);
      await mkdir(join(repo, '.kaidu'), { recursive: true });
      await kaidu(['plan', ...form, '--out', out('uncached'), '--no-cache'], repo);
      for (const run of ['cold', 'warm']) {
        await kaidu(['plan', ...form, '--out', out(run)], repo);
        expect(await readFile(out(run), 'utf8'), `${run} ${form.join(' ')}`).toBe(await readFile(out('uncached'), 'utf8'));
      }
      expect((JSON.parse(await readFile(out('warm'), 'utf8')) as Plan).sourceDigest).toMatch(/^sha256:/);
      await rm(join(repo, '.kaidu'), { recursive: true, force: true });
    }
    // a changed state file makes another digest, with the cache as without
    const before = JSON.parse((await kaidu(['plan', '--json', '--out', join(repo, 'p1.json')], repo)).stdout) as Plan;
    await writeState('host-a', 'worker', { worker: node('kaidu:Process', { pid: 44 }) });
    const after = JSON.parse((await kaidu(['plan', '--json', '--out', join(repo, 'p2.json')], repo)).stdout) as Plan;
    expect(after.sourceDigest).not.toBe(before.sourceDigest);
  });

  it('a --base/--head after a plain plan reuses its entries, keyed by blob id (KAIDU_CACHE_STATS=1)', async () => {
    const first = await kaidu(['plan'], repo, { KAIDU_CACHE_STATS: '1' });
    expect(stats(first.stderr)).toEqual([0, 4]);
    // warm: all but broken (its state file on host-b is damaged: such a share is never stored)
    expect(stats((await kaidu(['plan'], repo, { KAIDU_CACHE_STATS: '1' })).stderr)).toEqual([3, 4]);
    // same templates and state as the working tree: the same entries, read from git
    const same = await kaidu(['plan', '--base', 'HEAD', '--head', 'HEAD'], repo, { KAIDU_CACHE_STATS: '1' });
    expect(stats(same.stderr)).toEqual([3, 4]);
    // another base: a share holds only for the state it was planned against (worker's differs at HEAD~1,
    // and broken has no state file there), then that base's shares are stored too
    const other = await kaidu(['plan', '--base', 'HEAD~1', '--head', 'HEAD'], repo, { KAIDU_CACHE_STATS: '1' });
    expect(stats(other.stderr)).toEqual([2, 4]);
    expect(stats((await kaidu(['plan', '--base', 'HEAD~1', '--head', 'HEAD'], repo, { KAIDU_CACHE_STATS: '1' })).stderr)).toEqual([4, 4]);
    // without the variable nothing is said
    expect((await kaidu(['plan', '--base', 'HEAD', '--head', 'HEAD'], repo)).stderr).not.toContain('cache:');
  });

  it("plans over the hosts' state branches as the whole-topology planner does, and reuses its entries", async () => {
    // host-a's agent recorded other state on its own branch: that wins over state/host-a on main
    await git('checkout', '-q', '--orphan', 'kaidu/state/host-a');
    await git('rm', '-rqf', '.');
    await writeState('host-a', 'worker', { worker: node('kaidu:Process', { pid: 99 }) });
    await git('add', 'state');
    await git('commit', '-qm', 'kaidu(host-a): apply\n\nKaidu-Host: host-a');
    await git('checkout', '-q', '-f', 'main');
    await expectSame([['--json'], [], ['-v'], ['--host', 'host-a', '--json'], ['--base', 'HEAD~1', '--head', 'HEAD', '--json'], ['--head', 'HEAD']]);
    const plan = JSON.parse((await kaidu(['plan', '--json'], repo)).stdout) as Plan;
    // the branch's worker (pid 99) is the state planned against: gone's nodes are no longer there to delete
    expect(plan.hosts.flatMap((h) => h.waves.flat()).some((a) => a.service === 'gone')).toBe(false);
    // (broken is planned again each time: its state file on host-b, which has no branch, is damaged)
    expect(stats((await kaidu(['plan'], repo, { KAIDU_CACHE_STATS: '1' })).stderr)).toEqual([3, 4]);
    // a new state commit on the branch: the share of the service whose state it holds is planned again
    await git('checkout', '-q', 'kaidu/state/host-a');
    await writeState('host-a', 'worker', { worker: node('kaidu:Process', { pid: 100 }) });
    await git('commit', '-qam', 'kaidu(host-a): apply again');
    await git('checkout', '-q', '-f', 'main');
    expect(stats((await kaidu(['plan'], repo, { KAIDU_CACHE_STATS: '1' })).stderr)).toEqual([2, 4]);
    await expectSame([['--json'], ['--out', join(repo, '.git', 'p.json')]]);
  });
});
