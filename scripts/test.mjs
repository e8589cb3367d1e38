#!/usr/bin/env node
// `npm test`: the vitest suite, then the conformance corpus, both always run (a vitest failure
// must not hide the conformance result); exits non-zero when either failed.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
const conformance = spawnSync(process.execPath, [join(root, 'scripts', 'conformance.mjs')], { cwd: root, stdio: 'inherit' });
const failed = (r) => r.status !== 0;
const word = (r) => (r.error ? `did not start (${r.error.message})` : failed(r) ? `failed (${r.status ?? r.signal})` : 'passed');
console.log(`\nnpm test: vitest ${word(vitest)}; conformance ${word(conformance)}`);
process.exit(failed(vitest) || failed(conformance) ? 1 : 0);
