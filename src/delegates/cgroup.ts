/**
 * A cgroup (v2) per managed process node, so that everything the node starts is tracked: the
 * daemon a command forks, even one that calls setsid and leaves the process group, stays in the
 * node's cgroup and is stopped with it.
 *
 * Layout: `<cgroup2 mount>/kaidu/<hash of the data dir>/<service>/<node key>`. The path is a pure
 * function of the data dir and the node, so an agent restarted later finds the same cgroup again.
 * Where no cgroup2 hierarchy is mounted or the agent may not create folders in it (not root, a
 * read-only mount), `openCgroups` returns undefined and the process delegate falls back to a
 * process group (see profiles/kaidu/README.md for what that cannot catch).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { dataPath } from './data-dir.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where cgroup2 is mounted, from /proc/self/mountinfo (the first such mount). */
export async function cgroup2Mount(): Promise<string | undefined> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  for (const line of info.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right || right.split(' ')[0] !== 'cgroup2') continue;
    return left.split(' ')[4]?.replace(/\\040/g, ' ');
  }
  return undefined;
}

export class NodeCgroups {
  /** @param base this data dir's folder in the cgroup2 hierarchy (created) */
  constructor(readonly base: string) {}

  /** The node's cgroup folder (not created). */
  dir(service: string, key: string): string {
    return dataPath(this.base, service, key);
  }

  /** Creates the node's cgroup; the supervisor moves itself in before it starts the command. */
  async make(service: string, key: string): Promise<string> {
    const dir = this.dir(service, key);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Pids in the cgroup (and in any child cgroup a process made below it). */
  async members(dir: string): Promise<number[]> {
    const out: number[] = [];
    const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const l of text.split('\n')) if (/^\d+$/.test(l)) out.push(Number(l));
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) out.push(...(await this.members(join(dir, e.name))));
    return out;
  }

  async populated(dir: string): Promise<boolean> {
    const events = await readFile(join(dir, 'cgroup.events'), 'utf8').catch(() => undefined);
    if (events === undefined) return false; // no cgroup: nothing in it
    return /^populated 1$/m.test(events);
  }

  /**
   * Stops everything in the cgroup: SIGTERM to every member, up to `graceMs` for them to end,
   * then SIGKILL to all (cgroup.kill, which also catches what forks meanwhile), then the empty
   * cgroup is removed. Resolves once nothing is left; throws if something survives SIGKILL.
   */
  async stop(dir: string, graceMs: number): Promise<void> {
    if (await this.populated(dir)) {
      for (const pid of await this.members(dir)) signal(pid, 'SIGTERM');
      for (const deadline = Date.now() + graceMs; Date.now() < deadline && (await this.populated(dir)); ) await sleep(25);
      await this.kill(dir);
    }
    await this.remove(dir);
  }

  /** SIGKILL to everything in the cgroup, waiting until it is empty. */
  async kill(dir: string): Promise<void> {
    for (let i = 0; i < 400 && (await this.populated(dir)); i++) {
      // cgroup.kill (Linux 5.14+) kills atomically, forks included; else each member, again until empty.
      const viaFile = await writeFile(join(dir, 'cgroup.kill'), '1').then(
        () => true,
        () => false,
      );
      if (!viaFile) for (const pid of await this.members(dir)) signal(pid, 'SIGKILL');
      await sleep(25);
    }
    if (await this.populated(dir)) throw new Error(`processes in ${dir} survived SIGKILL: ${(await this.members(dir)).join(', ')}`);
  }

  /** Removes the (empty) cgroup and, if they are empty too, the service's and the data dir's folders. */
  async remove(dir: string): Promise<void> {
    for (const sub of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (sub.isDirectory()) await this.remove(join(dir, sub.name));
    await rmdir(dir).catch(() => undefined);
    for (let up = dirname(dir); up.startsWith(this.base) && up !== dirname(this.base); up = dirname(up)) {
      if (!(await rmdir(up).then(() => true, () => false))) break;
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * The data dir's cgroups, or undefined where the agent cannot create cgroups. `root` overrides
 * where they go (a folder in a cgroup2 hierarchy; false: never use cgroups).
 */
export async function openCgroups(dataDir: string, root?: string | false): Promise<NodeCgroups | undefined> {
  if (root === false) return undefined;
  const parent = root ?? (await cgroup2Mount().then((m) => (m ? join(m, 'kaidu') : undefined)));
  if (!parent) return undefined;
  const base = join(parent, createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16));
  try {
    await mkdir(base, { recursive: true });
    // A folder we can make but not move processes into (no delegation, a cgroup namespace) is no
    // use: a short-lived shell tries to join a probe cgroup, as the supervisor will.
    const probe = join(base, `probe#${process.pid}`); // "#": never a service name
    await mkdir(probe, { recursive: true });
    const joined = await new Promise<boolean>((done) => {
      execFile('/bin/sh', ['-c', 'echo $$ > "$1/cgroup.procs"', 'sh', probe], { timeout: 30_000 }, (err) => done(!err));
    });
    for (let i = 0; i < 200 && (await rmdir(probe).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'EBUSY')); i++) await sleep(10);
    if (!joined) return undefined;
  } catch {
    return undefined;
  }
  // Recorded for whoever cleans up after the agent (kaidu demo, tests: see kill-managed.ts).
  await mkdir(dataPath(dataDir, 'run'), { recursive: true });
  await writeFile(dataPath(dataDir, 'run', 'cgroup'), `${base}\n`);
  return new NodeCgroups(base);
}
