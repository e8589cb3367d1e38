/** libvirt domains the VM tests make (`<prefix><pid>`), and their removal, also after a killed run. */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Runs virsh; resolves with its exit code whatever it is. */
export async function virsh(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec('virsh', args, { timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Destroys and undefines a test domain and removes its disk, seed and work folder. */
export async function removeTestVm(name: string): Promise<void> {
  await virsh('destroy', name);
  await virsh('undefine', name);
  const disk = `/var/lib/libvirt/images/${name}.qcow2`;
  await rm(disk, { force: true });
  await rm(`${disk}.cidata.iso`, { force: true });
  await rm(join('/var/tmp', `${name}-work`), { recursive: true, force: true });
}

/** Domains named `<prefix><pid>` whose test process is gone (killed before its cleanup). */
export async function removeLeftovers(prefix: string): Promise<void> {
  for (const name of (await virsh('list', '--all', '--name')).stdout.split('\n').map((l) => l.trim())) {
    if (!name.startsWith(prefix)) continue;
    const pid = /^\d+$/.test(name.slice(prefix.length)) ? Number(name.slice(prefix.length)) : undefined;
    if (pid === undefined || pid === process.pid) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) await removeTestVm(name);
  }
}
