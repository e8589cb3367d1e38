import type { UiSnapshot } from './snapshot.js';

/** Where the fleet page's data comes from: an agent, a checkout, or a hub URL. */
export interface FleetView {
  /** Whether `subscribe` ever fires (the page says whether it is live). */
  readonly live: boolean;
  snapshot(): Promise<UiSnapshot>;
  /** `changed` means only "look again": the page fetches a new snapshot. Returns the unsubscribe. */
  subscribe(changed: (reason: string) => void): () => void;
  close(): Promise<void>;
}

/** A set of listeners, each called in turn; one failing does not stop the others. */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void>();
  add(fn: (value: T) => void): () => void {
    this.set.add(fn);
    return () => this.set.delete(fn);
  }
  emit(value: T): void {
    for (const fn of this.set) {
      try {
        fn(value);
      } catch {
        // A listener is a page's event stream; a broken one must not stop the others.
      }
    }
  }
}
