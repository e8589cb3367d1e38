/**
 * Cleanup for the demo and the tests: Process delegates' services outlive the agent by design, so
 * whoever started the agents stops what they left running.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { NodeCgroups } from '../delegates/cgroup.js';
import { readPidFile } from '../delegates/process.js';

/**
 * SIGKILL to every process group recorded by a Process delegate's pid file (`*.pid`, any depth)
 * under `dir`; to the recorded leader alone if its group is gone. What has already exited is
 * skipped. The start time is not checked: this is for short-lived test and demo folders.
 */
export async function killManaged(dir: string): Promise<void> {
  const { pids, cgroups } = await recordedFiles(dir);
  for (const file of pids) {
    const rec = await readPidFile(file);
    if (rec) killGroup(rec.leader);
  }
  // An agent that used cgroups recorded their folder in <dataDir>/run/cgroup: everything in it
  // goes (daemons that left the process group included), then the empty cgroups.
  for (const file of cgroups) {
    const base = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (!/\/kaidu\/[0-9a-f]{16}$/.test(base)) continue;
    const cg = new NodeCgroups(base);
    await cg.kill(base).catch(() => undefined);
    await cg.remove(base);
  }
}

async function recordedFiles(dir: string, found: { pids: string[]; cgroups: string[] } = { pids: [], cgroups: [] }): Promise<{ pids: string[]; cgroups: string[] }> {
  // A folder that vanished or never existed has nothing to stop.
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await recordedFiles(p, found);
    else if (e.isFile() && e.name.endsWith('.pid')) found.pids.push(p);
    else if (e.isFile() && e.name === 'cgroup' && basename(dir) === 'run') found.cgroups.push(p);
  }
  return found;
}

function killGroup(leader: number): void {
  try {
    process.kill(-leader, 'SIGKILL');
  } catch {
    try {
      process.kill(leader, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
