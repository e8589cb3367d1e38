import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kaidu } from '../support/run-cli.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'tosca');

interface JsonReport {
  ok: boolean;
  files: { file: string; errors: number; warnings: number }[];
  diagnostics: { severity: string; code: string; file: string; line: number; column: number; message: string }[];
}

describe('kaidu validate', () => {
  it('validates the repository it runs in (services/*.yaml), not its state/ files: exit 0', async () => {
    const r = await kaidu(['validate'], join(FIX, 'repo'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^ok: 1 file, 0 errors/m);
    expect(r.code).toBe(0);
  });

  it('prints file:line:col: error CODE: message and exits 1 on errors', async () => {
    const r = await kaidu(['validate', 'malformed/unknown-type.yaml'], FIX);
    expect(r.stdout).toContain('malformed/unknown-type.yaml:6:13: error E_TOSCA_UNKNOWN_TYPE: ');
    expect(r.stdout).toMatch(/^failed: 1 file, 1 error/m);
    expect(r.code).toBe(1);
  });

  it('--json: { ok, files, diagnostics }', async () => {
    const r = await kaidu(['validate', '--json', 'malformed/wrong-value-type.yaml', 'folder/good.yaml'], FIX);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.ok).toBe(false);
    expect(report.files).toEqual([
      { file: 'malformed/wrong-value-type.yaml', errors: 1, warnings: 0 },
      { file: 'folder/good.yaml', errors: 0, warnings: 0 },
    ]);
    expect(report.diagnostics).toEqual([expect.objectContaining({ severity: 'error', code: 'E_TOSCA_VALUE_TYPE', file: 'malformed/wrong-value-type.yaml', line: 9, column: 9 })]);
  });

  it('a plain folder: every *.yaml below it except under state/ (types-only files included)', async () => {
    const r = await kaidu(['validate', '--json', 'folder'], FIX);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.files.map((f) => f.file).sort()).toEqual(['folder/good.yaml', 'folder/nested/types.yaml']);
    expect(report.ok).toBe(true);
    expect(r.code).toBe(0);
  });

  it('a folder of repositories: each is validated as a repository (services_dir honoured)', async () => {
    const r = await kaidu(['validate', '--json', 'multi'], FIX);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.files.map((f) => f.file).sort()).toEqual(['multi/one/services/a.yaml', 'multi/two/svc/b.yaml']);
    // b.yaml's process has no command.
    expect(report.diagnostics.map((d) => [d.file, d.code, d.line])).toContainEqual(['multi/two/svc/b.yaml', 'E_TOSCA_REQUIRED_PROPERTY', 5]);
    expect(r.code).toBe(1);
  });

  it('--input values are read as YAML and coerced to the declared type', async () => {
    const ok = await kaidu(['validate', '--json', '--input', 'cache=1 GiB', '--input', 'replicas=3', 'services/web.yaml'], join(FIX, 'repo'));
    expect(JSON.parse(ok.stdout) as JsonReport).toMatchObject({ ok: true });
    expect(ok.code).toBe(0);
    const bad = await kaidu(['validate', '--input', 'cache=lots', 'services/web.yaml'], join(FIX, 'repo'));
    expect(bad.stdout).toContain('E_TOSCA_VALUE_TYPE');
    expect(bad.code).toBe(1);
    const invalid = await kaidu(['validate', '--input', 'replicas=0', 'services/web.yaml'], join(FIX, 'repo'));
    expect(invalid.stdout).toContain('E_TOSCA_VALIDATION');
    expect(invalid.code).toBe(1);
  });

  it('bad usage exits 2: a path that does not exist, an --input without =', async () => {
    const missing = await kaidu(['validate', 'no/such/file.yaml'], FIX);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file or folder');
    const badInput = await kaidu(['validate', '--input', 'novalue', 'folder/good.yaml'], FIX);
    expect(badInput.code).toBe(2);
    expect(badInput.stdout).toBe('');
  });
});
