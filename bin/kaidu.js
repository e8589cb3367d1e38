#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`),
// which also bundles it into dist/bundle/ when esbuild is installed (scripts/bundle.mjs).
// Built-ins are required, not imported: `import … from 'node:fs'` builds fs's ES module facade,
// which reads every export, `fs.ReadStream` too, and so loaded node's stream modules (issue 16).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { readFileSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { fileURLToPath, pathToFileURL } = require('node:url');
const { setFlagsFromString } = require('node:v8');

const __dirname = dirname(fileURLToPath(import.meta.url));

// Most kaidu runs are short: V8's optimizing compiler, started after the default budget, spent more
// CPU on its background threads than it saved (a 1,000-node validate: ~40% of its CPU). A larger
// budget leaves short-lived code to the interpreter and baseline compiler; hot loops of long runs
// (a 100,000-node compile, the agent) still get optimized. Only a tuning: no behaviour depends on it.
// A validate also keeps V8's young generation at its first size instead of letting it double up
// to 16 MB: on these (virtual) machines a page touched for the first time costs ~9 µs of kernel
// time, and the growing semi-spaces were ~3,000 of a 10,000-node validate's 12,700 page faults.
// More, smaller scavenges cost less than the memory they would have touched: 10,000 nodes -18 ms,
// 1,000 -13 ms on the idle machine (-55 and -38 at load 4.5), 100,000 unchanged (CPU medians of
// 11-15 paired runs, 2026-12-03). Measured then and not kept: `--interrupt-budget=2000000`
// (10,000 -15 ms, 100,000 +206), with `--no-turbo-inlining` (-38, +263), `--no-turbofan`.
// Settable here because V8 reads it at each growth decision; flags that switch GC threads off
// (`--single-threaded-gc`) are not: set after start-up, they crash V8 at its next full GC.
// A validate also lets the optimizing compiler inline less into one function (100 bytes of callee
// bytecode instead of 920): the reader's and the compiler's hot functions (a body's map with the
// reading of each value inlined, property assignment with coercion) took 10-35 ms each to
// optimize on a background thread, late in a run that ends soon after. 10,000 nodes -31 ms,
// 1,000 and 100,000 unchanged (+3, -2: noise); `--no-turbo-inlining` -39, 0 and +59 ms (CPU
// medians of 9-21 paired runs on the idle machine, 2026-12-03). And it scavenges the young
// generation on the main thread alone: with a young generation kept small, a validate scavenges
// often (36 times at 10,000 nodes), and handing each to helper threads cost more than it saved on
// these 2-core machines: 10,000 nodes -34 ms, 100,000 -267 ms, 1,000 -6, one node 0 (CPU medians
// of 9-21 paired runs, idle), wall time unchanged (10,000: 378 vs 375 ms; 100,000: 1,610 vs
// 1,606). V8 reads it at each scavenge.
const VALIDATE = process.argv[2] === 'validate';
const FLAGS = ['--interrupt-budget=1000000', ...(VALIDATE ? ['--semi-space-growth-factor=1', '--max-inlined-bytecode-size-cumulative=100', '--no-parallel-scavenge'] : [])];
for (const flag of FLAGS) setFlagsFromString(flag);
// Not chosen by input size: measured 2026-12-02 on 10k/100k-node validates (CPU medians, paired,
// load 10-20, so rough), the 1,000,000 budget was as good as or better than 132,000, 400,000 and
// 3,000,000 at both sizes; `--maglev`, `--always-sparkplug`, `--single-threaded-gc`,
// `--min-semi-space-size=16` gave nothing at 10k; `--semi-space-growth-factor=16` (settable here)
// and `--max-semi-space-size=64` (a launch flag) cost more CPU at 100k, not less.

// No V8 startup snapshot (`node --build-snapshot`, measured on Node 20.20, CPU medians, 11-15
// paired runs, loaded 2-core machine): an empty user snapshot already costs ~45 ms more than
// `node -e 0`; one holding the loaded CLI (8.6 MB blob) made `--version` ~320-400 ms against ~245 ms
// from the bundle, and with a validate run done at build time (9.8 MB) saved ~40 ms on a one-node
// `validate` and nothing on 1,000 nodes. It also needs node started with the flag (a second node
// start from here, or a shell launcher tests and `node bin/kaidu.js` bypass), and any V8 flag
// change rejects the blob (exit 14). A V8 code cache of the whole CLI as one CommonJS file
// (vm.Script cachedData): -36 ms on one node, +45 ms on `--version`; so only `validate` has one
// (codeCachedValidate below), made after a sample run.
//
// The validate code cache, measured 2026-12-02 (CPU medians of paired alternated runs, 11-21 each):
// - load 1.5-2.2, first version: one node 204 -> 187 ms, 1k nodes 273 -> 246 (ESM bundle ->
//   cached CommonJS build); the same build without its cache is slower than the ESM bundle (1k:
//   300), so a cache that does not match runs the ESM bundle. All of it (with the items below),
//   load 5.5: one node 256 -> 203, 1k 333 -> 279, 10k 854 -> 775.
// - a cache made after a sample validate (460 KB) against one made before running anything
//   (112 KB, lazily compiled functions left out), load 8-9: one node 193 vs 207, 1k 271 vs 290.
// - reading the build as latin1 after minifying its whitespace (503 KB, ASCII) instead of utf8
//   (790 KB, whose comments' non-ASCII made a two-byte string): 6.5 ms instead of 14 to read.
// - commander's node:child_process required when used (scripts/bundle.mjs): one node 195 vs 201
//   (load 5.3), kept as it loads less (net, dgram, child_process are no longer loaded).
// Not kept:
// - this launcher as CommonJS (bin/package.json): no ES module loader for a cached validate, yet
//   at load 8.8 one node 220 vs 226 and `--version` 192 vs 189 (no difference), and under an
//   `--import` preload (as the bench and tools run node) node runs a CommonJS main through the ES
//   module loader anyway: +12-40 ms there.
// - GC settings for the 1k validate (6 scavenges, nearly everything survives): set here after the
//   heap exists, `--min-semi-space-size` changes nothing (still 6); `--semi-space-growth-factor=8`
//   (4 scavenges) 323 vs 282 at load 7; `--single-threaded-gc` 275 vs 278 and
//   `--no-parallel-scavenge` 274 vs 278 at load 8: none better.
// - no fs/promises on the validate path: loading it once stdout is set up costs nothing measurable
//   (130 vs 132, 21 runs, load 8.6).
// - with the cache, at 1k: `--always-sparkplug` 364, `--interrupt-budget=200000` 432, `--no-maglev`
//   384 against 426 (13 runs at load 10-11: too noisy to adopt any; worth re-measuring idle).

