import type { BuiltinOptions } from './registry.js';
import type { Delegate } from './types.js';

export function runtimeDelegates(_opts: BuiltinOptions): Delegate[] {
  return [];
}
