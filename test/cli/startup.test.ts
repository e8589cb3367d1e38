/**
 * Start-up cost: a command loads only what it uses. The built CLI runs in a real child process with
 * a module hook that records every module it loads, so an eager import anywhere in the command
 * table shows up here (not as a timing, which would depend on the machine's speed). bin/kaidu.js
 * runs the bundle (dist/bundle/, scripts/bundle.mjs) when the build made one: a chunk stands for
 * the packages esbuild put in it (its metafile), so laziness is checked in the bundle as well as
 * in dist/ (KAIDU_NO_BUNDLE=1).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

const BIN = fileURLToPath(new URL('../../bin/kaidu.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../dist/bundle/', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

/** The package a node_modules path belongs to, if it is one. */
function packageOf(path: string): string | undefined {
  return /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];
}

/** For each bundle chunk (by file name), the packages esbuild put in it. */
function chunkPackages(): Map<string, Set<string>> {
  const meta = JSON.parse(readFileSync(join(BUNDLE, 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const out = new Map<string, Set<string>>();
  for (const [file, o] of Object.entries(meta.outputs)) {
    const pkgs = new Set<string>();
    for (const input of Object.keys(o.inputs)) {
      const p = packageOf(input);
      if (p) pkgs.add(p);
    }
    out.set(file.split('/').pop()!, pkgs);
  }
  return out;
}

/** For each bundle chunk (by file name), our modules (dist/ paths) esbuild put in it. */
function chunkInputs(): Map<string, string[]> {
  const meta = JSON.parse(readFileSync(join(BUNDLE, 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  return new Map(Object.entries(meta.outputs).map(([file, o]) => [file.split('/').pop()!, Object.keys(o.inputs).filter((i) => i.startsWith('dist/'))]));
}

/** Runs bin/kaidu.js with a loader hook; returns its output, the packages it loaded and whether it ran the bundle. */
async function loadedBy(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; packages: Set<string>; modules: Set<string>; bundled: boolean }> {
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
    execFile(process.execPath, ['--import', register, BIN, ...args], { cwd, env: { ...process.env, ...env } }, (err, out) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, stdout: out });
    });
  });
  const packages = new Set<string>();
  /** Our modules that ran (dist/ paths, also for the bundle: its chunks' inputs), and the node: built-ins imported. */
  const modules = new Set<string>();
  let bundled = false;
  const chunks = existsSync(join(BUNDLE, 'meta.json')) ? chunkPackages() : undefined;
  const inputs = existsSync(join(BUNDLE, 'meta.json')) ? chunkInputs() : undefined;
  for (const url of readFileSync(log, 'utf8').split('\n')) {
    if (url.startsWith('node:')) modules.add(url);
    if (!url.startsWith('file:')) continue;
    const path = fileURLToPath(url);
    const p = packageOf(path);
    if (p) packages.add(p);
    if (path.startsWith(BUNDLE)) {
      bundled = true;
      const inChunk = chunks?.get(path.slice(BUNDLE.length));
      // A chunk the metafile does not know is a stale bundle: the test cannot say what it holds.
      expect(inChunk, `${path} in dist/bundle/meta.json`).toBeDefined();
      for (const q of inChunk!) packages.add(q);
      for (const m of inputs?.get(path.slice(BUNDLE.length)) ?? []) modules.add(m);
    } else if (path.startsWith(DIST)) modules.add(`dist/${path.slice(DIST.length)}`);
  }
  return { code, stdout, packages, modules, bundled };
}

const HEAVY = ['fastify', 'isomorphic-git', 'pino', 'prom-client', 'chokidar', 'yaml'];

describe.each([
  ['the bundle', {}, true],
  ['dist/ (KAIDU_NO_BUNDLE=1)', { KAIDU_NO_BUNDLE: '1' }, false],
] as const)('start-up from %s', (_name, env, bundled) => {
  it('runs what it says it runs', async () => {
    // The build (npm run build, pretest) makes the bundle; without it this case has nothing to check.
    expect(existsSync(join(BUNDLE, 'main.js'))).toBe(true);
    const run = await loadedBy(['--version'], tempDir('kaidu-startup-cwd-'), env);
    expect(run.bundled).toBe(bundled);
  });

  it('kaidu --version loads commander and nothing heavy', async () => {
    const run = await loadedBy(['--version'], tempDir('kaidu-startup-cwd-'), env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+/);
    expect(run.packages.has('commander')).toBe(true);
    for (const p of HEAVY) expect(run.packages.has(p), p).toBe(false);
  });

  it('kaidu --help still lists every command', async () => {
    const run = await loadedBy(['--help'], tempDir('kaidu-startup-cwd-'), env);
    expect(run.code).toBe(0);
    for (const c of ['validate', 'graph', 'plan', 'apply', 'agent', 'status', 'demo', 'init', 'pr-comment', 'trigger', 'notify']) {
      expect(run.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    }
    for (const p of HEAVY) expect(run.packages.has(p), p).toBe(false);
  });

  it('kaidu validate loads yaml but not the agent, git or HTTP stacks', async () => {
    const dir = tempDir('kaidu-startup-cwd-');
    writeFileSync(join(dir, 'one.yaml'), 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    n0:\n      type: tosca.nodes.Compute\n');
    // The ESM bundle's validate; the code-cached one is checked below.
    const run = await loadedBy(['validate', 'one.yaml'], dir, { KAIDU_VALIDATE_CODE_CACHE: 'off', ...env });
    expect(run.stdout).toContain('ok: 1 file, 0 errors');
    expect(run.code).toBe(0);
    expect(run.packages.has('yaml')).toBe(true);
    for (const p of ['fastify', 'isomorphic-git', 'pino', 'prom-client', 'chokidar']) expect(run.packages.has(p), p).toBe(false);
    // Files named alone need the compiler only: not the repository loader (topology, plans, state),
    // and nothing that imports node:crypto (its loading alone costs more than a small compile).
    expect(run.modules.has('dist/tosca/compile.js')).toBe(true);
    for (const m of run.modules) expect(m, m).not.toMatch(/^dist\/(repository|topology|plan|state)\/|^node:crypto$/);
  });
});

describe('start-up of the code-cached validate build (dist/bundle/validate.cjs)', () => {
  /** The packages esbuild put in the validate build, from its metafile. */
  function validateBuildPackages(): Set<string> {
    const meta = JSON.parse(readFileSync(join(BUNDLE, 'validate-meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    return new Set(Object.keys(meta.inputs).map(packageOf).filter((p): p is string => p !== undefined));
  }

  it('holds the compiler and yaml, not the agent, git or HTTP stacks', () => {
    const packages = validateBuildPackages();
    expect(packages.has('yaml')).toBe(true);
    expect(packages.has('commander')).toBe(true);
    for (const p of ['fastify', 'isomorphic-git', 'pino', 'prom-client', 'chokidar']) expect(packages.has(p), p).toBe(false);
  });

  it('a validate of a named file runs it, with no ES module of ours, no node:crypto, child_process or fs streams', async () => {
    const dir = tempDir('kaidu-startup-cwd-');
    writeFileSync(join(dir, 'one.yaml'), 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    n0:\n      type: tosca.nodes.Compute\n');
    // Node's own list of the built-ins it loaded, written when the process ends.
    const list = join(dir, 'builtins.txt');
    const preload = join(dir, 'builtins.cjs');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
    const run = await loadedBy(['validate', 'one.yaml'], dir, { NODE_OPTIONS: `--require ${preload}`, KAIDU_NO_BUNDLE: '', KAIDU_VALIDATE_CODE_CACHE: '' });
    expect(run.stdout).toContain('ok: 1 file, 0 errors');
    expect(run.code).toBe(0);
    // Nothing of ours came through the ES module loader: the whole command ran from validate.cjs.
    expect(run.bundled).toBe(false);
    expect([...run.modules].filter((m) => m.startsWith('dist/'))).toEqual([]);
    const builtins = readFileSync(list, 'utf8').split('\n');
    expect(builtins).toContain('NativeModule vm');
    for (const m of ['NativeModule crypto', 'NativeModule child_process', 'NativeModule internal/fs/streams']) expect(builtins, m).not.toContain(m);
  });
});

describe('bin/kaidu.js picks its entry', () => {
  /** A package folder with bin/kaidu.js and stand-ins for dist/ and the bundle that say which ran. */
  function fakePackage(bundleAge: 'newer' | 'older' | 'none'): string {
    const root = tempDir('kaidu-launcher-');
    mkdirSync(join(root, 'bin'));
    copyFileSync(BIN, join(root, 'bin', 'kaidu.js'));
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(root, 'dist', 'cli', 'main.js'), "export async function main() { process.stdout.write('dist\\n'); return 0; }\n");
    if (bundleAge !== 'none') {
      mkdirSync(join(root, 'dist', 'bundle'));
      writeFileSync(join(root, 'dist', 'bundle', 'main.js'), "export async function main() { process.stdout.write('bundle\\n'); return 0; }\n");
      // A `tsc` after the last bundle leaves dist/ newer: that bundle is stale and must not run.
      const [older, newer] = [new Date(Date.now() - 60_000), new Date()];
      utimesSync(join(root, 'dist', 'bundle', 'main.js'), bundleAge === 'newer' ? newer : older, bundleAge === 'newer' ? newer : older);
      utimesSync(join(root, 'dist', 'cli', 'main.js'), bundleAge === 'newer' ? older : newer, bundleAge === 'newer' ? older : newer);
    }
    return root;
  }

  const run = (root: string, env: NodeJS.ProcessEnv = {}) =>
    new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [join(root, 'bin', 'kaidu.js')], { env: { ...process.env, KAIDU_NO_BUNDLE: '', ...env } }, (err, out) => (err ? reject(err) : resolve(out.trim())));
    });

  it('runs a bundle at least as new as dist/', async () => {
    expect(await run(fakePackage('newer'))).toBe('bundle');
  });
  it('ignores a bundle older than dist/ (stale), and a missing one', async () => {
    expect(await run(fakePackage('older'))).toBe('dist');
    expect(await run(fakePackage('none'))).toBe('dist');
  });
  it('every command runs the bundle, the agent too (not only the read-only ones)', async () => {
    const root = fakePackage('newer');
    const runArgs = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [join(root, 'bin', 'kaidu.js'), ...args], { env: { ...process.env, KAIDU_NO_BUNDLE: '' } }, (err, out) => (err ? reject(err) : resolve(out.trim())));
      });
    for (const command of ['validate', 'graph', 'plan', 'apply', 'status', 'demo', 'init', 'ui', 'agent']) expect(await runArgs([command]), command).toBe('bundle');
  });
  it('KAIDU_NO_BUNDLE=1 runs dist/', async () => {
    expect(await run(fakePackage('newer'), { KAIDU_NO_BUNDLE: '1' })).toBe('dist');
  });
});
