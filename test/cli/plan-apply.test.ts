import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kaidu } from '../support/run-cli.js';
import { killManaged } from '../support/agent-harness.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
let repo: string;
const git = (...args: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: repo });

const hello = (greeting: string) => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    local: { type: kaidu:Host }
    dir:
      type: kaidu:Directory
      properties: { path: ${'${DIR}'}/data }
      requirements: [ { host: local } ]
    app:
      type: kaidu:Process
      properties:
        command: [node, -e, "setInterval(()=>{},1e6)"]
        env: { GREETING: "${greeting}" }
      requirements: [ { host: local }, { dependency: dir } ]
`;

async function writeService(greeting: string) {
  await writeFile(join(repo, 'services', 'hello.yaml'), hello(greeting).replace('${DIR}', repo));
}

beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), 'kaidu-cli-'));
  await mkdir(join(repo, 'services'));
  await writeFile(join(repo, 'kaidu.yaml'), 'branch: main\n');
  await writeFile(join(repo, '.gitignore'), '.kaidu/\n');
  await writeService('one');
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-qm', 'one');
});

afterEach(async () => {
  await killManaged(repo);
  await rm(repo, { recursive: true, force: true });
});

describe('kaidu plan and apply on a checkout', () => {
  it('plans as text, JSON and markdown, byte-identical across runs, with --detailed-exitcode', async () => {
    const text = await kaidu(['plan'], repo);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('+ hello/app (kaidu:Process): new node');
    expect(text.stdout).toContain('Plan: 2 to create, 0 to update, 0 to delete, 0 waiting, 0 unchanged.');
    const json1 = await kaidu(['plan', '--json'], repo);
    const json2 = await kaidu(['plan', '--json'], repo);
    expect(json1.stdout).toBe(json2.stdout);
    const p = JSON.parse(json1.stdout);
    expect(p.schema).toBe('kaidu/plan/v1');
    expect(p.revision).toMatch(/^[0-9a-f]{40}$/);
    expect((await kaidu(['plan', '--format', 'markdown'], repo)).stdout).toContain('| local | 2 | 0 | 0 | 0 | 0 |');
    expect((await kaidu(['plan', '--detailed-exitcode'], repo)).code).toBe(2);
  });

  it('applies, writes state atomically, then plans no changes; a saved plan is refused once the repository moved', async () => {
    const applied = await kaidu(['apply', '--yes'], repo);
    expect(applied.code, applied.stderr).toBe(0);
    const state = await readFile(join(repo, 'state', 'local', 'hello.yaml'), 'utf8');
    expect(state).toContain('schema: kaidu/state/v1');
    expect(state).toMatch(/app:\n\s+type: kaidu:Process\n\s+status: running/);
    expect((await kaidu(['plan', '--detailed-exitcode'], repo)).code).toBe(0);
    const status = await kaidu(['status'], repo);
    expect(status.stdout).toMatch(/local\s+hello\s+app\s+Process\s+running\s+pid=\d+/);
    expect(JSON.parse((await kaidu(['status', '--json'], repo)).stdout).nodes).toHaveLength(2);

    await git('add', '-A');
    await git('commit', '-qm', 'state');
    await writeService('two');
    await git('commit', '-qam', 'two');
    const saved = join(repo, '.kaidu', 'plan.json');
    await mkdir(join(repo, '.kaidu'), { recursive: true });
    expect((await kaidu(['plan', '--out', saved], repo)).stdout).toContain('~ hello/app');
    await writeService('three');
    await git('commit', '-qam', 'three');
    const stale = await kaidu(['apply', '--yes', saved], repo);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/the plan was made at revision [0-9a-f]{12}, but the repository is now at/);
  }, 30_000);

  it('plans between two real commits without a checkout', async () => {
    const first = (await git('rev-parse', 'HEAD')).stdout.trim();
    await writeService('two');
    await git('commit', '-qam', 'two');
    await writeService('not used: working tree only');
    const r = await kaidu(['plan', '--base', first, '--head', 'HEAD', '--json'], repo);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout);
    expect(p.baseRevision).toBe(first);
    const app = p.hosts[0].waves.flat().find((a: { node: string }) => a.node === 'hello/app');
    expect(app.desired.properties.env.GREETING).toBe('two');
  });

  it('refuses to overwrite a damaged state file, naming its line', async () => {
    await mkdir(join(repo, 'state', 'local'), { recursive: true });
    await writeFile(join(repo, 'state', 'local', 'hello.yaml'), 'schema: kaidu/state/v1\nhost: local\nservice: hello\nrevision: x\nupdatedAt: x\nnodes:\n  app:\n    type: kaidu:Process\n    status: dancing\n');
    const r = await kaidu(['apply', '--yes'], repo);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('state/local/hello.yaml');
    const plan = await kaidu(['plan'], repo);
    expect(plan.stdout).toContain('state/local/hello.yaml:9:13: error E_STATE_STATUS');
    expect(await readFile(join(repo, 'state', 'local', 'hello.yaml'), 'utf8')).toContain('dancing');
  });

  it('draws the graph and validates the examples folder', async () => {
    const g = await kaidu(['graph', '--format', 'mermaid'], repo);
    expect(g.stdout).toContain('flowchart LR');
    const v = await kaidu(['validate', 'examples'], ROOT);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    await cp(join(ROOT, 'examples', 'web-db'), join(repo, 'web-db'), { recursive: true });
    const wp = await kaidu(['plan', '--json'], join(repo, 'web-db'));
    const hosts = JSON.parse(wp.stdout).hosts;
    expect(hosts.find((h: { host: string }) => h.host === 'host-a').summary.wait).toBeGreaterThan(0);
  });
});
