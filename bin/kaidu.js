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

/**
 * Commands the bundle runs: the short, read-only ones whose start-up is most of their time (for
 * `plan` after a one-file change, its compiler from a few chunks instead of ~130 files saves 60-90 ms
 * of CPU, issue 16). The others run dist/: the agent from the bundle failed the test of a hub that
 * keeps refusing its push (3 runs of 3) and passed from dist/, for a reason not found yet.
 */
const BUNDLED = new Set([undefined, 'validate', 'graph', 'plan', '--version', '-V', '--help', '-h', 'help']);

/** The bundle, unless it is missing or older than dist/ (a `tsc` run since the last bundle). */
function entry() {
  if (!BUNDLED.has(process.argv[2])) return '../dist/cli/main.js';
  try {
    const bundle = statSync(new URL('../dist/bundle/main.js', import.meta.url)).mtimeMs;
    const compiled = statSync(new URL('../dist/cli/main.js', import.meta.url)).mtimeMs;
    if (bundle >= compiled) return '../dist/bundle/main.js';
  } catch {
    // no bundle (or no dist/ at all: the import below says so)
  }
  return '../dist/cli/main.js';
}

const { main } = await import(process.env.KAIDU_NO_BUNDLE ? '../dist/cli/main.js' : entry());

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`kaidu: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 70;
  },
);
