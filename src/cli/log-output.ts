/**
 * Where the CLI's pino logs go and how they look: JSON lines for machines (`--json`, or when the
 * stream is not a terminal: systemd, pipes, files), one readable line per record on a terminal.
 * Colour only on a terminal and never with NO_COLOR.
 */
import type { DestinationStream, Logger } from 'pino';
import { createLogger } from '../agent/logger.js';
import { useColor } from '../plan/index.js';

type Stream = { write(s: string): unknown; isTTY?: boolean };

const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '\x1b[90m' },
  20: { name: 'DEBUG', colour: '\x1b[90m' },
  30: { name: 'INFO', colour: '\x1b[32m' },
  40: { name: 'WARN', colour: '\x1b[33m' },
  50: { name: 'ERROR', colour: '\x1b[31m' },
  60: { name: 'FATAL', colour: '\x1b[41m' },
};
/** Fields every record has, or that the line shows elsewhere. */
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);

function field(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return typeof v === 'string' && /^[^\s"=]+$/.test(v) ? s : JSON.stringify(s.length > 500 ? s.slice(0, 497) + '…' : s);
}

/** One pino JSON record as `12:00:01 WARN message key=value …`; an `err` shows its message. */
export function humanLine(json: string, colour: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : json + '\n';
  }
  const level = LEVELS[Number(rec.level)] ?? { name: String(rec.level), colour: '' };
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 19) : '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (SKIP.has(k) || v === undefined) continue;
    if (k === 'err' && v && typeof v === 'object' && 'message' in v) parts.push(`err=${field((v as { message: unknown }).message)}`);
    else parts.push(`${k}=${field(v)}`);
  }
  const name = colour ? `${level.colour}${level.name.padEnd(5)}\x1b[0m` : level.name.padEnd(5);
  const msg = typeof rec.msg === 'string' ? rec.msg : '';
  return `${time} ${name} ${msg}${parts.length ? ' ' + parts.join(' ') : ''}\n`;
}

/** A pino destination that writes human lines to `stream`. */
export function humanDestination(stream: Stream, colour: boolean): DestinationStream {
  return { write: (s: string) => void stream.write(humanLine(s.replace(/\n$/, ''), colour)) };
}

/** A logger writing to `stream`: JSON when asked or not a terminal, else human lines. */
export function cliLogger(opts: { stream: Stream; env: NodeJS.ProcessEnv; json?: boolean; level?: string; name?: string }): Logger {
  const human = !opts.json && Boolean(opts.stream.isTTY);
  const destination: DestinationStream = human ? humanDestination(opts.stream, useColor(opts.stream, opts.env)) : { write: (s: string) => void opts.stream.write(s) };
  return createLogger({ ...(opts.level ? { level: opts.level } : {}), ...(opts.name ? { name: opts.name } : {}), destination });
}
