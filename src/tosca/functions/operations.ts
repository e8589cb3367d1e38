/**
 * The operations an interface type declares along its chain: 2.0 and 1.3 under `operations:`,
 * 1.0–1.2 as the type's own keys (every key that is not one of the type's keywords).
 */
import type { Loader } from '../loader.js';
import { entries, field } from '../yaml-source.js';

const NOT_OPERATIONS = new Set(['derived_from', 'version', 'metadata', 'description', 'inputs', 'operations', 'notifications']);

export function interfaceTypeOperations(loader: Loader, types: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const t of types) {
    const def = loader.def('interface', t);
    if (!def) continue;
    const ops = field(def.node, 'operations');
    if (ops !== undefined) for (const [name] of entries(ops)) out.add(name);
    else for (const [name] of entries(def.node)) if (!NOT_OPERATIONS.has(name)) out.add(name);
  }
  return out;
}
