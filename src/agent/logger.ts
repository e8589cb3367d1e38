import { pino, type Logger, type DestinationStream } from 'pino';

/** Paths pino blanks out wherever they appear: a secret never reaches a log line. */
export const REDACT_PATHS = [
  'token',
  'secret',
  'password',
  'authorization',
  '*.token',
  '*.secret',
  '*.password',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-gitlab-token"]',
  'req.headers["x-hub-signature-256"]',
  'auth.token',
];

export function createLogger(opts: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'kaidu',
      level: opts.level ?? process.env.KAIDU_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    opts.destination,
  );
}
