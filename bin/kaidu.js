#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`),
// which also bundles it into dist/bundle/ when esbuild is installed (scripts/bundle.mjs).
import { statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// Most kaidu runs are short: V8's optimizing compiler, started after the default budget, spent more
// CPU on its background threads than it saved (a 1,000-node validate: ~40% of its CPU). A larger
// budget leaves short-lived code to the interpreter and baseline compiler; hot loops of long runs
// (a 100,000-node compile, the agent) still get optimized. Only a tuning: no behaviour depends on it.
setFlagsFromString('--interrupt-budget=1000000');
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
// change rejects the blob (exit 14). A V8 code cache of a CommonJS bundle (vm.Script cachedData)
// was no better: -36 ms on one node, +45 ms on `--version`.

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
    const bundle = statSync(new URL('../dist/bundle/main.js', import.meta.url)).mtimeMs;
    const compiled = statSync(new URL('../dist/cli/main.js', import.meta.url)).mtimeMs;
    if (bundle >= compiled) return '../dist/bundle/main.js';
  } catch {
    // no bundle (or no dist/ at all: the import below says so)
  }
  return '../dist/cli/main.js';
}

const { main } = await import(entry());

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`kaidu: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 70;
  },
);
