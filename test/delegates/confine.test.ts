import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFileDelegate, DirectoryDelegate, ProcessDelegate, ScriptDelegate, SystemCommandRunner } from '../../src/delegates/index.js';
import { dataPath } from '../../src/delegates/data-dir.js';
import { processPaths } from '../../src/delegates/process.js';
import { context, desired, stateOf } from '../support/delegate-context.js';
import { tempDir } from '../support/temp-dir.js';

/** A data dir with a git mirror in it, inside a folder that holds nothing else. */
async function agentDir(): Promise<{ root: string; dataDir: string; mirror: string }> {
  const root = tempDir('kaidu-confine-');
  const dataDir = join(root, 'data');
  const mirror = join(dataDir, 'hub.git');
  await mkdir(mirror, { recursive: true });
  await writeFile(join(mirror, 'config'), '[core]\n\tbare = true\n');
  return { root, dataDir, mirror };
}

describe('paths under the data dir', () => {
  it('are built from plain names only, and never leave it', () => {
    expect(dataPath('/d', 'run', 'svc', 'web.pid')).toBe('/d/run/svc/web.pid');
    for (const bad of ['..', '.', '', 'a/b', 'a\\b', '.hidden', 'x\n']) expect(() => dataPath('/d', 'run', bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'E_PATH_CONFINED' }));
  });

  it('a spread instance and a template whose name looks like it never share a place', () => {
    const instance = processPaths('/d', 'svc', 'web#0');
    const template = processPaths('/d', 'svc', 'web_0');
    expect(instance.pidFile).toBe('/d/run/svc/web@0.pid');
    expect(template.pidFile).toBe('/d/run/svc/web_0.pid');
    expect(processPaths('/d', 'svc', '燈').workDir).toBe('/d/work/svc/燈');
  });

  it('a service ".." or a node ".." cannot start a process outside its place', async () => {
    const { root, dataDir } = await agentDir();
    const d = new ProcessDelegate({ dataDir, runner: new SystemCommandRunner() });
    for (const [service, key] of [['..', 'web'], ['svc', '..'], ['..', '..']]) {
      const node = desired('kaidu:Process', { command: ['sleep', '30'] }, { id: `${service}/${key}`, service, key, name: key });
      await expect(d.create(context(dataDir, node))).rejects.toMatchObject({ code: 'E_PATH_CONFINED' });
    }
    // nothing was written beside the data dir, nor in its root
    expect((await readdir(root)).sort()).toEqual(['data']);
    expect((await readdir(dataDir)).sort()).toEqual(['hub.git']);
  });

  it('deleting a scripted service ".." / node ".." cannot remove the data dir or the git mirror', async () => {
    const { dataDir, mirror } = await agentDir();
    const iface = { Standard: { type: 'tosca:Standard', types: ['tosca:Standard'], inputs: {}, operations: { delete: { implementation: 'files/rm.sh', dependencies: [], inputs: {}, outputs: {} } } } };
    const d = new ScriptDelegate(undefined);
    for (const [service, key] of [['..', '..'], ['svc', '..']]) {
      const node = desired('tosca:Root', {}, { id: `${service}/${key}`, service, key, name: key, interfaces: iface });
      await expect(d.delete(context(dataDir, node, { files: { 'files/rm.sh': '#!/bin/sh\nexit 0\n' }, previous: stateOf('tosca:Root', {}, {}) }))).rejects.toMatchObject({ code: 'E_PATH_CONFINED' });
    }
    expect(await readFile(join(mirror, 'config'), 'utf8')).toContain('bare = true');
  });
});

describe('Directory and ConfigFile stay out of the agent\'s own folders', () => {
  it('a Directory with purge in the data dir is refused on create and delete; nothing is removed', async () => {
    const { dataDir, mirror } = await agentDir();
    const d = new DirectoryDelegate();
    for (const path of [dataDir, mirror, join(dataDir, 'logs'), join(dataDir, 'x', '..', 'hub.git')]) {
      const props = { path, purge: true };
      await expect(d.create(context(dataDir, desired('kaidu:Directory', props)))).rejects.toMatchObject({ code: 'E_PATH_CONFINED', message: expect.stringContaining("inside the agent's own data directory") });
      await expect(d.delete(context(dataDir, desired('kaidu:Directory', props), { previous: stateOf('kaidu:Directory', props, { path }) }))).rejects.toMatchObject({ code: 'E_PATH_CONFINED' });
    }
    expect((await stat(join(mirror, 'config'))).isFile()).toBe(true);
  });

  it('a path that reaches the data dir through a symlink is refused too', async () => {
    const { root, dataDir, mirror } = await agentDir();
    await symlink(dataDir, join(root, 'innocent'));
    const props = { path: join(root, 'innocent', 'hub.git'), purge: true };
    await expect(new DirectoryDelegate().delete(context(dataDir, desired('kaidu:Directory', props), { previous: stateOf('kaidu:Directory', props, {}) }))).rejects.toMatchObject({ code: 'E_PATH_CONFINED', message: expect.stringContaining(`really ${mirror}`) });
    const conf = { path: join(root, 'innocent', 'hub.git', 'config'), template: 't', variables: {} };
    await expect(new ConfigFileDelegate().create(context(dataDir, desired('kaidu:ConfigFile', conf), { files: { t: 'x' } }))).rejects.toMatchObject({ code: 'E_PATH_CONFINED' });
    expect(await readFile(join(mirror, 'config'), 'utf8')).toContain('bare = true');
  });

  it('relative paths are refused (they would depend on the agent\'s working directory)', async () => {
    const { dataDir } = await agentDir();
    await expect(new DirectoryDelegate().create(context(dataDir, desired('kaidu:Directory', { path: 'srv/data' })))).rejects.toMatchObject({ code: 'E_PATH_CONFINED', message: expect.stringContaining('must be an absolute path') });
    await expect(new ConfigFileDelegate().create(context(dataDir, desired('kaidu:ConfigFile', { path: 'app.conf', template: 't' }), { files: { t: 'x' } }))).rejects.toMatchObject({ code: 'E_PATH_CONFINED' });
  });

  it('a ConfigFile at <data-dir>/hub.git/config, or in a local hub\'s git dir, is refused and the file stays', async () => {
    const { root, dataDir, mirror } = await agentDir();
    const d = new ConfigFileDelegate();
    const props = { path: join(mirror, 'config'), template: 't', variables: {} };
    await expect(d.create(context(dataDir, desired('kaidu:ConfigFile', props), { files: { t: 'garbage' } }))).rejects.toMatchObject({ code: 'E_PATH_CONFINED' });
    expect(await readFile(join(mirror, 'config'), 'utf8')).toContain('bare = true');
    const localHub = join(root, 'repo', '.git');
    await mkdir(localHub, { recursive: true });
    const ctx = { ...context(dataDir, desired('kaidu:ConfigFile', { ...props, path: join(localHub, 'config') }), { files: { t: 'garbage' } }), protectedPaths: [localHub] };
    await expect(d.create(ctx)).rejects.toMatchObject({ code: 'E_PATH_CONFINED', message: expect.stringContaining("agent's own git directory") });
    // a state file (anyone who can push can edit it) naming a path in the data dir deletes nothing
    await expect(d.delete(context(dataDir, desired('kaidu:ConfigFile', props), { previous: stateOf('kaidu:ConfigFile', props, { path: join(mirror, 'config') }) }))).rejects.toMatchObject({ code: 'E_PATH_CONFINED' });
    expect(await readFile(join(mirror, 'config'), 'utf8')).toContain('bare = true');
  });
});
