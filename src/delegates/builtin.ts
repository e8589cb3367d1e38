import { ConfigFileDelegate } from './config-file.js';
import { DirectoryDelegate } from './directory.js';
import { PortDelegate } from './port.js';
import { ProcessDelegate } from './process.js';
import { DelegateRegistry, type BuiltinOptions } from './registry.js';
import { hasScriptOperations, ScriptDelegate, standardInterface } from './script.js';
import { recordOnly } from './record-only.js';
import { runtimeDelegates } from './runtimes.js';

/** Every built-in delegate, with Standard-interface scripts layered over them. */
export function builtinRegistry(opts: BuiltinOptions): DelegateRegistry {
  const registry = new DelegateRegistry();
  registry.register(new ProcessDelegate(opts));
  registry.register(new PortDelegate());
  registry.register(new DirectoryDelegate());
  registry.register(new ConfigFileDelegate());
  for (const d of runtimeDelegates(opts)) registry.register(d);
  registry.register(recordOnly, ['kaidu:Host']);
  const scripts = new Map<string, ScriptDelegate>();
  registry.scriptLayer = (inner, interfaces) => {
    if (!hasScriptOperations(interfaces)) return undefined;
    const d = new ScriptDelegate(inner, standardInterface(interfaces)!);
    scripts.set(d.name, d);
    return d;
  };
  return registry;
}
