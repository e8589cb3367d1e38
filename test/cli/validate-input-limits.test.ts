import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-code.js';
import { gitBlobId } from '../../src/cli/blob-ids.js';
import { fsReader } from '../../src/cli/fs-reader.js';
import type { Diagnostic } from '../../src/tosca/diagnostic.js';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';
import { aliasBomb, deepDocument } from '../support/hostile-yaml.js';

const GOOD = 'tosca_definitions_version: tosca_2_0\n';

interface JsonReport {
  ok: boolean;
  files: { file: string; errors: number }[];
  diagnostics: Diagnostic[];
}

describe('kaidu validate on hostile input', () => {
  it('outside a repository, without paths: a usage error (exit 2), no walk of the folder', async () => {
    const dir = tempDir('kaidu-validate-');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'x.yaml'), 'not: [valid');
    const r = await kaidu(['validate'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not in a Kaidu repository');
    expect(r.stdout).toBe('');
  });

  it('inside a repository\'s subfolder, without paths: the repository', async () => {
    const dir = tempDir('kaidu-validate-');
    mkdirSync(join(dir, 'services'));
    writeFileSync(join(dir, 'kaidu.yaml'), 'branch: main\n');
    writeFileSync(join(dir, 'services', 'a.yaml'), `${GOOD}service_template:\n  node_templates:\n    local:\n      type: kaidu:Host\n`);
    const r = await kaidu(['validate', '--json'], join(dir, 'services'));
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as JsonReport).files.map((f) => f.file)).toEqual(['a.yaml']);
  });

  it('a state file over a YAML limit is the agents\' business: validate does not judge it', async () => {
    const dir = tempDir('kaidu-validate-');
    mkdirSync(join(dir, 'services'));
    mkdirSync(join(dir, 'state', 'local'), { recursive: true });
    writeFileSync(join(dir, 'kaidu.yaml'), 'branch: main\n');
    writeFileSync(join(dir, 'services', 'a.yaml'), `${GOOD}service_template:\n  node_templates:\n    local:\n      type: kaidu:Host\n`);
    writeFileSync(join(dir, 'state', 'local', 'a.yaml'), aliasBomb(9, 6, 'schema: kaidu/state/v1\n'));
    const r = await kaidu(['validate'], dir);
    expect(r.stdout).toMatch(/^ok: 1 file, 0 errors/m);
    expect(r.code).toBe(0);
  });

  it('a folder with services/ and no kaidu.yaml (every setting is optional) is a repository', async () => {
    const dir = tempDir('kaidu-validate-');
    mkdirSync(join(dir, 'services'));
    writeFileSync(join(dir, 'services', 'a.yaml'), `${GOOD}service_template:\n  node_templates:\n    local:\n      type: kaidu:Host\n`);
    const r = await kaidu(['validate', '--json'], dir);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as JsonReport).files.map((f) => f.file)).toEqual(['services/a.yaml']);
  });

  it('a given folder: never node_modules, hidden folders or symbolic links', async () => {
    const dir = tempDir('kaidu-validate-');
    const outside = tempDir('kaidu-outside-');
    writeFileSync(join(outside, 'far.yaml'), 'x: [');
    for (const d of ['node_modules/pkg', '.cache', 'ok']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'pkg', 'x.yaml'), 'x: [');
    writeFileSync(join(dir, '.cache', 'x.yaml'), 'x: [');
    writeFileSync(join(dir, 'ok', 'good.yaml'), GOOD);
    symlinkSync(outside, join(dir, 'link'));
    symlinkSync(join(outside, 'far.yaml'), join(dir, 'ok', 'far.yaml'));
    const r = await kaidu(['validate', '--json', '.'], dir);
    expect((JSON.parse(r.stdout) as JsonReport).files.map((f) => f.file)).toEqual(['ok/good.yaml']);
    expect(r.code).toBe(0);
  });

  it('long work shows progress on stderr', async () => {
    const dir = tempDir('kaidu-validate-');
    for (let i = 0; i < 450; i++) writeFileSync(join(dir, `t${i}.yaml`), GOOD);
    const r = await kaidu(['validate', '.'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: 450 files/m);
    expect(r.stderr).toContain('validate: found 400 YAML files so far');
    expect(r.stderr).toContain('validate: 200/450 files checked');
    expect(r.stderr).toContain('validate: 450/450 files checked');
  });

  it('an alias bomb and 10,000 nested maps: located errors, exit 1', async () => {
    const dir = tempDir('kaidu-validate-');
    writeFileSync(join(dir, 'bomb.yaml'), aliasBomb(9, 6));
    writeFileSync(join(dir, 'deep.yaml'), deepDocument('flow-maps', 10_000));
    const r = await kaidu(['validate', 'bomb.yaml', 'deep.yaml'], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^bomb\.yaml:\d+:\d+: error E_YAML_ALIAS_LIMIT: /m);
    expect(r.stdout).toMatch(/^deep\.yaml:2:\d+: error E_YAML_TOO_DEEP: /m);
  });

  it('an --inputs file that is an alias bomb or broken YAML: a usage error naming the place', async () => {
    const dir = tempDir('kaidu-validate-');
    writeFileSync(join(dir, 'a.yaml'), GOOD);
    writeFileSync(join(dir, 'bomb.yaml'), aliasBomb(9, 6, ''));
    writeFileSync(join(dir, 'broken.yaml'), 'a: 1\nb: [\n');
    // (--inputs is read relative to the process's folder, not the test's cwd: absolute paths here)
    const bomb = await kaidu(['validate', '--inputs', join(dir, 'bomb.yaml'), 'a.yaml'], dir);
    expect(bomb.code).toBe(2);
    expect(bomb.stderr).toMatch(/inputs file .*bomb\.yaml:\d+:\d+: .*aliases/);
    const broken = await kaidu(['validate', '--inputs', join(dir, 'broken.yaml'), 'a.yaml'], dir);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/inputs file .*broken\.yaml:3:1: /);
  });
});

