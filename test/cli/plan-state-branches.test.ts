/**
 * `kaidu plan` and `kaidu status` in a clone read each host's state from its state branch
 * (`origin/kaidu/state/<host>` after `git fetch`), falling back to `state/<host>/` on the
 * templates branch for a host without one.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kaidu } from '../support/run-cli.js';

const exec = promisify(execFile);
let dir: string;
let work: string;
const git = async (cwd: string, ...args: string[]) => (await exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd })).stdout.trim();

const SERVICE = `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    local: { type: kaidu:Host }
    app:
      type: kaidu:Process
      properties:
        command: [node, -e, "setInterval(()=>{},1e6)"]
      requirements: [ { host: local } ]
`;

const stateFile = (status: string, revision: string, error?: string) => `schema: kaidu/state/v1
host: local
service: hello
revision: ${revision}
updatedAt: 2026-11-24T07:00:00.000Z
nodes:
  app:
    type: kaidu:Process
    status: ${status}
    fingerprint: sha256:x
    revision: ${revision}
    appliedAt: 2026-11-24T07:00:00.000Z
${error ? `    error: ${error}\n` : ''}    properties: {}
    attributes: {}
`;

let templates: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-plan-branches-'));
  await git(dir, 'init', '-q', '--bare', 'hub.git');
  work = join(dir, 'work');
  await git(dir, 'clone', '-q', join(dir, 'hub.git'), work);
  await mkdir(join(work, 'services'));
  await writeFile(join(work, 'kaidu.yaml'), 'branch: main\n');
  await writeFile(join(work, '.gitignore'), '.kaidu/\n');
  await writeFile(join(work, 'services', 'hello.yaml'), SERVICE);
  await git(work, 'add', '-A');
  await git(work, 'commit', '-qm', 'templates');
  templates = await git(work, 'rev-parse', 'HEAD');
  // The state an older Kaidu left on main: stopped.
  await mkdir(join(work, 'state', 'local'), { recursive: true });
  await writeFile(join(work, 'state', 'local', 'hello.yaml'), stateFile('stopped', templates));
  await git(work, 'add', '-A');
  await git(work, 'commit', '-qm', 'old state on main');
  await git(work, 'push', '-q', 'origin', 'HEAD:main');
  // The host's own branch says failed, recorded from `templates`.
  await git(work, 'checkout', '-q', '--orphan', 'kaidu/state/local');
  await git(work, 'rm', '-rqf', '.');
  await mkdir(join(work, 'state', 'local'), { recursive: true });
  await writeFile(join(work, 'state', 'local', 'hello.yaml'), stateFile('failed', templates, 'boom'));
  await git(work, 'add', 'state');
  await git(work, 'commit', '-qm', `kaidu(local): apply\n\nKaidu-Host: local\nKaidu-Revision: ${templates}`);
  await git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/kaidu/state/local');
  await git(work, 'checkout', '-q', 'main');
  await git(work, 'branch', '-qD', 'kaidu/state/local');
  await git(work, 'fetch', '-q', 'origin');
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const appAction = async (args: string[]) => {
  const r = await kaidu(['plan', '--json', ...args], work);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).hosts[0].waves.flat().find((a: { node: string }) => a.node === 'hello/app') as { kind: string; reason: string };
};

describe('plan and status in a clone with state branches', () => {
  it("plan (working tree and --base/--head) reads the host's state branch, not the stale state/ on main", async () => {
    expect(await appAction([])).toMatchObject({ kind: 'update', reason: expect.stringContaining('the last apply failed: boom') });
    expect(await appAction(['--base', 'HEAD', '--head', 'HEAD'])).toMatchObject({ kind: 'update', reason: expect.stringContaining('the last apply failed: boom') });
  });

  it('without the branch (not fetched, or never written) the host falls back to state/ on the templates branch', async () => {
    await git(work, 'update-ref', '-d', 'refs/remotes/origin/kaidu/state/local');
    expect(await appAction([])).toMatchObject({ kind: 'update', reason: 'it stopped; starting it again' });
  });

  it('status: per host the state commit, its templates revision and the lag behind the checkout’s HEAD', async () => {
    const stateCommit = await git(work, 'rev-parse', 'origin/kaidu/state/local');
    const r = await kaidu(['status', '--json'], work);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    // main moved once (the old state commit) since the revision the host's state records.
    expect(out.hosts).toEqual([{ host: 'local', source: 'branch', stateCommit, templatesRevision: templates, behind: 1 }]);
    expect(out.nodes).toEqual([expect.objectContaining({ host: 'local', node: 'app', status: 'failed' })]);
    const human = await kaidu(['status'], work);
    expect(human.stdout).toMatch(new RegExp(`\\nlocal\\s+kaidu/state/local\\s+${stateCommit.slice(0, 10)}\\s+${templates.slice(0, 10)}\\s+1 behind\\n`));
  });
});
