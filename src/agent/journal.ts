import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dataPath } from '../delegates/data-dir.js';
import { parseServiceState } from '../state/parse.js';
import { serializeServiceState } from '../state/serialize.js';
import { writeFileAtomic } from '../state/write-file.js';
import type { ServiceState } from '../state/model.js';

/**
 * This host's state as the agent last knew it, kept in the data directory until it is pushed.
 * Written atomically after every action, so an agent killed between apply and push (or in the
 * middle of an apply) restarts knowing what it already started: nothing is lost or started twice.
 */
export class Journal {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = dataPath(dataDir, 'journal');
  }

  /** Replace the journal with these service states (null: the service has no nodes left). */
  async write(states: Record<string, ServiceState | null>, revision: string): Promise<void> {
    // Private: resolved properties and injected environment can hold what a template keeps secret.
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const [service, st] of Object.entries(states)) {
      const file = dataPath(this.dir, `${service}.yaml`);
      if (st) await writeFileAtomic(file, serializeServiceState(st), 0o600);
      else await writeFileAtomic(file, '# removed\n', 0o600);
    }
    await writeFileAtomic(join(this.dir, 'PENDING'), `${revision}\n`, 0o600);
  }

  /** The journaled states, when a pass did not finish pushing them. */
  async read(host: string): Promise<{ states: Record<string, ServiceState | null>; revision: string } | undefined> {
    let revision: string;
    try {
      revision = (await readFile(join(this.dir, 'PENDING'), 'utf8')).trim();
    } catch {
      return undefined;
    }
    const states: Record<string, ServiceState | null> = {};
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.yaml')) continue;
      const service = name.slice(0, -5);
      const text = await readFile(join(this.dir, name), 'utf8');
      if (text.startsWith('# removed')) {
        states[service] = null;
        continue;
      }
      const parsed = parseServiceState(text, join(this.dir, name), { host, service });
      // A damaged journal entry is dropped: the repository still has the last pushed state.
      if (parsed.state) states[service] = parsed.state;
    }
    return { states, revision };
  }

  /** After a successful push: the repository now holds everything. */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
