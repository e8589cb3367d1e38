/** The README's way onto the PATH (`npm install --global .`), and `npx kaidu` without a rebuild. */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('kaidu from a checkout', () => {
  it('npm install --global . puts a working kaidu on the PATH, offline', async () => {
    const prefix = tempDir('kaidu-global-');
    const env = { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' };
    // What the README says, with --prefix so that the test does not touch the machine's global folder.
    await exec('npm', ['install', '--global', '--prefix', prefix, '.'], { cwd: ROOT, env });
    const pathEnv = { ...env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` };
    expect((await exec('kaidu', ['--version'], { cwd: prefix, env: pathEnv })).stdout.trim()).toBe(version);
    const validate = await exec('kaidu', ['validate', join(ROOT, 'examples', 'web-db')], { cwd: prefix, env: pathEnv });
    expect(validate.stdout).toMatch(/0 errors/);
  });

  it('npx kaidu in the checkout does not rebuild dist/', async () => {
    const built = join(ROOT, 'dist', 'cli', 'main.js');
    const before = statSync(built).mtimeMs;
    const r = await exec('npx', ['--no-install', 'kaidu', '--version'], { cwd: ROOT, env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' } });
    expect(r.stdout.trim()).toBe(version);
    // npx installs the checkout as a package, which runs `prepare`: it must find dist/ up to date.
    expect(statSync(built).mtimeMs).toBe(before);
  });
});
