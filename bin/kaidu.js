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
 * The bundle (every command), unless it is missing or older than dist/ (a `tsc` run since the last
 * bundle). KAIDU_NO_BUNDLE=1 runs dist/ as tsc compiled it.
 */
function entry() {
  if (process.env.KAIDU_NO_BUNDLE) return '../dist/cli/main.js';
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
