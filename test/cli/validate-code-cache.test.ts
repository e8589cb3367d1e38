/**
 * `kaidu validate` from the code-cached build (dist/bundle/validate.cjs + validate.cache, made by
 * scripts/bundle.mjs, loaded by bin/kaidu.js): it is used when it matches, and a damaged, truncated,
 * foreign, empty or missing cache changes nothing in what validate says (output, errors, exit code).
 * Real child processes of the built CLI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runBin, type BinRun } from '../support/run-bin.js';
import { tempDir } from '../support/temp-dir.js';

const CACHE = join(ROOT, 'dist', 'bundle', 'validate.cache');

function kaidu(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<BinRun> {
  return runBin(args, cwd, { KAIDU_NO_BUNDLE: '', KAIDU_PROFILE_RECORDS: '', KAIDU_VALIDATE_CODE_CACHE: '', KAIDU_CACHE_STATS: '1', ...env });
}

const cacheUse = (r: BinRun) => /kaidu: validate code cache: (.*)/.exec(r.stderr)?.[1];
/** What a user sees: stdout, exit code, and stderr but for the KAIDU_CACHE_STATS lines. */
const seen = (r: BinRun) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr.replace(/^kaidu: (validate code cache|profiles): .*\n/gm, '') });

describe('the code-cached validate build', () => {
  const dir = tempDir('kaidu-validate-cache-');
  // Errors and warnings with positions in the service and in the profiles, a 1.3 and a 2.0 file.
  writeFileSync(join(dir, 'a.yaml'), 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    c:\n      type: tosca.nodes.Compute\n      capabilities:\n        host:\n          properties: { num_cpus: many, mem_size: 2 GB }\n    d: { type: tosca.nodes.BlockStorage }\n');
  writeFileSync(join(dir, 'b.yaml'), 'tosca_definitions_version: tosca_2_0\nservice_template:\n  node_templates:\n    h: { type: kaidu:Host }\n    p:\n      type: kaidu:Process\n      properties: { command: 7 }\n      requirements: [ { host: h } ]\n');
  writeFileSync(join(dir, 'ok.yaml'), 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    n0:\n      type: tosca.nodes.Compute\n');
  const calls = [
    ['validate', '--json', 'a.yaml', 'b.yaml'],
    ['validate', 'a.yaml', 'b.yaml', 'ok.yaml'],
    ['validate', 'ok.yaml'],
    ['validate', 'missing.yaml'],
    ['validate', '--bogus', 'ok.yaml'],
    ['validate', '--help'],
    ['validate', '--input', 'x=1', '--json', 'ok.yaml'],
  ];

  it('is used by the bundle and says what the ESM bundle and dist/ say, errors and usage included', async () => {
    for (const args of calls) {
      const cached = await kaidu(args, dir);
      expect(cacheUse(cached), args.join(' ')).toBe('used');
      const esm = await kaidu(args, dir, { KAIDU_VALIDATE_CODE_CACHE: 'off' });
      expect(cacheUse(esm), args.join(' ')).toBeUndefined();
      const dist = await kaidu(args, dir, { KAIDU_NO_BUNDLE: '1' });
      expect(cacheUse(dist), args.join(' ')).toBeUndefined();
      expect(seen(esm), args.join(' ')).toEqual(seen(cached));
      expect(seen(dist), args.join(' ')).toEqual(seen(cached));
    }
    // The comparison is not of empty runs: errors with positions, and a usage error.
    const report = JSON.parse((await kaidu(calls[0]!, dir)).stdout) as { diagnostics: Array<{ severity: string; line: number }> };
    expect(report.diagnostics.filter((d) => d.severity === 'error').length).toBeGreaterThanOrEqual(2);
    expect((await kaidu(['validate', '--bogus', 'ok.yaml'], dir)).code).toBe(2);
  });

  it('other commands never use it', async () => {
    for (const args of [['--version'], ['--help'], ['graph', 'ok.yaml']]) expect(cacheUse(await kaidu(args, dir)), args.join(' ')).toBeUndefined();
  });

  it('a damaged, truncated, foreign, empty or missing cache is not trusted and changes nothing', async () => {
    const bytes = readFileSync(CACHE);
    const header = bytes.indexOf(0x0a) + 1;
    expect(bytes.subarray(0, header).toString()).toMatch(/^kaidu-validate-cache 1 [0-9a-f]{64} v\d+\.\d+\.\d+ \S+ --interrupt-budget=\d+ --semi-space-growth-factor=1 --max-inlined-bytecode-size-cumulative=100 --no-parallel-scavenge\n$/);
    const variants: Array<[string, Buffer, string]> = [];
    // One bit flipped at eight places through V8's part: each must be caught (V8's checksum).
    for (let i = 0; i < 8; i++) {
      const b = Buffer.from(bytes);
      const at = header + Math.floor(((b.length - header - 1) * i) / 7);
      b[at] = b[at]! ^ 0x10;
      variants.push([`damaged at ${at}`, b, 'rejected']);
    }
    variants.push(['truncated', bytes.subarray(0, header + ((bytes.length - header) >> 1)), 'rejected']);
    variants.push(['header only', bytes.subarray(0, header), 'foreign']);
    variants.push(['empty', Buffer.alloc(0), 'foreign']);
    // Made for another build of validate.cjs (its digest), another node, other launcher flags.
    const text = bytes.subarray(0, header).toString();
    for (const [name, other] of [
      ['another build', text.replace(/ [0-9a-f]{64} /, ` ${'0'.repeat(64)} `)],
      ['another node', text.replace(/ v\d+\.\d+\.\d+ /, ' v0.0.1 ')],
      ['other flags', text.replace(/--interrupt-budget=\d+/, '--interrupt-budget=1')],
    ] as const) {
      expect(other, name).not.toBe(text);
      variants.push([name, Buffer.concat([Buffer.from(other), bytes.subarray(header)]), 'foreign']);
    }
    const expected = await Promise.all(calls.slice(0, 3).map((args) => kaidu(args, dir, { KAIDU_VALIDATE_CODE_CACHE: 'off' })));
    const files = variants.map(([name, b], i) => {
      const file = join(dir, `cache-${i}.bin`);
      writeFileSync(file, b);
      return [name, file] as const;
    });
    files.push(['missing', join(dir, 'no-such.bin')] as const);
    const wants = [...variants.map((v) => v[2]), 'missing'];
    for (const [i, [name, file]] of files.entries()) {
      for (const [j, args] of calls.slice(0, 3).entries()) {
        const r = await kaidu(args, dir, { KAIDU_VALIDATE_CODE_CACHE: file });
        expect(cacheUse(r), `${name}: ${args.join(' ')}`).toBe(wants[i]);
        expect(seen(r), `${name}: ${args.join(' ')}`).toEqual(seen(expected[j]!));
      }
    }
  });
});
