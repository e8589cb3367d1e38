/** Runs `kaidu ARGV` in-process through the real main(), capturing stdout and stderr. */
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';

export async function kaidu(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = new Writable({ write(c, _e, cb) { stdout += String(c); cb(); } });
  const err = new Writable({ write(c, _e, cb) { stderr += String(c); cb(); } });
  const code = await main(argv, { stdout: out, stderr: err, cwd, env });
  return { code, stdout, stderr };
}
