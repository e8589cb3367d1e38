#!/usr/bin/env node
// `npm run build`'s second step: bundles the tsc output (dist/) into dist/bundle/ with esbuild, so
// that starting kaidu resolves and reads a few files instead of ~80 of ours and ~100 of yaml's
// (start-up is most of a small `validate`, issue 16). Code-split: each command's dynamic imports
// stay separate chunks, so a command still loads only what it uses. bin/kaidu.js runs the bundle
// when it is at least as new as dist/cli/main.js, and dist/ otherwise (a bare `tsc` leaves a stale
// bundle behind, which is then ignored). Without esbuild (a production install that compiled dist/
// through `prepare`) it removes the bundle and says so: dist/ alone is complete.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = join(dist, 'bundle');

// Packages whose files are found by path at run time (pino's transports start a worker from its
// own folder, cytoscape and ajv are resolved with createRequire), or that only long-running
// commands load (their start-up does not count): they stay in node_modules, loaded as before.
const EXTERNAL = ['pino', 'pino-*', 'thread-stream', 'fastify', '@fastify/*', 'prom-client', 'chokidar', 'ajv', 'ajv-*', 'cytoscape', 'playwright-core'];

/**
 * Our modules compute paths from `import.meta.url` (the package root, profiles/, templates/, ui/,
 * createRequire). In the bundle every module shares the chunk's URL, so each module's own is put
 * back: the URL its file has in dist/, relative to the bundle folder (which moves with the package).
 * `base` is the bundle folder's file's URL: the chunk's `import.meta.url`, or in the CommonJS
 * validate build the `__kaiduBundleUrl` bin/kaidu.js passes it.
 */
const ownUrl = (base) => ({
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist + sep) || args.path.startsWith(out + sep)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = relative(out, args.path).split(sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, ${base}).href`), loader: 'js', resolveDir: dirname(args.path) };
    });
  },
});

/**
 * commander requires node:child_process at load for executable sub-commands, which kaidu has none
 * of; loading it (with net, dgram, streams) cost a validate ~2-6 ms. In the validate build it is
 * required when first used instead.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (/[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'kaidu-lazy' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'kaidu-lazy' }, () => ({
      contents: "let loaded; module.exports = new Proxy({}, { get: (_, key) => (loaded ??= require('node:child_process'))[key] });",
      loader: 'js',
    }));
  },
};

/**
 * `yaml` from its ES module build (the one its package gives browsers; the same code), not its
 * CommonJS one: a CommonJS package in a bundle is reached through an object of getters, so every
 * `isMap(node)` of ours was a getter call first (~7 ms of a 10,000-node validate), and none of it
 * could be left out. The one difference, how a warning is given, is kept as in Node's build:
 * `process.emitWarning` (the browser build writes it with console.warn).
 */
const yamlAsModule = {
  name: 'yaml-as-module',
  setup(build) {
    const yamlRoot = dirname(createRequire(join(root, 'package.json')).resolve('yaml/package.json'));
    const browserDist = join(yamlRoot, 'browser', 'dist');
    build.onResolve({ filter: /^yaml$/ }, () => ({ path: join(browserDist, 'index.js') }));
    build.onLoad({ filter: /[\\/]log\.js$/ }, (args) =>
      args.path === join(browserDist, 'log.js')
        ? {
            contents: [
              'export function debug(logLevel, ...messages) { if (logLevel === "debug") console.log(...messages); }',
              'export function warn(logLevel, warning) {',
              '  if (logLevel !== "debug" && logLevel !== "warn") return;',
              '  if (typeof process.emitWarning === "function") process.emitWarning(warning);',
              '  else console.warn(warning);',
              '}',
            ].join('\n'),
            loader: 'js',
          }
        : undefined,
    );
  },
};

let esbuild;
try {
  esbuild = createRequire(join(root, 'package.json'))('esbuild');
} catch {
  rmSync(out, { recursive: true, force: true });
  console.log('kaidu: esbuild is not installed (a production install): no bundle, kaidu runs dist/ as compiled');
  process.exit(0);
}
if (!existsSync(join(dist, 'cli', 'main.js'))) {
  console.error('kaidu: dist/cli/main.js is missing: run tsc first (npm run build)');
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
const buildId = digestOfDist();
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { main: join(dist, 'cli', 'main.js') },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Not minified: stack traces keep our function names, and the source map (next to each chunk)
  // leads back to dist/ and, through tsc's maps, to src/ for `node --enable-source-maps`.
  sourcemap: 'linked',
  external: EXTERNAL,
  plugins: [ownUrl('import.meta.url'), yamlAsModule],
  metafile: true,
  // The id the profiles' prebuilt readings are stamped with (src/cli/profile-records.ts).
  define: { __KAIDU_BUILD__: JSON.stringify(buildId) },
  logLevel: 'warning',
  // CommonJS packages in an ESM bundle call require() for Node built-ins: give them one.
  banner: { js: "import { createRequire as __kaiduCreateRequire } from 'node:module'; const require = __kaiduCreateRequire(import.meta.url);" },
});
// Which source files went into which chunk: the start-up test reads it to tell what a command loaded.
writeFileSync(join(out, 'meta.json'), JSON.stringify(result.metafile));
console.log(`kaidu: bundled dist/ into dist/bundle/ (${Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).length} chunks)`);

// Kaidu's profiles read now, once, instead of on every run (issue 16): the store is used only by a
// bundle stamped with the same id, so it never outlives the code that wrote it.
const { buildRecordStore, recordStoreKey } = await import(pathToFileURL(join(dist, 'tosca', 'document', 'prebuilt-records.js')).href);
const { fsReader } = await import(pathToFileURL(join(dist, 'cli', 'fs-reader.js')).href);
const store = await buildRecordStore(fsReader(join(root, 'profiles')), recordStoreKey(buildId));
writeFileSync(join(out, 'profile-records.bin'), store.bytes);
console.log(`kaidu: prebuilt the readings of ${store.files.length} profile files${store.skipped.length ? `; read from YAML at run time: ${store.skipped.join('; ')}` : ''}`);

// `kaidu validate` code-cached (issue 16): the validate command alone as one CommonJS file, and V8's
// compiled code for it, made after a sample validate ran so the functions V8 compiled lazily are in
// it too (bin/kaidu.js loads both; without them, or when they do not match, it runs the ESM bundle).
// Its first line names a digest of the file, which keys the cache.
const VALIDATE_ID = '0'.repeat(64);
const validateBuild = await esbuild.build({
  absWorkingDir: root,
  entryPoints: [join(dist, 'cli', 'validate-main.js')],
  outfile: join(out, 'validate.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  external: EXTERNAL,
  plugins: [ownUrl('__kaiduBundleUrl'), lazyChildProcessForCommander, yamlAsModule],
  metafile: true,
  define: { __KAIDU_BUILD__: JSON.stringify(buildId) },
  logLevel: 'warning',
  // Wrapped as the function the launcher calls, on the banner's line (the source map's lines stay
  // right): the launcher compiles the file's text as it is read, where wrapping it there made V8
  // flatten a 0.5 MB concatenation first (another copy, ~130 fresh pages).
  banner: { js: `(function (exports, require, module, __filename, __dirname, __kaiduBundleUrl) {// kaidu-validate ${VALIDATE_ID}` },
  footer: { js: '\n})' },
  // Comments and indentation out (names kept): the launcher reads less, and the text is ASCII, so
  // it is read as latin1 into a one-byte string (a comment's non-ASCII character made the whole
  // file a two-byte string: ~8 ms more to read).
  minifyWhitespace: true,
  charset: 'ascii',
});
writeFileSync(join(out, 'validate-meta.json'), JSON.stringify(validateBuild.metafile));
const validateText = readFileSync(join(out, 'validate.cjs'), 'utf8');
if (!/^[\x00-\x7f]*$/.test(validateText)) {
  console.error('kaidu: dist/bundle/validate.cjs is not ASCII: bin/kaidu.js reads it as latin1');
  process.exit(1);
}
// The digest replaces a placeholder of its length: the source map's lines stay right.
writeFileSync(join(out, 'validate.cjs'), validateText.replace(VALIDATE_ID, createHash('sha256').update(validateText).digest('hex')));
makeValidateCodeCache();