/**
 * Commands that still run dist/: none. The agent runs from the bundle since it passed, under
 * CI=true on a loaded machine (load 12-21): test/agent (all, 12 files) and
 * test/delegates/vm-agent.test.ts alone (3 tests, 23 min: the agent npm-installed in the guest from
 * a packed tarball, whose equal mtimes select the bundle). The earlier single VM failure with the
 * bundle was not reproduced. A command that must not run from the bundle is listed here.
 */
const NOT_BUNDLED = new Set([]);

/**
 * The bundle, unless it is missing or older than dist/ (a `tsc` run since the last bundle).
 * KAIDU_NO_BUNDLE=1 runs dist/ as tsc compiled it.
 */
function entry() {
  if (process.env.KAIDU_NO_BUNDLE || NOT_BUNDLED.has(process.argv[2])) return '../dist/cli/main.js';
  try {
    const bundle = statSync(join(__dirname, '../dist/bundle/main.js')).mtimeMs;
    const compiled = statSync(join(__dirname, '../dist/cli/main.js')).mtimeMs;
    if (bundle >= compiled) return '../dist/bundle/main.js';
  } catch {
    // no bundle (or no dist/ at all: the import below says so)
  }
  return '../dist/cli/main.js';
}

/**
 * `kaidu validate` from the code-cached build (scripts/bundle.mjs): dist/bundle/validate.cjs, the
 * validate command alone as one CommonJS module written as its wrapping function (compiled as
 * read, no copy), run with validate.cache, V8's code for it compiled
 * during a sample validate at build time, so neither the file nor the functions a validate calls
 * are compiled again (issue 16: most of a small validate's CPU was compiling). The cache is used
 * only under a key naming the file's digest (its first line), node's and V8's versions and this
 * launcher's flags; V8 checks its own (version, flags, source length) and, with
 * --verify-snapshot-checksum, the cache's checksum: a damaged cache is rejected and the file is
 * compiled from its source. No cache, or one of another build or node: undefined, and the ESM
 * bundle runs as for any command. KAIDU_VALIDATE_CODE_CACHE names another cache file (tests of a
 * damaged one), `off` skips it; KAIDU_CACHE_STATS=1 says on stderr what was done.
 */
function codeCachedValidate() {
  const named = process.env.KAIDU_VALIDATE_CODE_CACHE;
  if (named === 'off') return undefined;
  // Only the build sets this, to make the cache after a sample run (same launcher, same flags).
  const writing = process.env.KAIDU_WRITE_VALIDATE_CODE_CACHE === '1';
  const filename = join(__dirname, '../dist/bundle/validate.cjs');
  const cacheFile = named || join(__dirname, '../dist/bundle/validate.cache');
  const say = (what) => {
    if (process.env.KAIDU_CACHE_STATS) process.stderr.write(`kaidu: validate code cache: ${what}\n`);
  };
  let text;
  let cache;
  try {
    text = readFileSync(filename, 'latin1'); // ASCII (the build checks): a one-byte string, read fastest
    if (!writing) cache = readFileSync(cacheFile);
  } catch {
    say('missing');
    return undefined;
  }
  const key = Buffer.from(`kaidu-validate-cache 1 ${/^\(function \([\w, ]*\) \{\/\/ kaidu-validate (\w+)/.exec(text)?.[1]} ${process.version} ${process.versions.v8} ${FLAGS.join(' ')}\n`);
  if (!writing && !(cache.length > key.length && key.equals(cache.subarray(0, key.length)))) {
    say('foreign');
    return undefined;
  }
  setFlagsFromString('--verify-snapshot-checksum');
  const { Script } = require('node:vm');
  const script = new Script(text, { filename, cachedData: writing ? undefined : cache.subarray(key.length) });
  say(writing ? 'writing' : script.cachedDataRejected ? 'rejected' : 'used');
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(filename), module, filename, join(__dirname, '../dist/bundle'), pathToFileURL(filename).href);
  if (!writing) return module.exports.main;
  return async (argv) => {
    const code = await module.exports.main(argv);
    writeFileSync(cacheFile, Buffer.concat([key, script.createCachedData()]));
    return code;
  };
}

const cached = VALIDATE && entry() === '../dist/bundle/main.js' ? codeCachedValidate() : undefined;
const main = cached ?? (await import(entry())).main;

// A validate has nothing left to do once its report is written: it exits as soon as stdout and
// stderr are flushed, instead of letting the event loop run V8's pending work first (a heap
// marking finished as a task, compile jobs): 28 ms of a 10,000-node validate's 560 (median of 21
// paired runs, 2026-12-03). Other commands may leave work (a socket, a file) to end on its own.

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    if (VALIDATE) process.stdout.write('', () => process.stderr.write('', () => process.exit()));
  },
  (err) => {
    process.stderr.write(`kaidu: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 70;
  },
);
