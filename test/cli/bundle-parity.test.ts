/**
 * bin/kaidu.js runs every command from the esbuild bundle (dist/bundle/, scripts/bundle.mjs) when the
 * build made one. The bundle must say exactly what dist/ says: the same output and exit code for
 * `validate` over the examples, the test fixtures and the shared conformance corpus (every file,
 * with its errors; validate also from the ESM bundle, not only from its code-cached build), for
 * `graph`, and for `plan` of a repository. Real child processes of the built CLI.
 */
import { cpSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runBin, type BinRun } from '../support/run-bin.js';
import { tempDir } from '../support/temp-dir.js';

const CONFORMANCE = join(ROOT, '..', 'shared', 'conformance');

function kaidu(args: string[], cwd: string, bundle: boolean): Promise<BinRun> {
  return runBin(args, cwd, { KAIDU_NO_BUNDLE: bundle ? '' : '1' });
}

/** The same command from the bundle and from dist/: both results, the bundle's first. */
async function both(args: string[], cwd: string): Promise<[BinRun, BinRun]> {
  return [await kaidu(args, cwd, true), await kaidu(args, cwd, false)];
}

describe('the bundle and dist/ give the same results', () => {
  it('the build made a bundle the launcher runs (else this file would compare dist/ with itself)', () => {
    const bundle = join(ROOT, 'dist', 'bundle', 'main.js');
    expect(existsSync(bundle)).toBe(true);
    expect(statSync(bundle).mtimeMs).toBeGreaterThanOrEqual(statSync(join(ROOT, 'dist', 'cli', 'main.js')).mtimeMs);
  });

  const corpora: Array<[string, string]> = [
    ['examples', join(ROOT, 'examples')],
    ['test fixtures', join(ROOT, 'test', 'fixtures')],
    ...(existsSync(CONFORMANCE) ? [['the conformance corpus', CONFORMANCE] as [string, string]] : []),
  ];
  it.each(corpora)('validate --json of %s', async (_name, dir) => {
    const [bundled, compiled] = await both(['validate', '--json', '.'], dir);
    expect(bundled.stderr).not.toMatch(/internal error|^\s+at /m);
    const report = JSON.parse(bundled.stdout) as { files: unknown[]; diagnostics: unknown[] };
    // Something was validated, problems included: the comparison is not of two empty reports.
    expect(report.files.length).toBeGreaterThan(0);
    expect(bundled).toEqual(compiled);
    // `bundled` ran the code-cached validate build (validate.cjs); the ESM bundle says the same.
    expect(await runBin(['validate', '--json', '.'], dir, { KAIDU_NO_BUNDLE: '', KAIDU_VALIDATE_CODE_CACHE: 'off' })).toEqual(compiled);
  });

  it('validate (text) of the conformance corpus and the fixtures, problems and all', async () => {
    const dirs = [join(ROOT, 'test', 'fixtures'), ...(existsSync(CONFORMANCE) ? [CONFORMANCE] : [])];
    const [bundled, compiled] = await both(['validate', ...dirs], ROOT);
    expect(bundled.code).toBe(1);
    expect(bundled.stdout).toMatch(/^failed: \d+ files, [1-9]\d* errors/m);
    expect(bundled).toEqual(compiled);
  });

  it('a warning of the yaml library reads as in dist/ (the bundle takes its ES module build, warning through process.emitWarning)', async () => {
    const dir = tempDir('kaidu-bundle-parity-warn-');
    // A map with a collection as a key: the library warns when it turns it into a plain object.
    writeFileSync(join(dir, 'w.yaml'), 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  inputs:\n    i:\n      type: map\n      default:\n        ? [a, b]\n        : x\n  node_templates:\n    c:\n      type: tosca.nodes.Compute\n');
    const [bundled, compiled] = await both(['validate', 'w.yaml'], dir);
    const esm = await runBin(['validate', 'w.yaml'], dir, { KAIDU_NO_BUNDLE: '', KAIDU_VALIDATE_CODE_CACHE: 'off' });
    const warning = /^\(node:\d+\) Warning: Keys with collection values will be stringified/m;
    for (const r of [bundled, compiled, esm]) {
      expect(r.stderr).toMatch(warning);
      expect({ ...r, stderr: r.stderr.replace(/\(node:\d+\)/g, '(node)') }).toEqual({ ...compiled, stderr: compiled.stderr.replace(/\(node:\d+\)/g, '(node)') });
    }
  });

  it('graph and plan --json of examples/web-db', async () => {
    const repo = tempDir('kaidu-bundle-parity-');
    cpSync(join(ROOT, 'examples', 'web-db'), repo, { recursive: true, filter: (src) => !src.includes('.kaidu') });
    for (const args of [['graph', '--format', 'text'], ['graph', '--format', 'mermaid'], ['plan', '--json']]) {
      const [bundled, compiled] = await both(args, repo);
      expect(bundled.code, args.join(' ')).toBe(0);
      expect(bundled.stdout.length, args.join(' ')).toBeGreaterThan(0);
      expect(bundled, args.join(' ')).toEqual(compiled);
    }
  });
});