/**
 * Runs bin/kaidu.js on a sample of Compute nodes (what most validates spend their time in) with
 * KAIDU_WRITE_VALIDATE_CODE_CACHE=1: the launcher, with the V8 flags it always sets, writes
 * dist/bundle/validate.cache after the run. Made by the launcher, not here, because V8 rejects code
 * cached under other flags.
 */
function makeValidateCodeCache() {
  const dir = mkdtempSync(join(tmpdir(), 'kaidu-validate-cache-'));
  try {
    const lines = ['tosca_definitions_version: tosca_simple_yaml_1_3', 'topology_template:', '  node_templates:'];
    for (let i = 0; i < 200; i++) lines.push(`    server_${i}:`, '      type: tosca.nodes.Compute', '      capabilities:', '        host:', '          properties:', `            num_cpus: ${1 + (i % 4)}`, '            mem_size: 2 GB');
    writeFileSync(join(dir, 'sample.yaml'), lines.join('\n') + '\n');
    // No NODE_OPTIONS: V8 flags given there would be in the cache's flag hash, and a plain run would reject it.
    const env = { ...process.env, NODE_OPTIONS: '', KAIDU_NO_BUNDLE: '', KAIDU_PROFILE_RECORDS: '', KAIDU_VALIDATE_CODE_CACHE: '', KAIDU_WRITE_VALIDATE_CODE_CACHE: '1' };
    const run = spawnSync(process.execPath, [join(root, 'bin', 'kaidu.js'), 'validate', 'sample.yaml'], { cwd: dir, env, encoding: 'utf8' });
    if (run.status !== 0 || !existsSync(join(out, 'validate.cache'))) {
      console.error(`kaidu: making the validate code cache failed (exit ${run.status}):\n${run.stdout}${run.stderr}`);
      process.exit(1);
    }
    console.log(`kaidu: built the code-cached validate (${Math.round(validateText.length / 1024)} KB, cache ${Math.round(readFileSync(join(out, 'validate.cache')).length / 1024)} KB)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A digest of what the build made (dist/ but the bundle) and of package.json: the build's id. */
function digestOfDist() {
  const hash = createHash('sha256').update(readFileSync(join(root, 'package.json')));
  const files = readdirSync(dist, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.js'))
    .map((d) => join(d.parentPath ?? d.path, d.name))
    .filter((f) => !f.startsWith(out + sep))
    .sort();
  for (const f of files) hash.update(relative(dist, f)).update('\0').update(readFileSync(f)).update('\0');
  return hash.digest('hex').slice(0, 32);
}
