/** A service repository on disk for tests that run `kaidu apply` in it. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface ServiceRepo {
  dir: string;
  /** Writes `text` at `path` (relative to the repository), making its folders. */
  write(path: string, text: string): Promise<void>;
  /** Runs git in it, as a fixed author. */
  git(...args: string[]): Promise<void>;
}

/**
 * A fresh folder under the temp folder with `kaidu.yaml` (branch main) and `files`; with `commit`,
 * a git repository (Kaidu's own `.kaidu/` ignored) with everything committed. The caller removes `dir`.
 */
export async function serviceRepo(prefix: string, files: Record<string, string>, opts: { commit?: boolean } = {}): Promise<ServiceRepo> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const repo: ServiceRepo = {
    dir,
    write: async (path, text) => {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    },
    git: async (...args) => {
      await exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: dir });
    },
  };
  await repo.write('kaidu.yaml', 'branch: main\n');
  for (const [path, text] of Object.entries(files)) await repo.write(path, text);
  if (opts.commit) {
    await repo.write('.gitignore', '.kaidu/\n');
    await repo.git('init', '-q', '-b', 'main');
    await repo.git('add', '-A');
    await repo.git('commit', '-qm', 'one');
  }
  return repo;
}
