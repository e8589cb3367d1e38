import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fsReader, profilesReader, readArtifact } from '../../src/cli/fs-reader.js';
import { openHub } from '../../src/git/index.js';
import { loadRepository } from '../../src/repository/index.js';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';

const exec = promisify(execFile);
const profiles = profilesReader();

const service = `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    local: { type: kaidu:Host }
    app:
      type: kaidu:Process
      properties: { command: [sleep, '300'] }
      interfaces:
        Standard:
          operations:
            create: files/run.sh
      requirements: [ { host: local } ]
`;

/** A repository whose create script is a link to a script outside it that leaves a marker. */
async function linkedRepo(): Promise<{ repo: string; marker: string }> {
  const root = tempDir('kaidu-link-');
  const repo = join(root, 'repo');
  const marker = join(root, 'PWNED');
  await mkdir(join(repo, 'services', 'files'), { recursive: true });
  await writeFile(join(root, 'outside.sh'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
  await writeFile(join(repo, 'kaidu.yaml'), 'branch: main\n');
  await writeFile(join(repo, '.gitignore'), '.kaidu/\n');
  await writeFile(join(repo, 'services', 'app.yaml'), service);
  await symlink(join(root, 'outside.sh'), join(repo, 'services', 'files', 'run.sh'));
  const git = (...args: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: repo });
  await git('init', '-q', '-b', 'main');
  await git('add', '.');
  await git('commit', '-q', '-m', 'linked script');
  return { repo, marker };
}

describe('symlinked artifacts', () => {
  it('are a located error when the repository is loaded, from a working tree and from git objects', async () => {
    const { repo } = await linkedRepo();
    const hub = await openHub({ url: repo, dataDir: tempDir('kaidu-link-data-'), branch: 'main' });
    const tip = await hub.resolve('main');
    for (const reader of [fsReader(repo), hub.reader(tip)]) {
      const loaded = await loadRepository(reader, { profiles });
      const d = loaded.diagnostics.filter((x) => x.code === 'E_REPO_SYMLINK');
      expect(d).toEqual([expect.objectContaining({ severity: 'error', file: 'services/app.yaml', line: 5, column: 5, message: expect.stringContaining('services/files/run.sh is a symbolic link') })]);
      expect(loaded.fileIds['services/files/run.sh']).toBeUndefined();
    }
    // The agent reads artifacts from git objects: a link (mode 120000) is refused, not its text run.
    await expect(hub.readBlob(tip, 'services/files/run.sh')).rejects.toMatchObject({ code: 'E_REPO_SYMLINK' });
    expect(Buffer.from((await hub.readBlob(tip, 'services/app.yaml'))!).toString()).toContain('kaidu:Process');
  });

  it('kaidu apply from a checkout refuses the link and never runs what it points at; validate names the place', async () => {
    const { repo, marker } = await linkedRepo();
    const validate = await kaidu(['validate'], repo);
    expect(validate.code).toBe(1);
    expect(validate.stdout + validate.stderr).toContain('services/app.yaml:5:5: error E_REPO_SYMLINK');
    const applied = await kaidu(['apply', '--yes', '--host', 'local'], repo);
    expect(applied.code).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });

  it('the working-tree reader reads plain files only, inside the repository', async () => {
    const root = tempDir('kaidu-link-wt-');
    const repo = join(root, 'repo');
    await mkdir(join(repo, 'files'), { recursive: true });
    await mkdir(join(root, 'elsewhere'));
    await writeFile(join(root, 'elsewhere', 'secret.yaml'), 'password: hunter2\n');
    await writeFile(join(repo, 'files', 'ok.sh'), 'echo ok\n');
    await symlink(join(root, 'elsewhere'), join(repo, 'linked-dir'));
    await symlink(join(root, 'elsewhere', 'secret.yaml'), join(repo, 'secret.yaml'));
    expect((await readArtifact(repo, 'files/ok.sh'))!.toString()).toBe('echo ok\n');
    expect(await readArtifact(repo, 'files/missing.sh')).toBeUndefined();
    await expect(readArtifact(repo, 'secret.yaml')).rejects.toMatchObject({ code: 'E_REPO_SYMLINK' });
    await expect(readArtifact(repo, 'linked-dir/secret.yaml')).rejects.toMatchObject({ code: 'E_REPO_SYMLINK' });
    await expect(readArtifact(repo, '../elsewhere/secret.yaml')).rejects.toMatchObject({ code: 'E_PATH_CONFINED' });
    // templates: nothing outside the repository is read, through a link or through ".."
    const reader = fsReader(repo);
    expect(await reader.readFile('secret.yaml')).toBeUndefined();
    expect(await reader.readFile('linked-dir/secret.yaml')).toBeUndefined();
    expect(await reader.readFile('../elsewhere/secret.yaml')).toBeUndefined();
    expect((await reader.readFile('files/ok.sh'))?.text).toBe('echo ok\n');
    expect(await reader.isSymlink!('linked-dir/secret.yaml')).toBe(true);
    expect(await reader.isSymlink!('files/ok.sh')).toBe(false);
  });
});
