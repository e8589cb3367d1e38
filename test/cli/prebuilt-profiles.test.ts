/**
 * The built CLI's prebuilt profile readings (dist/bundle/profile-records.bin, src/cli/profile-records.ts):
 * the bundle uses them, and a damaged, missing or switched-off store gives exactly the output of
 * reading the YAML. Real child processes of bin/kaidu.js.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ROOT, runBin, type BinRun } from '../support/run-bin.js';
import { tempDir } from '../support/temp-dir.js';

const STORE = join(ROOT, 'dist', 'bundle', 'profile-records.bin');

function kaidu(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<BinRun> {
  return runBin(args, cwd, { KAIDU_NO_BUNDLE: '', KAIDU_PROFILE_RECORDS: '', KAIDU_CACHE_STATS: '1', ...env });
}

const stats = (r: BinRun) => /kaidu: profiles: (.*)/.exec(r.stderr)?.[1];

/** Where the bytes of a file's entry lie in the store (found by content, as the serializer lays strings out as it likes). */
function entryOffset(store: Uint8Array, path: string): number {
  const entry = (deserialize(store) as { tosca: Record<string, { bytes: Uint8Array }> }).tosca[path]!.bytes;
  return Buffer.from(store).indexOf(Buffer.from(entry.subarray(200, 264))) + 20;
}

describe('prebuilt profile readings in the built CLI', () => {
  const dir = tempDir('kaidu-prebuilt-');
  // A 1.3 file with an error and a warning, a 2.0 file using Kaidu's types wrongly: positions in profiles matter.
  writeFileSync(join(dir, 'a.yaml'), 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    c:\n      type: tosca.nodes.Compute\n      capabilities:\n        host:\n          properties: { num_cpus: many, mem_size: 2 GB }\n    d: { type: tosca.nodes.BlockStorage }\n');
  writeFileSync(join(dir, 'b.yaml'), 'tosca_definitions_version: tosca_2_0\nservice_template:\n  node_templates:\n    h: { type: kaidu:Host }\n    p:\n      type: kaidu:Process\n      properties: { command: 7 }\n      requirements: [ { host: h } ]\n');
  const args = ['validate', '--json', 'a.yaml', 'b.yaml'];

  it('the bundle reads the profiles from the store; dist/ and KAIDU_PROFILE_RECORDS=off from YAML; same output', async () => {
    const used = await kaidu(args, dir, {});
    expect(stats(used)).toBe('7 files from the prebuilt store, 0 read from YAML');
    const report = JSON.parse(used.stdout) as { diagnostics: Array<{ severity: string }> };
    expect(report.diagnostics.filter((d) => d.severity === 'error').length).toBeGreaterThanOrEqual(2);
    const off = await kaidu(args, dir, { KAIDU_PROFILE_RECORDS: 'off' });
    expect(stats(off)).toBe('no prebuilt store, read from YAML');
    const dist = await kaidu(args, dir, { KAIDU_NO_BUNDLE: '1' });
    expect(stats(dist)).toBe('no prebuilt store, read from YAML');
    for (const r of [off, dist]) expect({ code: r.code, stdout: r.stdout }).toEqual({ code: used.code, stdout: used.stdout });
  });

  it('a damaged or missing store is not trusted, and changes nothing in the output', async () => {
    const expected = await kaidu(args, dir, { KAIDU_PROFILE_RECORDS: 'off' });
    const bytes = readFileSync(STORE);
    const damaged = join(dir, 'damaged.bin');
    const b = Buffer.from(bytes);
    // Inside the 1.3 normative types' entry: that file (used by both compiles) is then read from YAML.
    const at = entryOffset(b, 'tosca-simple-1.3/normative.yaml');
    b[at] = b[at]! ^ 0x01;
    writeFileSync(damaged, b);
    const truncated = join(dir, 'truncated.bin');
    writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
    for (const [file, want] of [
      [damaged, '5 files from the prebuilt store, 2 read from YAML'],
      [truncated, 'no prebuilt store, read from YAML'],
      [join(dir, 'missing.bin'), 'no prebuilt store, read from YAML'],
    ] as const) {
      const r = await kaidu(args, dir, { KAIDU_PROFILE_RECORDS: file });
      expect(stats(r), file).toBe(want);
      expect({ code: r.code, stdout: r.stdout }, file).toEqual({ code: expected.code, stdout: expected.stdout });
    }
  });
});
