/** Runs the built launcher (bin/kaidu.js) as a real child process, as a user would. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'kaidu.js');

export interface BinRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `env` is added to this process's environment; a non-zero exit is a result, not a rejection. */
export function runBin(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<BinRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}
