import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessDelegate, SystemCommandRunner } from '../../src/delegates/index.js';
import { openCgroups } from '../../src/delegates/cgroup.js';
import { killManaged } from '../support/agent-harness.js';
import { context, desired, stateOf } from '../support/delegate-context.js';
import { tempDir } from '../support/temp-dir.js';

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(25)) {
    const v = await check();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}
/** Pids the daemons wrote, one a line. */
const daemons = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);

/** A command that starts a daemon in a new session (out of the process group), then `rest`. */
const withDaemon = (pidFile: string, rest: string) => ['/bin/sh', '-c', `setsid /bin/sh -c 'echo $$ >> ${pidFile}; exec sleep 300' </dev/null >/dev/null 2>&1 & ${rest}`];

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await killManaged(d);
});
const dataDir = () => {
  const d = tempDir('kaidu-cg-');
  dirs.push(d);
  return d;
};

const cgroupsHere = await openCgroups(tempDir('kaidu-cg-probe-'));
if (cgroupsHere) await cgroupsHere.remove(cgroupsHere.base);

describe.runIf(cgroupsHere)('process tracking with a cgroup per node', () => {
  it('a setsid daemon the command forked is stopped with the node on delete', async () => {
    const dir = dataDir();
    const pids = join(dir, 'daemons');
    const d = new ProcessDelegate({ dataDir: dir, runner: new SystemCommandRunner() });
    const node = desired('kaidu:Process', { command: withDaemon(pids, 'exec sleep 300'), stop_grace: 5 });
    const made = await d.create(context(dir, node));
    expect(made.attributes.cgroup).toMatch(/\/kaidu\/[0-9a-f]{16}\/svc\/n1$/);
    const [daemon] = await until('the daemon', async () => ((await daemons(pids)).length ? daemons(pids) : undefined));
    expect(alive(daemon!)).toBe(true);
    expect(readFileSync(`/proc/${daemon}/cgroup`, 'utf8')).toContain('/svc/n1');
    await d.delete(context(dir, node, { previous: stateOf('kaidu:Process', node.properties, made.attributes) }));
    expect(alive(made.attributes.pid as number)).toBe(false);
    expect(alive(daemon!)).toBe(false);
    expect(existsSync(made.attributes.cgroup as string)).toBe(false);
  });

  it('a command that forks a daemon and exits: the failed start leaves no daemon, however often it is retried', async () => {
    const dir = dataDir();
    const pids = join(dir, 'daemons');
    const d = new ProcessDelegate({ dataDir: dir, runner: new SystemCommandRunner() });
    // the daemon has written its pid before the command exits, so each attempt certainly made one
    const node = desired('kaidu:Process', { command: withDaemon(pids, `while [ ! -s ${pids} ]; do sleep 0.05; done; : > ${pids}.seen; exit 0`), stop_grace: 1 });
    for (let attempt = 1; attempt <= 3; attempt++) {
      await expect(d.create(context(dir, node))).rejects.toMatchObject({ code: 'E_PROCESS_EXITED' });
      const all = await daemons(pids);
      expect(all.length).toBeGreaterThanOrEqual(1);
      expect(all.filter(alive)).toEqual([]);
      await import('node:fs/promises').then((fs) => fs.rm(pids, { force: true }));
    }
  });

  it('update stops the old copy\'s daemon too; an agent restarted later finds the cgroup again and stops it all', async () => {
    const dir = dataDir();
    const pids = join(dir, 'daemons');
    const first = new ProcessDelegate({ dataDir: dir, runner: new SystemCommandRunner() });
    const v1 = desired('kaidu:Process', { command: withDaemon(pids, 'exec sleep 301'), stop_grace: 5 });
    const made = await first.create(context(dir, v1));
    const [old] = await until('the first daemon', async () => ((await daemons(pids)).length ? daemons(pids) : undefined));
    const v2 = desired('kaidu:Process', { command: withDaemon(pids, 'exec sleep 302'), stop_grace: 5 });
    const updated = await first.update(context(dir, v2, { previous: stateOf('kaidu:Process', v1.properties, made.attributes) }));
    expect(alive(old!)).toBe(false);
    const [, fresh] = await until('the second daemon', async () => ((await daemons(pids)).length >= 2 ? daemons(pids) : undefined));
    // a new agent (nothing in memory) re-adopts by pid and start time, and sees the cgroup
    const restarted = new ProcessDelegate({ dataDir: dir, runner: new SystemCommandRunner() });
    const previous = stateOf('kaidu:Process', v2.properties, updated.attributes);
    const seen = await restarted.inspect(context(dir, v2, { previous }));
    expect(seen).toMatchObject({ exists: true, status: 'running', attributes: { pid: updated.attributes.pid, cgroup: updated.attributes.cgroup } });
    await restarted.delete(context(dir, v2, { previous }));
    expect(alive(fresh!)).toBe(false);
    expect(alive(updated.attributes.pid as number)).toBe(false);
  });
});

describe('process tracking without cgroups', () => {
  it('falls back to the process group: the command and what stays in its group are stopped', async () => {
    const dir = dataDir();
    const d = new ProcessDelegate({ dataDir: dir, runner: new SystemCommandRunner(), cgroupRoot: false });
    const node = desired('kaidu:Process', { command: ['/bin/sh', '-c', `sleep 300 & echo $! > ${join(dir, 'child')}; exec sleep 300`], stop_grace: 5 });
    const made = await d.create(context(dir, node));
    expect(made.attributes.cgroup).toBeUndefined();
    const child = await until('the child', async () => Number((await readFile(join(dir, 'child'), 'utf8').catch(() => '')).trim()) || undefined);
    await d.delete(context(dir, node, { previous: stateOf('kaidu:Process', node.properties, made.attributes) }));
    expect(alive(child)).toBe(false);
    expect(alive(made.attributes.pid as number)).toBe(false);
  });
});
