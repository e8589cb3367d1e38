/**
 * `kaidu validate` ends its process as soon as its report is flushed (bin/kaidu.js, issue 16): a
 * report larger than a pipe holds, read slowly, arrives whole, on stdout and on stderr, with its
 * exit code. Real child processes of the built CLI.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../support/run-bin.js';
import { tempDir } from '../support/temp-dir.js';

const NODES = 4000;

/** Runs the CLI with both pipes left unread until the child has written more than they hold. */
function slowlyRead(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, KAIDU_NO_BUNDLE: '', KAIDU_VALIDATE_CODE_CACHE: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.pause();
    child.stderr.pause();
    // Resumed once the child had time to fill both pipes: a writer that exits before its data is
    // taken loses what is left in its own buffers.
    setTimeout(() => {
      child.stdout.on('data', (b: Buffer) => out.push(b)).resume();
      child.stderr.on('data', (b: Buffer) => err.push(b)).resume();
    }, 500);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

describe('validate exits once its report is written', () => {
  const dir = tempDir('kaidu-validate-exit-');
  // One error per node (an unknown type): a report of several hundred KB.
  const lines = ['tosca_definitions_version: tosca_simple_yaml_1_3', 'topology_template:', '  node_templates:'];
  for (let i = 0; i < NODES; i++) lines.push(`    n${i}:`, `      type: no.such.Type${i % 7}`);
  writeFileSync(join(dir, 'bad.yaml'), lines.join('\n') + '\n');

  for (const [how, env] of [['code-cached build', {}], ['ESM bundle', { KAIDU_VALIDATE_CODE_CACHE: 'off' }], ['dist/', { KAIDU_NO_BUNDLE: '1' }]] as const) {
    it(`from the ${how}: the whole report on stdout, exit code 1`, async () => {
      const r = await slowlyRead(['validate', 'bad.yaml'], dir, env);
      const errors = r.stdout.split('\n').filter((l) => l.includes('E_TOSCA_UNKNOWN_TYPE'));
      expect(r.stdout.length).toBeGreaterThan(256 * 1024);
      expect(errors).toHaveLength(NODES);
      expect(r.stdout.endsWith(`failed: 1 file, ${NODES} errors, 0 warnings\n`)).toBe(true);
      expect(r.code).toBe(1);
    });
  }

  it('the JSON report is whole and parses; stderr (cache stats) arrives too', async () => {
    const r = await slowlyRead(['validate', '--json', 'bad.yaml'], dir, { KAIDU_CACHE_STATS: '1' });
    const report = JSON.parse(r.stdout) as { ok: boolean; diagnostics: unknown[] };
    expect(report.ok).toBe(false);
    expect(report.diagnostics).toHaveLength(NODES);
    expect(r.stderr).toMatch(/kaidu: validate code cache: used\n/);
    expect(r.stderr).toMatch(/kaidu: profiles: .*\n$/);
    expect(r.code).toBe(1);
  });
});
