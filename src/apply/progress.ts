import type { Action } from '../plan/model.js';

export type ProgressEvent =
  | { type: 'start'; action: Action; done: number; total: number }
  | { type: 'done'; action: Action; done: number; total: number; durationMs: number }
  | { type: 'failed'; action: Action; done: number; total: number; durationMs: number; error: string }
  | { type: 'skipped'; action: Action; done: number; total: number; reason: string };

/**
 * A live one-line progress display on a TTY, a log line per event otherwise. The line is
 * redrawn in place, so a 1,000-action apply does not scroll the terminal away.
 */
export function progressPrinter(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): (e: ProgressEvent) => void {
  const running = new Set<string>();
  const tty = Boolean(stream.isTTY);
  const clear = () => tty && stream.write('\r\x1b[2K');
  return (e) => {
    const sym = { create: '+', update: '~', delete: '-', noop: ' ', wait: '…' }[e.action.kind];
    if (e.type === 'start') running.add(e.action.node);
    else running.delete(e.action.node);
    if (e.type !== 'start') {
      clear();
      const what = `${sym} ${e.action.node}`;
      if (e.type === 'done') stream.write(`${what}: done in ${(e.durationMs / 1000).toFixed(1)}s\n`);
      else if (e.type === 'failed') stream.write(`${what}: FAILED after ${(e.durationMs / 1000).toFixed(1)}s: ${e.error}\n`);
      else stream.write(`${what}: skipped: ${e.reason}\n`);
    } else if (!tty) stream.write(`${sym} ${e.action.node}: ${e.action.kind}…\n`);
    if (tty && running.size > 0) {
      const line = `[${e.done}/${e.total}] ${[...running].join(', ')}`;
      stream.write(line.slice(0, (stream.columns ?? 100) - 1));
    }
  };
}