describe('exit codes of diagnostics', () => {
  const d = (code: string, severity: Diagnostic['severity'] = 'error'): Diagnostic => ({ severity, code, message: 'm', file: 'f', line: 1, column: 1 });
  it('a bug of ours (E_*_INTERNAL) is 70, as the README says; an input error 1; warnings 0', () => {
    expect(exitCodeFor([d('E_TOSCA_UNKNOWN_TYPE'), d('E_TOSCA_INTERNAL')])).toBe(70);
    expect(exitCodeFor([d('E_TOSCA_UNKNOWN_TYPE'), d('E_YAML_TOO_DEEP')])).toBe(1);
    expect(exitCodeFor([d('W_TOSCA_X', 'warning')])).toBe(0);
    expect(exitCodeFor([])).toBe(0);
  });
});

describe('reading a working tree: only "no such file" is absent', () => {
  it('a 1 GiB file is refused as too large without being read whole (it once read as "not found")', async () => {
    const dir = tempDir('kaidu-validate-');
    mkdirSync(join(dir, 'services'));
    writeFileSync(join(dir, 'services', 'a.yaml'), `${GOOD}imports:\n  - huge.yaml\nservice_template:\n  node_templates:\n    local:\n      type: kaidu:Host\n`);
    // Sparse: no disk used; read whole it would not even fit in one JavaScript string.
    writeFileSync(join(dir, 'services', 'huge.yaml'), '');
    truncateSync(join(dir, 'services', 'huge.yaml'), 1024 ** 3);
    const r = await kaidu(['validate', '--json'], dir);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.diagnostics.map((d) => d.code)).toContain('E_YAML_TOO_LARGE');
    expect(report.diagnostics.map((d) => d.code)).not.toContain('E_TOSCA_IMPORT_NOT_FOUND');
    expect(r.code).toBe(1);
  });

  it('a file that cannot be read (a link loop) is an error naming it, not a missing import', async () => {
    const dir = tempDir('kaidu-validate-');
    mkdirSync(join(dir, 'services'));
    writeFileSync(join(dir, 'services', 'a.yaml'), `${GOOD}imports:\n  - loop.yaml\nservice_template:\n  node_templates:\n    local:\n      type: kaidu:Host\n`);
    symlinkSync('loop.yaml', join(dir, 'services', 'loop.yaml'));
    const r = await kaidu(['validate', '--json'], dir);
    expect(r.stdout + r.stderr).toMatch(/cannot read services\/loop\.yaml/);
    expect(r.stdout + r.stderr).not.toMatch(/import not found/);
    // The input's problem, reported where it is imported: not a bug of Kaidu's (70).
    const read = (JSON.parse(r.stdout) as JsonReport).diagnostics.find((d) => d.code === 'E_TOSCA_READ');
    expect(read).toMatchObject({ file: 'services/a.yaml', line: 3, column: 5 });
    expect(r.code).toBe(1);
  });

  it('a folder where an import names a file is an error at the import (it read as "import not found")', async () => {
    const dir = tempDir('kaidu-validate-');
    mkdirSync(join(dir, 'services', 'types.yaml'), { recursive: true });
    writeFileSync(join(dir, 'services', 'a.yaml'), `${GOOD}imports:\n  - types.yaml\nservice_template:\n  node_templates:\n    local:\n      type: kaidu:Host\n`);
    const r = await kaidu(['validate', '--json'], dir);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.diagnostics).toEqual([expect.objectContaining({ code: 'E_TOSCA_READ', message: 'cannot read services/types.yaml: it is not a regular file but a folder', file: 'services/a.yaml', line: 3, column: 5 })]);
    expect(r.code).toBe(1);
  });

  it('a named pipe given as the template is refused at once (opening it waited for a writer forever)', async () => {
    const dir = tempDir('kaidu-validate-');
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    const r = await kaidu(['validate', '--json', 'pipe.yaml'], dir);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.diagnostics).toEqual([expect.objectContaining({ code: 'E_TOSCA_READ', message: 'cannot read pipe.yaml: it is not a regular file but a named pipe', file: 'pipe.yaml', line: 1, column: 1 })]);
    expect(r.code).toBe(1);
  });

  it('a file bigger than one read call is read whole, byte for byte', async () => {
    const dir = tempDir('kaidu-validate-');
    // 3 MiB: several of the promise API's 512 KiB chunks; one buffer and read calls until the end.
    const lines = [GOOD, 'service_template:\n  node_templates:\n'];
    for (let i = 0, size = 0; size < 3 * 1024 * 1024; i++) size += lines[lines.push(`    host-${i}:\n      type: kaidu:Host\n`) - 1]!.length;
    const text = lines.join('');
    writeFileSync(join(dir, 'big.yaml'), text);
    const file = await fsReader(dir, { confined: false }).readFile('big.yaml');
    expect(file?.text).toBe(text);
    expect(file?.id).toBe(gitBlobId(Buffer.from(text)));
  });
});
