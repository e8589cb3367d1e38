/**
 * When a VirtualMachine is up: the node is `running` only once the guest shows it booted, never
 * because `virsh start` returned (that only means qemu started). Two observations, chosen by the
 * node's `readiness` property:
 *
 * - `address` (the default): the guest took an address on its network (its DHCP lease, as
 *   `virsh domifaddr` reports it): its kernel and network stack are up.
 * - `console: TEXT`: the guest printed a line containing TEXT on its serial console (the log file
 *   virtlogd writes), e.g. cloud-init's "Cloud-init ... finished" or a login prompt.
 *
 * The console is watched (fs.watch) with a slow re-read as a safety net; the address has no event
 * to wait on and is asked with a back-off. Both give up early when the domain stops running.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';

/** `failure`: a console text that means the guest will not come up as asked (fails the wait at once). */
export type BootCheck = { kind: 'address' } | { kind: 'console'; text: string; failure?: string };

export interface VmReadiness {
  check: BootCheck;
  timeoutS: number;
}

/** Default seconds a guest has to boot: software emulation under load is slow. */
export const VM_BOOT_TIMEOUT_S = 600;

/**
 * Reads the `readiness` property (`{ address: true }` or `{ console: TEXT }`, optional `timeout`).
 * `fallback` is the check when the property is absent (default: the address).
 */
export function parseVmReadiness(v: PlainValue | undefined, nodeId: string, fallback: BootCheck = { kind: 'address' }): VmReadiness {
  if (v === undefined || v === null) return { check: fallback, timeoutS: VM_BOOT_TIMEOUT_S };
  const bad = (why: string) => new KaiduError('E_DELEGATE', `${nodeId}: readiness ${why}`);
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('must be a map with address or console (and timeout)');
  for (const k of Object.keys(v)) if (!['address', 'console', 'timeout'].includes(k)) throw bad(`has an unknown key "${k}" (a VM's readiness is address or console, and timeout)`);
  const t = v.timeout;
  const timeoutS = t === undefined || t === null ? VM_BOOT_TIMEOUT_S : typeof t === 'number' && t > 0 ? t : NaN;
  if (!Number.isFinite(timeoutS)) throw bad('timeout must be a positive number of seconds');
  const hasConsole = v.console !== undefined && v.console !== null;
  if (hasConsole && v.address !== undefined && v.address !== null) throw bad('gives address and console: give one');
  if (hasConsole) {
    if (typeof v.console !== 'string' || !v.console || v.console.includes('\n')) throw bad('console must be a non-empty text on one line');
    return { check: { kind: 'console', text: v.console }, timeoutS };
  }
  if (v.address === undefined || v.address === null) return { check: fallback, timeoutS };
  if (v.address !== true) throw bad('address must be true');
  return { check: { kind: 'address' }, timeoutS };
}

/** Largest console log read while waiting; a guest that floods its console still gets its tail read. */
const MAX_CONSOLE_READ = 8 * 1024 * 1024;

/** Reads a console log from `offset`; a missing file is empty (virtlogd creates it at start). */
export async function readConsole(file: string, offset = 0): Promise<{ text: string; end: number }> {
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!fh) return { text: '', end: 0 };
  try {
    const { size } = await fh.stat();
    // Emptied since (a restart with append='off'): read from the start.
    const from = size < offset ? 0 : Math.max(offset, size - MAX_CONSOLE_READ);
    const buf = Buffer.alloc(size - from);
    if (buf.length) await fh.read(buf, 0, buf.length, from);
    return { text: buf.toString('utf8'), end: size };
  } finally {
    await fh.close();
  }
}

export interface BootWaitOptions {
  timeoutS: number;
  signal: AbortSignal;
  /** The guest's address now, or undefined (for `address`). */
  address: () => Promise<string | undefined>;
  /** Why the guest will not come up (the domain is no longer running), or undefined. */
  gone: () => Promise<string | undefined>;
  /** The serial console's log file (for `console`). */
  consoleLog: string;
  what: string;
}

/** Waits until the check passes; throws E_DELEGATE (gone), E_DELEGATE_TIMEOUT or E_APPLY_CANCELLED. */
export async function waitBooted(check: BootCheck, opts: BootWaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutS * 1000;
  let offset = 0;
  let carry = '';
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  if (check.kind === 'console') {
    // Events for the log file wake the wait at once; the directory is watched since the file
    // may not exist yet.
    try {
      watcher = watch(dirname(opts.consoleLog), (_event, name) => {
        if (!name || name === basename(opts.consoleLog)) wake?.();
      });
      watcher.on('error', () => undefined);
    } catch {
      watcher = undefined;
    }
  }
  const onAbort = () => wake?.();
  opts.signal.addEventListener('abort', onAbort);
  try {
    let delay = 250;
    let lastGoneCheck = 0;
    for (;;) {
      if (opts.signal.aborted) throw new KaiduError('E_APPLY_CANCELLED', `${opts.what}: cancelled while waiting for the guest to boot`);
      if (check.kind === 'console') {
        const { text, end } = await readConsole(opts.consoleLog, offset);
        if (end < offset) carry = '';
        offset = end;
        // Keep the unfinished last line, so a text split over two writes is still found.
        const seen = carry + text;
        if (seen.includes(check.text)) return;
        if (check.failure && seen.includes(check.failure)) {
          const line = seen.slice(seen.indexOf(check.failure)).split('\n')[0]!.trim();
          throw new KaiduError('E_DELEGATE', `${opts.what}: the guest reported "${line}" (${opts.consoleLog})`);
        }
        carry = seen.slice(-Math.max(check.text.length, check.failure?.length ?? 0));
      } else if (await opts.address()) {
        return;
      }
      const now = Date.now();
      if (now >= deadline) {
        const what = check.kind === 'console' ? `its console showed no "${check.text}" (${opts.consoleLog})` : 'it took no address on its network (virsh domifaddr)';
        throw new KaiduError('E_DELEGATE_TIMEOUT', `${opts.what} did not boot within ${opts.timeoutS}s: ${what}`);
      }
      if (now - lastGoneCheck >= 2000) {
        lastGoneCheck = now;
        const why = await opts.gone();
        if (why) throw new KaiduError('E_DELEGATE', `${opts.what} stopped before it booted: ${why}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(delay, Math.max(0, deadline - Date.now())));
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
      delay = Math.min(delay * 2, 1000);
    }
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    watcher?.close();
  }
}
