#!/usr/bin/env node
/**
 * Compiles TOSCA files with one build of Kaidu and prints each result (diagnostics and compiled
 * service) as one JSON line: run it with the old and the new build and diff the outputs, to show a
 * refactoring of the compiler changes no output. Usage:
 *   node scripts/compile-snapshot.mjs <kaidu checkout with dist/> <file.yaml>... > out.jsonl
 * Each file is compiled from its own folder (its relative imports resolve), with a fresh cache,
 * then again with the cache warm (what an agent does), both printed.
 */
import { dirname, basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, ...files] = process.argv.slice(2);
const dist = (p) => import(pathToFileURL(resolve(root, 'dist', p)).href);
const { compileService, createCompileCache } = await dist('tosca/index.js');
const { fsReader, profilesReader } = await dist('cli/fs-reader.js');
const profiles = profilesReader();
// Map and Set (relationship templates and the like) as plain data, so the two builds compare.
const replacer = (_k, v) => (v instanceof Map ? Object.fromEntries(v) : v instanceof Set ? [...v] : v);
for (const file of files) {
  const reader = fsReader(dirname(resolve(file)), { confined: false });
  const cache = createCompileCache();
  for (const pass of ['cold', 'warm']) {
    const result = await compileService(basename(file), reader, { profiles, cache });
    process.stdout.write(JSON.stringify({ file, pass, result }, replacer) + '\n');
  }
}
