/**
 * Start-up cost: a command loads only what it uses. The built CLI runs in a real child process with
 * a module hook that records every module it loads, so an eager import anywhere in the command
 * table shows up here (not as a timing, which would depend on the machine's speed).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

const BIN = fileURLToPath(new URL('../../bin/kaidu.js', import.meta.url));

/** Runs bin/kaidu.js with a loader hook; returns its output and the packages it loaded. */
async function loadedBy(args: string[], cwd: string): Promise<{ code: number; stdout: string; packages: Set<string> }> {
  const dir = tempDir('kaidu-startup-');
  const log = join(dir, 'modules.log');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(log)}, url + '\\n');
  return next(url, context);
}
`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify('file://' + hooks)});\n`);
  writeFileSync(log, '');
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve, reject) => {
    execFile(process.execPath, ['--import', register, BIN, ...args], { cwd }, (err, out) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, stdout: out });
    });
  });
  const { readFileSync } = await import('node:fs');
  const packages = new Set<string>();
  for (const url of readFileSync(log, 'utf8').split('\n')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) packages.add(m[1]!);
  }
  return { code, stdout, packages };
}

const HEAVY = ['fastify', 'isomorphic-git', 'pino', 'prom-client', 'chokidar', 'yaml'];

describe('start-up', () => {
  it('kaidu --version loads commander and nothing heavy', async () => {
    const run = await loadedBy(['--version'], tempDir('kaidu-startup-cwd-'));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+/);
    expect(run.packages.has('commander')).toBe(true);
    for (const p of HEAVY) expect(run.packages.has(p), p).toBe(false);
  });

  it('kaidu --help still lists every command', async () => {
    const run = await loadedBy(['--help'], tempDir('kaidu-startup-cwd-'));
    expect(run.code).toBe(0);
    for (const c of ['validate', 'graph', 'plan', 'apply', 'agent', 'status', 'demo', 'init', 'pr-comment', 'trigger', 'notify']) {
      expect(run.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    }
    for (const p of HEAVY) expect(run.packages.has(p), p).toBe(false);
  });

  it('kaidu validate loads yaml but not the agent, git or HTTP stacks', async () => {
    const dir = tempDir('kaidu-startup-cwd-');
    writeFileSync(join(dir, 'one.yaml'), 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    n0:\n      type: tosca.nodes.Compute\n');
    const run = await loadedBy(['validate', 'one.yaml'], dir);
    expect(run.stdout).toContain('ok: 1 file, 0 errors');
    expect(run.code).toBe(0);
    expect(run.packages.has('yaml')).toBe(true);
    for (const p of ['fastify', 'isomorphic-git', 'pino', 'prom-client', 'chokidar']) expect(run.packages.has(p), p).toBe(false);
  });
});
