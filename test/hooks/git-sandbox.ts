/**
 * A real bare hub and a working clone in a temp dir, driven with the native git client, and a
 * `kaidu` on the PATH that runs this checkout's CLI (bin/kaidu.js → dist/, built by `npm test`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../support/temp-dir.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface GitResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  root: string;
  hub: string;
  work: string;
  /** Every `kaidu` invocation, one line of arguments each. */
  calls: string;
  env: NodeJS.ProcessEnv;
  /** Synchronous: for set-up steps that run no hook talking to a server in this process. */
  git(args: string[], cwd?: string): GitResult;
  /** Asynchronous, so a test's HTTP server can answer the hooks git runs meanwhile. */
  gitAsync(args: string[], cwd?: string): Promise<GitResult>;
  /** Writes files in the working clone (path → content), commits them all. */
  commit(files: Record<string, string>, message: string): string;
  installHubHook(name: 'pre-receive' | 'post-receive'): void;
}

export function cliIsBuilt(): boolean {
  return existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js'));
}

export function createSandbox(extraEnv: NodeJS.ProcessEnv = {}): Sandbox {
  const root = tempDir('kaidu-hooks-');
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const calls = join(root, 'kaidu-calls.log');
  writeFileSync(calls, '');
  const shim = join(bin, 'kaidu');
  writeFileSync(shim, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${calls}'\nexec node '${join(REPO_ROOT, 'bin', 'kaidu.js')}' "$@"\n`);
  chmodSync(shim, 0o755);
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: root,
    TMPDIR: tmpdir(),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Dev',
    GIT_AUTHOR_EMAIL: 'dev@example.com',
    GIT_COMMITTER_NAME: 'Dev',
    GIT_COMMITTER_EMAIL: 'dev@example.com',
    NO_COLOR: '1',
    ...extraEnv,
  };
  const hub = join(root, 'hub.git');
  const work = join(root, 'work');
  const git = (args: string[], cwd = work): GitResult => {
    const r = spawnSync('git', args, { cwd, env, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const gitAsync = (args: string[], cwd = work): Promise<GitResult> =>
    new Promise((resolve, reject) => {
      const child = spawn('git', args, { cwd, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    });
  const must = (args: string[], cwd?: string) => {
    const r = git(args, cwd);
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  must(['init', '-q', '--bare', '-b', 'main', hub], root);
  must(['clone', '-q', hub, work], root);
  must(['checkout', '-q', '-B', 'main'], work);
  return {
    root,
    hub,
    work,
    calls,
    env,
    git,
    gitAsync,
    commit(files, message) {
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(work, path)), { recursive: true });
        writeFileSync(join(work, path), content);
      }
      must(['add', '-A']);
      must(['commit', '-q', '-m', message]);
      return must(['rev-parse', 'HEAD']);
    },
    installHubHook(name) {
      copyFileSync(join(REPO_ROOT, 'hooks', name), join(hub, 'hooks', name));
      chmodSync(join(hub, 'hooks', name), 0o755);
    },
  };
}
