/** Something that says "look again": events decide when a pass runs, never what it does. */
export interface RepoEvent {
  source: 'github' | 'gitlab' | 'gitea' | 'generic' | 'watch' | 'hook' | 'exit' | 'start' | 'sync';
  ref?: string;
  /** The revision the sender says is new (informational: the pass fetches and reads the ref). */
  after?: string;
  deliveryId?: string;
  receivedAt: string;
  detail?: Record<string, unknown>;
}
