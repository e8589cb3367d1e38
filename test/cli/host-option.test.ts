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

  it('with compile errors the errors are the answer (exit 1), not a usage error', async () => {
    const repo = await repoWith(`${TWO_HOSTS}    broken: { type: kaidu:Nope }\n`);
    const r = await kaidu(['plan', '--host', 'ghost'], repo);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('E_TOSCA_UNKNOWN_TYPE');
  });
});
