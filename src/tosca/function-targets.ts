/**
 * `$get_attribute: [node, name, ...]` must name something the target has: an attribute or a
 * property its type declares (TOSCA lets get_attribute read properties), a capability or a
 * requirement. Otherwise a process would silently get an empty value at run time.
 */
import type { CompiledNode } from './model.js';
import { didYouMean } from './suggest.js';

export function unknownAttribute(target: CompiledNode, key: string, attributes: ReadonlyMap<string, unknown>, properties: ReadonlyMap<string, unknown>): { message: string; hint?: string } | undefined {
  if (attributes.has(key) || properties.has(key) || key in target.attributes || key in target.properties || key in target.capabilities) return undefined;
  if (target.requirements.some((r) => r.name === key)) return undefined;
  const known = [...attributes.keys(), ...properties.keys()];
  return {
    message: `get_attribute: node "${target.name}" (${target.type}) has no attribute or property "${key}"`,
    hint: didYouMean(key, known) ?? (known.length ? `it has: ${known.join(', ')}` : undefined),
  };
}
