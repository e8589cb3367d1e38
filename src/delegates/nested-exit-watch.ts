/**
 * Exits of processes nested in a workload, as events. The launcher inside (nested-process.ts)
 * writes `<dir>/exit` when the process ends; the agent watches that folder through the workload's
 * root as the outer machine sees it (`/proc/<pid>/root` of a container's main process) with native
 * file events (inotify), the way it watches a bare process's supervisor files. Chosen over an
 * exec session per process (a host process per node, lost with the agent) and engine events (they
 * see the exec that launched it end at once, never the process): nothing polls, nothing runs
 * beside the process, and the exit file stays inside, so an agent restarted later re-watches when
 * it re-adopts the process (inspect), and one that was down meanwhile reads the exit from the file.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import type { NestedHost } from './nested-host.js';
import type { DelegateContext, ExitEvent } from './types.js';

interface Watched {
  watcher: FSWatcher;
  pid: number;
  outer: string;
  nodeId: string;
  onExit: (e: ExitEvent) => void;
  reported: boolean;
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** A shell's `$?` for a child killed by signal N is 128 + N: read back as the signal, as a bare process's supervisor reports it. */
export function exitOf(code: number): { exitCode: number | null; signal: string | null } {
  const sig = code > 128 ? SIGNAL_NAMES.get(code - 128) : undefined;
  return sig ? { exitCode: null, signal: sig } : { exitCode: code, signal: null };
}

export class NestedExitWatch {
  private readonly watched = new Map<string, Watched>();

  /**
   * Reports the exit of process `pid` (the copy this node runs now) through `ctx.onExit`, once.
   * Without an exit sink, or where the workload cannot be seen from outside, nothing is watched
   * (the exit is then seen when the node is next inspected), and the log says so.
   */
  async watch(ctx: DelegateContext, host: NestedHost, dir: string, pid: number): Promise<void> {
    // A caller without an exit sink (a one-off inspect) leaves the agent's watch alone.
    if (!ctx.onExit) return;
    const current = this.watched.get(ctx.node.id);
    if (current && current.pid === pid && !current.reported) return;
    this.forget(ctx.node.id);
    const outer = host.hostPath ? await host.hostPath(ctx.runner, dir).catch((err: unknown) => (ctx.logger.warn({ node: ctx.node.id, err: (err as Error).message }, 'cannot find the workload on the host'), undefined)) : undefined;
    if (!outer) {
      ctx.logger.warn({ node: ctx.node.id, inside: host.description }, `the exit of ${ctx.node.id} cannot be watched from outside ${host.description}: it is seen when the node is next inspected`);
      return;
    }
    let watcher: FSWatcher;
    try {
      watcher = watch(outer, (_event, file) => {
        if (file === null || String(file) === 'exit') void this.check(entry);
      });
    } catch (err) {
      ctx.logger.warn({ node: ctx.node.id, err: (err as Error).message }, `cannot watch ${outer}: the exit of ${ctx.node.id} is seen when the node is next inspected`);
      return;
    }
    const entry: Watched = { watcher, pid, outer, nodeId: ctx.node.id, onExit: ctx.onExit, reported: false };
    watcher.on('error', () => this.drop(entry));
    watcher.unref();
    this.watched.set(ctx.node.id, entry);
    // It may have ended before the watch began.
    await this.check(entry);
  }

  /** Stops watching a node (before Kaidu stops the process itself: that exit is not news). */
  forget(nodeId: string): void {
    const e = this.watched.get(nodeId);
    if (e) this.drop(e);
  }

  /** How many nodes are watched (for tests and metrics). */
  get size(): number {
    return this.watched.size;
  }

  private drop(e: Watched): void {
    e.watcher.close();
    if (this.watched.get(e.nodeId) === e) this.watched.delete(e.nodeId);
  }

  private async check(e: Watched): Promise<void> {
    if (e.reported) return;
    const [pid, exit] = await Promise.all([readFile(`${e.outer}/pid`, 'utf8').catch(() => ''), readFile(`${e.outer}/exit`, 'utf8').catch(() => '')]);
    // Another copy's files (a newer launch), or no exit yet (the file is renamed into place whole).
    if (pid.trim() !== String(e.pid) || !/^\d+$/.test(exit.trim())) return;
    if (e.reported || this.watched.get(e.nodeId) !== e) return;
    e.reported = true;
    this.drop(e);
    e.onExit({ nodeId: e.nodeId, ...exitOf(Number(exit.trim())), at: new Date().toISOString() });
  }
}
