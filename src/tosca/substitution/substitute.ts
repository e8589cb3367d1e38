/**
 * Which service substitutes a node with the `substitute` directive, and the substitution done.
 *
 * The lookup rule: the candidates are the service templates of this compile's own files (the
 * entry and every file it imports, directly or not) that declare `substitution_mappings`. One
 * matches a node when its `node_type` is the node's type or derives from it, and its
 * `substitution_filter`, if any, holds for the node's values. Exactly one must match: none, or
 * several, is an error at the node's `directives`. The repository's other services are not
 * searched: what a service is made of is then written in the service (and its review diff).
 */
import type { SourceLocation } from '../diagnostic.js';
import type { Loader, Unit } from '../loader.js';
import type { CompileResult, CompiledNode, CompiledRequirement, CompiledService, Value } from '../model.js';
import { evaluateNodeFilter } from '../requirements/node-filter.js';
import type { ServiceTemplate, SubstitutionMappings } from '../document/records.js';
import { valuesOf } from '../record-values.js';
import { applySubstitution, mapNodeValues, markOuterName, markOuterNames, unmarkOuterNames } from './apply.js';

/** Substitutions nested deeper than this are refused (each level is a whole service). */
export const SUBSTITUTION_DEPTH_MAX = 8;
/** At most this many substitutions per compile: a few files substituting each other's nodes twice over grow exponentially. */
export const SUBSTITUTIONS_MAX = 1000;
/** At most this many node templates brought in by substitutions per compile (a large service substituted many times). */
export const SUBSTITUTED_NODES_MAX = 200_000;

/** What one whole compile may still do (shared by the services substituting its nodes). */
export interface SubstitutionBudget {
  left: number;
  nodes: number;
}

export interface SubstitutionCandidate {
  unit: Unit;
  service: ServiceTemplate;
  mappings: SubstitutionMappings;
  /** The canonical node type it substitutes. */
  nodeType: string;
}

export interface SubstituteContext {
  loader: Loader;
  service: CompiledService;
  /** Files being substituted into each other, the entry first (to find cycles). */
  stack: readonly string[];
  /** Substitutions this whole compile may still do. */
  budget: SubstitutionBudget;
  /** Where a node template writes its directives (or the node itself). */
  directivesAt(node: string): SourceLocation;
  /** Compiles a substituting service with the given inputs and the requirements the outer service fulfils. */
  compile(candidate: SubstitutionCandidate, inputs: Record<string, Value>, wired: readonly WiredRequirement[], stack: readonly string[]): Promise<CompileResult>;
  report(message: string, at: SourceLocation, hint?: string): void;
  /** What is dropped without being an error (W_TOSCA_SUBSTITUTED_OPERATIONS). */
  warn(message: string, at: SourceLocation, hint?: string): void;
}

/**
 * An inner node's requirement that the substituted node's own requirement fulfils, known to the
 * substituting service's compile before its functions are evaluated (so `HOST` there is the
 * outer host). Its target is marked as an outer name.
 */
export interface WiredRequirement {
  node: string;
  requirement: CompiledRequirement;
}

export function substitutionCandidates(loader: Loader): SubstitutionCandidate[] {
  const out: SubstitutionCandidate[] = [];
  for (const unit of loader.loadedUnits()) {
    if (unit.fromProfiles || !unit.src.root) continue;
    const service = unit.record.service;
    const mappings = service?.substitution?.mappings;
    const ref = mappings?.nodeType;
    const nodeType = ref ? loader.resolve(unit, 'node', ref) : undefined;
    // An unknown node_type is reported where the mapping is checked.
    if (service && mappings && nodeType) out.push({ unit, service, mappings, nodeType });
  }
  return out;
}

/** Candidates that substitute this node, and those whose filter reads a value not known yet. */
export function matchingCandidates(node: CompiledNode, candidates: readonly SubstitutionCandidate[], loader: Loader): { matches: SubstitutionCandidate[]; undecided: SubstitutionCandidate[] } {
  const matches: SubstitutionCandidate[] = [];
  const undecided: SubstitutionCandidate[] = [];
  for (const c of candidates) {
    if (!loader.chain('node', c.nodeType).includes(node.type)) continue;
    const filter = c.mappings.filter;
    if (filter !== undefined) {
      const capabilitiesNamed = (n: CompiledNode, nameOrType: string) => {
        if (n.capabilities[nameOrType]) return [nameOrType];
        const type = loader.resolve(c.unit, 'capability', nameOrType) ?? nameOrType;
        return Object.keys(n.capabilities).filter((k) => n.capabilities[k]!.types.includes(type));
      };
      const verdict = evaluateNodeFilter(filter.value, c.unit.version, { node }, capabilitiesNamed);
      if (verdict === undefined) undecided.push(c);
      if (verdict !== true) continue;
    }
    matches.push(c);
  }
  return { matches, undecided };
}

