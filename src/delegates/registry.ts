import type { DelegateSelector } from '../apply/apply.js';
import type { CompiledInterface } from '../tosca/model.js';
import type { CommandRunner, Delegate } from './types.js';
import { hasScriptOperations, ScriptDelegate, SCRIPT_DELEGATE } from './script.js';

export interface BuiltinOptions {
  dataDir: string;
  runner: CommandRunner;
  /** The address this host advertises to others (agent `--address`): a Port's discovered address. */
  advertiseAddress?: string;
}

/**
 * Chooses a node's delegate: the one registered for its most-derived type (`types` is
 * most-derived first), with the node's Standard-interface scripts layered over it, else the
 * fallback (the built-in registry falls back to record-only), else undefined.
 */
export class DelegateRegistry implements DelegateSelector {
  private readonly byType = new Map<string, Delegate>();
  private readonly named = new Map<string, Delegate>();
  private readonly fallback: Delegate | undefined;

  constructor(opts: { fallback?: Delegate } = {}) {
    this.fallback = opts.fallback;
    if (opts.fallback) this.named.set(opts.fallback.name, opts.fallback);
  }

  /** Registers `delegate` for `types` (default: its `handles`); a later registration of a type wins. */
  register(delegate: Delegate, types: readonly string[] = delegate.handles): this {
    for (const t of types) this.byType.set(t, delegate);
    this.named.set(delegate.name, delegate);
    return this;
  }

  /** The delegate registered for the most-derived of `types`, ignoring scripts and the fallback. */
  forTypes(types: readonly string[]): Delegate | undefined {
    for (const t of types) {
      const d = this.byType.get(t);
      if (d) return d;
    }
    return undefined;
  }

  select(node: { types: readonly string[]; interfaces?: Record<string, CompiledInterface> }): Delegate | undefined {
    const builtIn = this.forTypes(node.types);
    // Scripts replace the steps they define; a node with scripts and no delegate is scripts alone.
    if (node.interfaces && hasScriptOperations(node.interfaces)) return new ScriptDelegate(builtIn);
    return builtIn ?? this.fallback;
  }

  /**
   * The delegate a state file names (`NodeState.delegate`), so a delete or a re-adoption reaches
   * the one that made the node: `script` or `script+<inner>` for scripted nodes.
   */
  byName(name: string): Delegate | undefined {
    if (name === SCRIPT_DELEGATE) return new ScriptDelegate(undefined);
    if (name.startsWith(`${SCRIPT_DELEGATE}+`)) {
      const inner = this.named.get(name.slice(SCRIPT_DELEGATE.length + 1));
      return inner ? new ScriptDelegate(inner) : undefined;
    }
    return this.named.get(name);
  }

  /** Names of the registered delegates and the types each handles (for `kaidu status` and debugging). */
  describe(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [type, d] of this.byType) (out[d.name] ??= []).push(type);
    return out;
  }
}
