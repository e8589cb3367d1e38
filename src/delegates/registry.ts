import type { DelegateSelector } from '../apply/apply.js';
import type { CompiledInterface } from '../tosca/model.js';
import type { CommandRunner, Delegate } from './types.js';
import { recordOnly } from './record-only.js';

/** Chooses a node's delegate by its most-derived type that has one; scripts and plugins can take over. */
export class DelegateRegistry implements DelegateSelector {
  private readonly byType = new Map<string, Delegate>();
  private readonly named = new Map<string, Delegate>();
  /** Wraps a delegate when the node has Standard-interface scripts (set by the script module). */
  scriptLayer?: (inner: Delegate | undefined, interfaces: Record<string, CompiledInterface>) => Delegate | undefined;

  register(delegate: Delegate, types: readonly string[] = delegate.handles): this {
    for (const t of types) this.byType.set(t, delegate);
    this.named.set(delegate.name, delegate);
    return this;
  }

  select(node: { types: readonly string[]; interfaces?: Record<string, CompiledInterface> }): Delegate | undefined {
    const builtIn = node.types.map((t) => this.byType.get(t)).find((d) => d !== undefined);
    const layered = this.scriptLayer && node.interfaces ? this.scriptLayer(builtIn, node.interfaces) : undefined;
    return layered ?? builtIn ?? recordOnly;
  }

  byName(name: string): Delegate | undefined {
    return this.named.get(name) ?? (name === recordOnly.name ? recordOnly : undefined);
  }
}

export interface BuiltinOptions {
  dataDir: string;
  runner: CommandRunner;
}
