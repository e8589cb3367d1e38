/**
 * Cleanup for the demo and the tests: Process delegates' services outlive the agent by design, so
 * whoever started the agents stops what they left running.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readPidFile } from '../delegates/process.js';

/**
 * SIGKILL to every process group recorded by a Process delegate's pid file (`*.pid`, any depth)
 * under `dir`; to the recorded leader alone if its group is gone. What has already exited is
 * skipped. The start time is not checked: this is for short-lived test and demo folders.
 */
export async function killManaged(dir: string): Promise<void> {
  for (const file of await pidFiles(dir)) {
    const rec = await readPidFile(file);
    if (rec) killGroup(rec.leader);
  }
}

async function pidFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  // A folder that vanished or never existed has nothing to stop.
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) found.push(...(await pidFiles(p)));
    else if (e.isFile() && e.name.endsWith('.pid')) found.push(p);
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
