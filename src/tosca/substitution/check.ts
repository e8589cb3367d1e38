/**
 * Substitution mappings (TOSCA 1.3 §3.8, 2.0 §15) checked against the service they expose: every
 * mapped property, attribute, capability, requirement and interface is one the substituted node
 * type declares, and maps to something that exists here (an input, an output, a node template's
 * capability, requirement, attribute or interface) of a compatible type. Applying a mapping (a
 * node with the `substitute` directive replaced by a service) is `substitute.ts` and `apply.ts`.
 */
import type { SourceLocation } from '../diagnostic.js';
import type { CompiledNode } from '../model.js';
import { didYouMean } from '../suggest.js';
import type { YamlSource } from '../yaml-source.js';
import type { MappingEntry, Offset, SubstitutionMappings } from '../document/records.js';
import { locationAt } from '../document/offsets.js';

export interface SubstitutionContext {
  src: YamlSource;
  /** The substituted node type (canonical) and what it declares, by kind. */
  declared: { properties: string[]; attributes: string[]; capabilities: Map<string, string>; requirements: string[]; interfaces: string[] };
  nodes: Record<string, CompiledNode>;
  inputs: string[];
  outputs: string[];
  workflows: string[];
  /** Requirements a node type declares (compiled nodes list only those assigned). */
  requirementsOf(node: CompiledNode): string[];
  /** Attributes and properties a node's type declares. */
  attributesOf(node: CompiledNode): string[];
  report(message: string, at: SourceLocation, hint?: string): void;
}

export function checkSubstitution(mappings: SubstitutionMappings, typeName: string, ctx: SubstitutionContext): void {
  const at = (offset: Offset) => locationAt(ctx.src, offset);
  const names = (e: MappingEntry): string[] => (e.single !== undefined ? [e.single] : e.items.map((i) => i ?? ''));
  const declaredKey = (kind: string, key: string, known: readonly string[], pair: Offset): boolean => {
    if (known.includes(key)) return true;
    ctx.report(`substitution mapping: node type ${typeName} has no ${kind} "${key}"`, at(pair), didYouMean(key, known) ?? (known.length ? `it has: ${known.join(', ')}` : `it declares no ${kind}s`));
    return false;
  };
  const template = (name: string, where: Offset): CompiledNode | undefined => {
    const node = ctx.nodes[name];
    if (!node) ctx.report(`substitution mapping: "${name}" is not a node template`, at(where), didYouMean(name, Object.keys(ctx.nodes)));
    return node;
  };

  for (const e of mappings.properties) {
    const { name: key, at: pair, valueAt: v } = e;
    if (!declaredKey('property', key, ctx.declared.properties, pair)) continue;
    // `[ input ]` or (deprecated) `[ node, property ]`; anything else is a value given to the property.
    if (e.single !== undefined || !e.items.length) continue;
    const [first, second] = names(e);
    if (second !== undefined) {
      const node = template(first!, v);
      if (node && !(second in node.properties) && !ctx.attributesOf(node).includes(second)) ctx.report(`substitution mapping: node "${first}" has no property "${second}"`, at(v));
    } else if (first !== undefined && !ctx.inputs.includes(first)) {
      ctx.report(`substitution mapping: property "${key}" maps to "${first}", which is not an input`, at(v), didYouMean(first, ctx.inputs) ?? `inputs: ${ctx.inputs.join(', ') || 'none'}`);
    }
  }
  for (const e of mappings.attributes) {
    const { name: key, at: pair, valueAt: v } = e;
    if (!declaredKey('attribute', key, ctx.declared.attributes, pair)) continue;
    const [first, second] = names(e);
    if (second !== undefined) {
      const node = template(first!, v);
      if (node && !ctx.attributesOf(node).includes(second)) ctx.report(`substitution mapping: node "${first}" has no attribute "${second}"`, at(v), didYouMean(second, ctx.attributesOf(node)));
    } else if (first !== undefined && !ctx.outputs.includes(first)) {
      ctx.report(`substitution mapping: attribute "${key}" maps to "${first}", which is not an output`, at(v), didYouMean(first, ctx.outputs) ?? `outputs: ${ctx.outputs.join(', ') || 'none'}`);
    }
  }
  for (const e of mappings.capabilities) {
    const { name: key, at: pair, valueAt: v } = e;
    if (!declaredKey('capability', key, [...ctx.declared.capabilities.keys()], pair)) continue;
    const [nodeName, capName] = names(e);
    if (nodeName === undefined || capName === undefined) continue; // the grammar checks the shape
    const node = template(nodeName, v);
    if (!node) continue;
    const cap = node.capabilities[capName];
    if (!cap) {
      ctx.report(`substitution mapping: node "${nodeName}" has no capability "${capName}"`, at(v), didYouMean(capName, Object.keys(node.capabilities)) ?? `it has: ${Object.keys(node.capabilities).join(', ')}`);
      continue;
    }
    const wanted = ctx.declared.capabilities.get(key);
    if (wanted && !cap.types.includes(wanted)) ctx.report(`substitution mapping: capability "${key}" of ${typeName} is a ${wanted}, but "${capName}" of node "${nodeName}" is a ${cap.type}`, at(v), 'map a capability of the same type or one derived from it');
  }
  for (const e of mappings.requirements) {
    const { name: key, at: pair, valueAt: v } = e;
    if (!declaredKey('requirement', key, ctx.declared.requirements, pair)) continue;
    const [nodeName, reqName] = names(e);
    if (nodeName === undefined || reqName === undefined) continue;
    const node = template(nodeName, v);
    if (node && !ctx.requirementsOf(node).includes(reqName)) ctx.report(`substitution mapping: node "${nodeName}" has no requirement "${reqName}"`, at(v), didYouMean(reqName, ctx.requirementsOf(node)));
  }
  for (const e of mappings.interfaces) {
    const { name: key, at: pair, valueAt: v } = e;
    if (!declaredKey('interface', key, ctx.declared.interfaces, pair)) continue;
    const [nodeName, ifaceName] = names(e);
    if (nodeName !== undefined && ifaceName !== undefined) {
      const node = template(nodeName, v);
      if (node && !node.interfaces[ifaceName]) ctx.report(`substitution mapping: node "${nodeName}" has no interface "${ifaceName}"`, at(v), didYouMean(ifaceName, Object.keys(node.interfaces)));
      continue;
    }
    // { operation: workflow }
    for (const [name, wfPair] of e.entries) {
      if (name !== undefined && !ctx.workflows.includes(name)) ctx.report(`substitution mapping: interface "${key}" maps to workflow "${name}", which this service does not declare`, at(wfPair), didYouMean(name, ctx.workflows));
    }
  }
}
