import type { Logger } from 'pino';

/** Who said "look again". */
export type RepoEventSource = 'github' | 'gitlab' | 'gitea' | 'generic' | 'watch' | 'hook' | 'exit' | 'start' | 'sync' | 'retry' | 'relay';

/**
 * Something that says "look again": events decide when a pass runs, never what it does. The pass
 * fetches and re-reads the ref itself; `after` is what the sender believed, for logs and metrics.
 */
export interface RepoEvent {
  source: RepoEventSource;
  ref?: string;
  /** The revision the sender says is new (informational: the pass fetches and reads the ref). */
  after?: string;
  deliveryId?: string;
  /** ISO 8601. */
  receivedAt: string;
  detail?: Record<string, unknown>;
}

/** The part of a pino logger the event sources use (a pino `Logger` fits). */
export type EventLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
