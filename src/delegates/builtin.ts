import { ConfigFileDelegate } from './config-file.js';
import { DirectoryDelegate } from './directory.js';
import { PortDelegate } from './port.js';
import { ProcessDelegate } from './process.js';
import { DelegateRegistry, type BuiltinOptions } from './registry.js';
import { recordOnly } from './record-only.js';
import { runtimeDelegates } from './runtimes.js';

/**
 * Every built-in delegate. Standard-interface scripts are layered over them by the registry;
 * nodes of types Kaidu does not act on (kaidu:Host, standard TOSCA nodes without scripts, types of
 * a plugin that is not configured) are recorded by the record-only fallback.
 */
export function builtinRegistry(opts: BuiltinOptions): DelegateRegistry {
  const registry = new DelegateRegistry({ fallback: recordOnly });
  registry.register(new ProcessDelegate(opts));
  registry.register(new PortDelegate(opts.advertiseAddress ? { advertise: opts.advertiseAddress } : {}));
  registry.register(new DirectoryDelegate());
  registry.register(new ConfigFileDelegate());
  for (const d of runtimeDelegates(opts)) registry.register(d);
  registry.register(recordOnly, ['kaidu:Host']);
  return registry;
}

/** The name the brief and the docs use: same as `builtinRegistry`. */
export const builtinDelegates = builtinRegistry;
