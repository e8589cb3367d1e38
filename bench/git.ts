/**
 * The agent's git costs on a 10,000-file repository, served by git http-backend on 127.0.0.1:
 * first clone (bare, no checkout), fetch after a one-file push, tree diff, commit+push of one file.
 * Baselines in the same process: native `git clone --bare` and `git fetch` of the same repository.
 * Traffic goes to 127.0.0.1 only.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openHub } from '../src/git/index.js';
import { startHubServer } from '../src/git/hub-server.js';
import { round, time } from './measure.js';

const exec = promisify(execFile);

export async function benchGit(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'kaidu-bench-git-'));
  const g = (cwd: string, ...args: string[]) =>
    exec('git', ['-c', 'user.name=B', '-c', 'user.email=b@example.invalid', ...args], { cwd, maxBuffer: 256 * 1024 * 1024 });
  try {
    const seed = join(dir, 'seed');
    await g(dir, 'init', '-q', '-b', 'main', seed);
    for (let d = 0; d < 100; d++) {
      await mkdir(join(seed, 'services', `d${d}`), { recursive: true });
      await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(join(seed, 'services', `d${d}`, `f${f}.yaml`), `value: ${d * 100 + f}\n`)));
    }
    await g(seed, 'add', '-A');
    await g(seed, 'commit', '-qm', 'seed');
    const hubDir = join(dir, 'repos', 'hub.git');
    // --no-local: a packed hub, as a real server holds it (a local clone would hardlink 10,000 loose objects).
    await g(dir, 'clone', '-q', '--bare', '--no-local', seed, hubDir);
    await g(hubDir, 'config', 'http.receivepack', 'true');
    await g(hubDir, 'config', 'receive.autogc', 'false');
    const server = await startHubServer({ root: join(dir, 'repos') });
    const url = server.repoUrl('hub.git');
    try {
      const native = await time(() => g(dir, 'clone', '-q', '--bare', url, join(dir, 'native.git')));
      const hub = await openHub({ url, dataDir: join(dir, 'agent'), branch: 'main' });
      const cpu0 = process.cpuUsage();
      const clone = await time(() => hub.fetch());
      // The agent's first pass reads every file: through isomorphic-git (and src/git/git-fs.ts) here,
      // through `git cat-file --batch` for the native baseline.
      const paths = Array.from({ length: 10_000 }, (_, i) => `services/d${Math.floor(i / 100)}/f${i % 100}.yaml`);
      const firstReader = hub.reader(clone.value);
      const readAll = await time(async () => {
        for (const p of paths) if (!(await firstReader.readFile(p))) throw new Error(`bench: ${p} missing`);
      });
      const firstPassCpu = process.cpuUsage(cpu0);
      const nativeRead = await time(() => exec('sh', ['-c', "git ls-tree -r main | awk '{print $3}' | git cat-file --batch > /dev/null"], { cwd: join(dir, 'native.git') }));
      const firstPass = clone.ms + readAll.ms;
      const nativeFirst = native.ms + nativeRead.ms;
      const idle = await time(() => hub.fetch());
      const work = join(dir, 'work');
      await g(dir, 'clone', '-q', url, work);
      await writeFile(join(work, 'services', 'd42', 'f7.yaml'), 'value: changed\n');
      await g(work, 'commit', '-qam', 'one file');
      await g(work, 'push', '-q', 'origin', 'HEAD:main');
      const nativeFetch = await time(() => g(join(dir, 'native.git'), 'fetch', '-q', 'origin', '+refs/heads/main:refs/heads/main'));
      const fetched = await time(() => hub.fetch());
      const diff = await time(() => hub.changedPaths(clone.value, fetched.value));
      const reader = hub.reader(fetched.value);
      const read = await time(() => reader.readFile('services/d42/f7.yaml'));
      const commit = await time(() =>
        hub.commitAndPush({ files: { 'state/host-a/svc.yaml': 'nodes: {}\n' }, message: 'bench', author: { name: 'b', email: 'b@example.invalid' }, trailers: { 'Kaidu-Host': 'host-a' } }),
      );
      const commit2 = await time(() =>
        hub.commitAndPush({ files: { 'state/host-a/svc.yaml': 'nodes: {a: 1}\n' }, message: 'bench 2', author: { name: 'b', email: 'b@example.invalid' } }),
      );
      const steady = fetched.ms + diff.ms + commit2.ms;
      return {
        files: 10_000,
        baseline_native_bare_clone_ms: round(native.ms),
        clone_no_checkout_ms: round(clone.ms),
        ratio_clone_to_native: round(clone.ms / native.ms),
        read_every_file_ms: round(readAll.ms),
        baseline_native_read_every_file_ms: round(nativeRead.ms),
        first_pass_clone_and_read_ms: round(firstPass),
        first_pass_cpu_ms: round((firstPassCpu.user + firstPassCpu.system) / 1000),
        baseline_native_clone_and_read_ms: round(nativeFirst),
        ratio_first_pass_to_native: round(firstPass / nativeFirst),
        goal_ratio_first_pass_to_native: 3,
        meets_goal: firstPass / nativeFirst <= 3,
        previous_release_ratio_first_pass_to_native: 11.5,
        fetch_unchanged_ms: round(idle.ms),
        baseline_native_fetch_ms: round(nativeFetch.ms),
        fetch_after_one_file_push_ms: round(fetched.ms),
        changed_paths_ms: round(diff.ms),
        changed_paths: diff.value,
        read_one_file_ms: round(read.ms),
        commit_and_push_one_file_first_ms: round(commit.ms),
        commit_and_push_one_file_ms: round(commit2.ms),
        steady_state_per_event_ms: round(steady),
      };
    } finally {
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
