import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';

const exec = promisify(execFile);

async function repoWith(service: string): Promise<string> {
  const repo = tempDir('kaidu-host-');
  await mkdir(join(repo, 'services'));
  await writeFile(join(repo, 'kaidu.yaml'), 'branch: main\n');
  await writeFile(join(repo, 'services', 'web.yaml'), service);
  const git = (...args: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: repo });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-qm', 'one');
  return repo;
}

const TWO_HOSTS = `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    alpha: { type: kaidu:Host }
    gamma: { type: kaidu:Host }
`;

describe('--host names a host the templates know', () => {
  it('plan --host ghost: exit 2, naming the known hosts (and the closest one)', async () => {
    const repo = await repoWith(TWO_HOSTS);
    const ghost = await kaidu(['plan', '--host', 'ghost'], repo);
    expect(ghost.code).toBe(2);
    expect(ghost.stderr).toContain('no host "ghost"');
    expect(ghost.stderr).toContain('known hosts: alpha, gamma');
    const typo = await kaidu(['plan', '--host', 'alpah'], repo);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean "alpha"?');
    expect((await kaidu(['plan', '--host', 'alpha'], repo)).code).toBe(0);
  });

  it('apply --host ghost: exit 2 before anything runs', async () => {
    const repo = await repoWith(TWO_HOSTS);
    const r = await kaidu(['apply', '--host', 'ghost'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('known hosts: alpha, gamma');
  });

  it('a damaged state file of another host hides no host: apply --host ghost is still exit 2', async () => {
    const repo = await repoWith(TWO_HOSTS);
    await mkdir(join(repo, 'state', 'alpha'), { recursive: true });
    await writeFile(join(repo, 'state', 'alpha', 'web.yaml'), 'nodes: [unclosed\n');
    await exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', 'commit', '-qam', 'x'], { cwd: repo }).catch(() => undefined);
    for (const command of ['apply', 'plan']) {
      const r = await kaidu([command, '--host', 'ghost'], repo);
      expect(r.code, `${command}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('known hosts: alpha, gamma');
      expect(r.stdout).not.toContain('Nothing to do');
    }
    // A host only a damaged state file names may be real: its errors are the answer (exit 1).
    await mkdir(join(repo, 'state', 'delta'), { recursive: true });
    await writeFile(join(repo, 'state', 'delta', 'web.yaml'), 'nodes: [unclosed\n');
    const delta = await kaidu(['plan', '--host', 'delta'], repo);
    expect(delta.code).toBe(1);
    expect(delta.stdout + delta.stderr).toContain('E_STATE_YAML');
  });

  it('with compile errors the errors are the answer (exit 1), not a usage error', async () => {
    const repo = await repoWith(`${TWO_HOSTS}    broken: { type: kaidu:Nope }\n`);
    const r = await kaidu(['plan', '--host', 'ghost'], repo);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('E_TOSCA_UNKNOWN_TYPE');
  });
});
