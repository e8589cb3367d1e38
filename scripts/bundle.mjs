#!/usr/bin/env node
// `npm run build`'s second step: bundles the tsc output (dist/) into dist/bundle/ with esbuild, so
// that starting kaidu resolves and reads a few files instead of ~80 of ours and ~100 of yaml's
// (start-up is most of a small `validate`, issue 16). Code-split: each command's dynamic imports
// stay separate chunks, so a command still loads only what it uses. bin/kaidu.js runs the bundle
// when it is at least as new as dist/cli/main.js, and dist/ otherwise (a bare `tsc` leaves a stale
// bundle behind, which is then ignored). Without esbuild (a production install that compiled dist/
// through `prepare`) it removes the bundle and says so: dist/ alone is complete.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
 */
const ownUrl = {
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist + sep) || args.path.startsWith(out + sep)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = relative(out, args.path).split(sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'js', resolveDir: dirname(args.path) };
    });
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
  plugins: [ownUrl],
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
