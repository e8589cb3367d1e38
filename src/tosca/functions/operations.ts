/** The operations an interface type declares along its chain (see `TypeRecord.operations`). */
import type { Loader } from '../loader.js';

export function interfaceTypeOperations(loader: Loader, types: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const t of types) {
    const def = loader.def('interface', t);
    if (def) for (const name of def.rec.operations) out.add(name);
  }
  return out;
}
