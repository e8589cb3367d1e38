/**
 * node:crypto loaded when first used. Loading it costs more start-up CPU than a one-node
 * `validate` spends compiling (issue 16), and a validate of files named on the command line never
 * hashes anything: modules on that path take it from here instead of importing it.
 */
import { createRequire } from 'node:module';

let loaded: typeof import('node:crypto') | undefined;

export function nodeCrypto(): typeof import('node:crypto') {
  return (loaded ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));
}
