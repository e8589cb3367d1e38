#!/usr/bin/env node
// npm's `prepare` (after `npm ci`/`npm install`, and whenever npm installs this folder as a
// package: `npx kaidu`, `npm link`, `npm install -g .`). It compiles to dist/ only when dist/ is
// missing or older than a source file, so running kaidu from a built checkout costs no rebuild
// (tsc takes about a minute on a busy 2-core machine); then it installs the git hooks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli', 'main.js');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const sources = Math.max(newestSource(join(root, 'src')), ...['tsconfig.json', 'tsconfig.build.json'].map((f) => statSync(join(root, f)).mtimeMs));
if (process.env.KAIDU_FORCE_BUILD || !existsSync(built) || statSync(built).mtimeMs < sources) {
  console.log('kaidu: compiling to dist/ (tsc)');
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  // The start-up bundle (dist/bundle/), or its removal where esbuild is not installed.
  const bundle = spawnSync(process.execPath, [join(root, 'scripts', 'bundle.mjs')], { cwd: root, stdio: 'inherit' });
  if (bundle.status !== 0) process.exit(bundle.status ?? 1);
} else {
  console.log('kaidu: dist/ is up to date with src/ (no rebuild)');
}
// The pre-commit hook, in a git checkout with the dev dependencies only; never fatal.
if (existsSync(join(root, '.git')) && existsSync(join(root, 'node_modules', 'simple-git-hooks'))) {
  spawnSync(process.execPath, [join(root, 'node_modules', 'simple-git-hooks', 'cli.js')], { cwd: root, stdio: 'inherit' });
}