/** Replaces every node of `ctx.service` that has the `substitute` directive. */
export async function substituteNodes(ctx: SubstituteContext): Promise<void> {
  const abstract = valuesOf(ctx.service.nodes).filter((n) => n.directives.includes('substitute')).map((n) => n.name);
  if (!abstract.length) return;
  const candidates = substitutionCandidates(ctx.loader);
  for (const name of abstract) {
    const node = ctx.service.nodes[name];
    if (!node) continue;
    const at = ctx.directivesAt(name);
    const { matches, undecided } = matchingCandidates(node, candidates, ctx.loader);
    if (matches.length === 0) {
      ctx.report(
        `node "${name}" has the substitute directive, but no service template of this compile substitutes node type ${node.type}`,
        at,
        undecided.length
          ? `the substitution_filter of ${undecided.map((c) => c.unit.src.path).join(', ')} reads a value known only at run time`
          : 'import a file whose topology declares substitution_mappings with this node_type (or one derived from it)',
      );
      continue;
    }
    if (matches.length > 1) {
      ctx.report(`node "${name}" can be substituted by several service templates: ${matches.map((c) => c.unit.src.path).sort().join(', ')}`, at, 'give all but one a substitution_filter that this node does not match');
      continue;
    }
    const chosen = matches[0]!;
    const path = chosen.unit.src.path;
    if (ctx.stack.includes(path)) {
      ctx.report(`substitution cycle: ${[...ctx.stack.slice(ctx.stack.indexOf(path)), path].join(' → ')} (node "${name}")`, at, 'a service cannot be made of itself, directly or through the services that substitute its nodes');
      continue;
    }
    if (ctx.stack.length > SUBSTITUTION_DEPTH_MAX) {
      ctx.report(`node "${name}": substitutions nest deeper than ${SUBSTITUTION_DEPTH_MAX} levels (${[...ctx.stack, path].join(' → ')})`, at);
      continue;
    }
    if (ctx.budget.left <= 0) {
      ctx.report(`node "${name}": more than ${SUBSTITUTIONS_MAX} substitutions in one compile`, at, 'services that substitute each other\'s nodes several times over grow exponentially');
      continue;
    }
    const size = chosen.service.nodeTemplates.length;
    if (size > ctx.budget.nodes) {
      ctx.report(`node "${name}": substituting it by ${path} (${size} node templates) would bring more than ${SUBSTITUTED_NODES_MAX} node templates into one compile`, at);
      continue;
    }
    ctx.budget.left--;
    ctx.budget.nodes -= size;
    const { inputs, byNode } = feed(node, chosen);
    const wired: WiredRequirement[] = [];
    for (const { name: req, items } of chosen.mappings.requirements) {
      const [innerNode, innerReq] = items;
      const r = node.requirements.find((x) => x.name === req);
      if (innerNode && innerReq && r?.target !== undefined) wired.push({ node: innerNode, requirement: { ...r, name: innerReq, target: markOuterName(r.target) } });
    }
    const result = await ctx.compile(chosen, inputs, wired, [...ctx.stack, path]);
    const inner = result.service;
    if (!inner) {
      ctx.report(`node "${name}": the service that substitutes it (${path}) could not be compiled`, at);
      continue;
    }
    // Deprecated 1.x form `property: [ node, property ]`: the inner node's property is given directly.
    for (const [innerNode, prop, value] of byNode) {
      const n = inner.nodes[innerNode];
      if (n) inner.nodes[innerNode] = { ...n, properties: { ...n.properties, [prop]: value } };
    }
    // What the node would have run itself is replaced by the inner service: say so, never drop it silently.
    const dropped = [
      ...Object.entries(node.interfaces).flatMap(([i, itf]) => Object.entries(itf.operations).filter(([, op]) => op.implementation !== undefined).map(([op]) => `operation ${i}.${op}`)),
      ...Object.keys(node.artifacts).map((a) => `artifact ${a}`),
    ];
    if (dropped.length > 0) ctx.warn(`node "${name}" is substituted by ${path}: its own ${dropped.join(', ')} will not run`, at, 'move that work to a node of the substituting service');
    applySubstitution(ctx.service, { abstract: node, inner, at }, (message, where, hint) => ctx.report(message, where, hint));
    for (const [k, n] of Object.entries(ctx.service.nodes)) ctx.service.nodes[k] = mapNodeValues(n, unmarkOuterNames);
    for (const k of Object.keys(ctx.service.outputs)) ctx.service.outputs[k] = unmarkOuterNames(ctx.service.outputs[k]!);
  }
}

/**
 * The substituting service's inputs from the node's properties: each property mapped to an input
 * (`property: [ input ]`), and each input not mapped that has a property of the same name
 * (TOSCA 1.3 §2.10: inputs correspond to the substituted node's properties by name).
 */
function feed(node: CompiledNode, c: SubstitutionCandidate): { inputs: Record<string, Value>; byNode: Array<[string, string, Value]> } {
  const inputs: Record<string, Value> = {};
  const byNode: Array<[string, string, Value]> = [];
  const declared = new Set(c.service.inputs.map((i) => i.name));
  const mapped = new Set<string>();
  const has = (p: string) => Object.prototype.hasOwnProperty.call(node.properties, p);
  for (const { name: prop, items: names } of c.mappings.properties) {
    if (names.length === 1 && names[0] !== undefined) {
      mapped.add(names[0]);
      if (has(prop) && declared.has(names[0])) inputs[names[0]] = markOuterNames(node.properties[prop]!);
    } else if (names.length === 2 && names[0] !== undefined && names[1] !== undefined && has(prop)) {
      byNode.push([names[0], names[1], markOuterNames(node.properties[prop]!)]);
    }
  }
  for (const input of declared) {
    if (!mapped.has(input) && !(input in inputs) && has(input)) inputs[input] = markOuterNames(node.properties[input]!);
  }
  return { inputs, byNode };
}
