/**
 * Applying a substitution (TOSCA 2.0 §15, 1.3 §2.10–2.11 and §3.8): a node template with the
 * `substitute` directive is replaced, in the compiled service, by the nodes of the service that
 * substitutes it. Pure: it works on compiled data only (the substituting service was compiled with
 * its inputs fed from the node's properties) and reports what it cannot wire.
 *
 * - The inner nodes keep their names behind a prefix (`<node>.<inner>`), so they stay unique and
 *   name their own folders on a host; every call and requirement inside follows the renaming.
 * - A requirement that reaches the substituted node reaches the inner node and capability its
 *   capability is mapped to.
 * - The substituted node's own requirements fulfil the inner requirements they are mapped to.
 * - A read of the substituted node's attribute (`$get_attribute: [db, address]`) reads the inner
 *   node attribute, or the output, it is mapped to.
 * - Groups and policies naming the substituted node name its inner nodes instead.
 */
import type { SourceLocation } from '../diagnostic.js';
import type { CompiledCapability, CompiledInterface, CompiledNode, CompiledRequirement, CompiledService, FunctionCall, Value } from '../model.js';
import { isFunctionCall } from '../model.js';
import { keepCallSite, callSite } from '../functions/call-sites.js';
import { didYouMean } from '../suggest.js';

export type SubstituteProblem = (message: string, at: SourceLocation, hint?: string) => void;

export interface Substitution {
  /** The node with the `substitute` directive, as the outer service compiled it. */
  abstract: CompiledNode;
  /** The substituting service, compiled with its inputs fed from the node's properties. */
  inner: CompiledService;
  /** Where problems of the node itself are reported (its `directives`). */
  at: SourceLocation;
}

/** The separator between a substituted node's name and an inner node's: `db.server`. */
export const SUBSTITUTE_SEPARATOR = '.';

/** Calls that name a node template in their first argument. */
const NODE_CALLS = new Set(['get_attribute', 'get_property', 'get_operation_output']);
/** Names a call's first argument may hold that are not node templates. */
const KEYWORDS = new Set(['SELF', 'SOURCE', 'TARGET', 'HOST']);

/**
 * Replaces `s.abstract` in `service` by the nodes of `s.inner`. The service is changed in place
 * (its records are rebuilt; shared frozen parts of nodes are copied before they change).
 */
export function applySubstitution(service: CompiledService, s: Substitution, problem: SubstituteProblem): void {
  const { abstract, inner } = s;
  const prefix = `${abstract.name}${SUBSTITUTE_SEPARATOR}`;
  const mappings = (inner.substitution ?? {}) as Record<string, unknown>;
  const innerNames = new Set(Object.keys(inner.nodes));
  const rename = (n: string) => `${prefix}${n}`;

  for (const n of innerNames) {
    if (service.nodes[rename(n)]) problem(`node "${abstract.name}" cannot be substituted: its inner node "${n}" would be named "${rename(n)}", which is already a node template`, s.at, 'rename one of them');
  }

  // The inner nodes, renamed, their calls and requirements following.
  const renameCalls = (v: Value): Value => mapCalls(v, (call) => {
    const [first, ...rest] = call.args;
    if (!NODE_CALLS.has(call.$fn) || typeof first !== 'string' || KEYWORDS.has(first) || !innerNames.has(first)) return undefined;
    return { $fn: call.$fn, args: [rename(first), ...rest] };
  });
  const placed: CompiledNode[] = [];
  for (const node of Object.values(inner.nodes)) {
    placed.push(mapNodeValues({
      ...node,
      name: rename(node.name),
      requirements: node.requirements.map((r) => (r.target !== undefined && innerNames.has(r.target) ? { ...r, target: rename(r.target) } : r)),
    }, renameCalls));
  }
  const byInnerName = new Map(placed.map((n, i) => [Object.keys(inner.nodes)[i]!, n]));

  // The substituted node's own requirements fulfil the inner requirements they are mapped to.
  const reqMap = pairs(mappings.requirements);
  for (const r of abstract.requirements) {
    const to = reqMap.get(r.name);
    const innerNode = to ? byInnerName.get(to[0]) : undefined;
    if (!to || !innerNode) {
      problem(`requirement "${r.name}" of node "${abstract.name}" is not exposed by the service that substitutes it (${inner.file})`, r.source, didYouMean(r.name, [...reqMap.keys()]) ?? `add it under substitution_mappings: requirements: in ${inner.file}`);
      continue;
    }
    const fulfilled: CompiledRequirement = { ...r, name: to[1] };
    const list = [...innerNode.requirements];
    const i = list.findIndex((x) => x.name === to[1]);
    if (i >= 0) list[i] = fulfilled;
    else list.push(fulfilled);
    innerNode.requirements = list;
  }

  // Place the inner nodes where the substituted node was (declaration order is kept).
  const nodes: Record<string, CompiledNode> = {};
  for (const [name, node] of Object.entries(service.nodes)) {
    if (name !== abstract.name) nodes[name] = node;
    else for (const p of placed) nodes[p.name] = p;
  }
  service.nodes = nodes;

  // Requirements reaching the substituted node reach the mapped inner capability.
  const capMap = pairs(mappings.capabilities);
  for (const node of Object.values(service.nodes)) {
    if (!node.requirements.some((r) => r.target === abstract.name)) continue;
    // One that cannot be wired is reported and dropped: it must not name a node that is gone.
    node.requirements = node.requirements.flatMap((r) => {
      if (r.target !== abstract.name) return [r];
      const mapped = r.capability !== undefined ? capMap.get(r.capability) : capMap.size === 1 ? [...capMap.values()][0] : undefined;
      if (!mapped || !byInnerName.has(mapped[0])) {
        problem(
          r.capability !== undefined
            ? `requirement "${r.name}" of node "${node.name}" reaches capability "${r.capability}" of node "${abstract.name}", which the service that substitutes it (${inner.file}) does not map`
            : `requirement "${r.name}" of node "${node.name}" reaches node "${abstract.name}", which is substituted by ${inner.file}; name the capability it reaches`,
          r.source,
          capMap.size ? `mapped capabilities: ${[...capMap.keys()].join(', ')}` : `map a capability under substitution_mappings: capabilities: in ${inner.file}`,
        );
        return [];
      }
      return [{ ...r, target: rename(mapped[0]), capability: mapped[1] }];
    });
  }

  // Reads of the substituted node's attributes read what they are mapped to.
  const attrMap = new Map<string, string[]>();
  for (const [k, v] of Object.entries(isRecord(mappings.attributes) ? mappings.attributes : {})) {
    const names = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
    if (names.length) attrMap.set(k, names);
  }
  const outer = (v: Value, at: SourceLocation): Value => mapCalls(v, (call) => {
    const [first, second, ...rest] = call.args;
    if (!NODE_CALLS.has(call.$fn) || first !== abstract.name) return undefined;
    const where = callSite(call) ?? at;
    if (call.$fn === 'get_operation_output' || typeof second !== 'string') {
      problem(`${call.$fn} reads node "${abstract.name}", which is substituted by ${inner.file} (it has no operations of its own)`, where, 'read an attribute the substitution maps');
      return null;
    }
    const cap = capMap.get(second);
    if (cap && abstract.capabilities[second]) return { $fn: call.$fn, args: [rename(cap[0]), cap[1], ...rest] };
    const attr = attrMap.get(second);
    if (attr && attr.length >= 2) return { $fn: call.$fn, args: [rename(attr[0]!), attr[1]!, ...rest] };
    if (attr && attr.length === 1) {
      const out = inner.outputs[attr[0]!];
      if (out === undefined) {
        problem(`attribute "${second}" of node "${abstract.name}" is mapped to output "${attr[0]}", which ${inner.file} does not declare`, where);
        return null;
      }
      const read = walk(renameCalls(out), rest);
      if (read === undefined) {
        problem(`${call.$fn} reads ${JSON.stringify(rest)} inside output "${attr[0]}" of ${inner.file}, which holds no such entry here`, where);
        return null;
      }
      return read;
    }
    if (call.$fn === 'get_property' && Object.prototype.hasOwnProperty.call(abstract.properties, second)) return abstract.properties[second]!;
    problem(`${call.$fn} reads "${second}" of node "${abstract.name}", which the service that substitutes it (${inner.file}) does not map`, where, attrMap.size ? `mapped attributes: ${[...attrMap.keys()].join(', ')}` : `map it under substitution_mappings: attributes: in ${inner.file}`);
    return null;
  });
  for (const [name, node] of Object.entries(service.nodes)) service.nodes[name] = mapNodeValues(node, (v) => outer(v, node.source));
  for (const k of Object.keys(service.outputs)) service.outputs[k] = outer(service.outputs[k]!, abstract.source);

  // Groups and policies naming the substituted node name its inner nodes; the inner ones join, prefixed.
  const expand = (names: string[]) => names.flatMap((m) => (m === abstract.name ? placed.map((p) => p.name) : [m]));
  for (const g of Object.values(service.groups)) g.members = expand(g.members);
  for (const p of service.policies) p.targets = expand(p.targets);
  for (const g of Object.values(inner.groups)) {
    service.groups[rename(g.name)] = { ...g, name: rename(g.name), members: g.members.map((m) => (innerNames.has(m) ? rename(m) : m)) };
  }
  for (const p of inner.policies) {
    service.policies.push({ ...p, name: rename(p.name), targets: p.targets.map((t) => (innerNames.has(t) ? rename(t) : t)) });
  }
}

/** An entry inside a plain value by keys and indexes; undefined when it is not there or not known yet. */
function walk(v: Value, path: Value[]): Value | undefined {
  let cur: Value | undefined = v;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || isFunctionCall(cur)) return undefined;
    cur = Array.isArray(cur) ? (typeof k === 'number' ? cur[k] : undefined) : typeof k === 'string' ? (cur as Record<string, Value>)[k] : undefined;
  }
  return cur;
}

/**
 * Values of the outer service fed into a substituting service keep naming outer nodes: marked
 * before the inner compile (a leading NUL no node name has), so renaming the inner nodes never
 * touches them even when an inner node has the same name, and unmarked after.
 */
const OUTER = '\u0000';
/** An outer node's name as the substituting service's compile sees it (see `markOuterNames`). */
export const markOuterName = (name: string): string => `${OUTER}${name}`;
export function markOuterNames(v: Value): Value {
  return mapCalls(v, (call) => {
    const [first, ...rest] = call.args;
    if (!NODE_CALLS.has(call.$fn) || typeof first !== 'string' || KEYWORDS.has(first)) return undefined;
    return { $fn: call.$fn, args: [`${OUTER}${first}`, ...rest.map((a) => markOuterNames(a))] };
  });
}
export function unmarkOuterNames(v: Value): Value {
  return mapCalls(v, (call) => {
    const [first, ...rest] = call.args;
    if (!NODE_CALLS.has(call.$fn) || typeof first !== 'string' || !first.startsWith(OUTER)) return undefined;
    return { $fn: call.$fn, args: [first.slice(OUTER.length), ...rest.map((a) => unmarkOuterNames(a))] };
  });
}

/** `{ name: [node, name] }` entries of a mapping (capabilities, requirements). */
function pairs(v: unknown): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  if (!isRecord(v)) return out;
  for (const [k, x] of Object.entries(v)) {
    if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string') out.set(k, [x[0], x[1]]);
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * A value with some calls replaced: `replace` answers a call's replacement, or undefined to keep it
 * (its arguments are still walked). What holds no replaced call is returned as it was (shared
 * frozen defaults stay shared); what changes is copied.
 */
export function mapCalls(v: Value, replace: (call: FunctionCall) => Value | undefined, depth = 0): Value {
  if (v === null || typeof v !== 'object' || depth > 100) return v;
  if (isFunctionCall(v)) {
    const r = replace(v);
    if (r !== undefined) return keepCallSite(v, r);
    const args = v.args.map((a) => mapCalls(a, replace, depth + 1));
    return args.every((a, i) => a === v.args[i]) ? v : keepCallSite(v, { $fn: v.$fn, args });
  }
  if (Array.isArray(v)) {
    const items = v.map((a) => mapCalls(a, replace, depth + 1));
    return items.every((a, i) => a === v[i]) ? v : items;
  }
  let out: Record<string, Value> | undefined;
  for (const [k, x] of Object.entries(v)) {
    const y = mapCalls(x, replace, depth + 1);
    if (y !== x) (out ??= { ...(v as Record<string, Value>) })[k] = y;
  }
  return out ?? v;
}

function mapRecord(r: Record<string, Value>, f: (v: Value) => Value): Record<string, Value> {
  let out: Record<string, Value> | undefined;
  for (const [k, x] of Object.entries(r)) {
    const y = f(x);
    if (y !== x) (out ??= { ...r })[k] = y;
  }
  return out ?? r;
}

/** Every value of a node (properties, attributes, capabilities, relationships, operation inputs, artifacts) through `f`. */
export function mapNodeValues(node: CompiledNode, f: (v: Value) => Value): CompiledNode {
  const properties = mapRecord(node.properties, f);
  const attributes = mapRecord(node.attributes, f);
  let capabilities: Record<string, CompiledCapability> | undefined;
  for (const [k, c] of Object.entries(node.capabilities)) {
    const p = mapRecord(c.properties, f);
    const a = mapRecord(c.attributes, f);
    if (p !== c.properties || a !== c.attributes) (capabilities ??= { ...node.capabilities })[k] = { ...c, properties: p, attributes: a };
  }
  let changedReq = false;
  const requirements = node.requirements.map((r) => {
    const p = mapRecord(r.relationship.properties, f);
    if (p === r.relationship.properties) return r;
    changedReq = true;
    return { ...r, relationship: { ...r.relationship, properties: p } };
  });
  let interfaces: Record<string, CompiledInterface> | undefined;
  for (const [k, i] of Object.entries(node.interfaces)) {
    const inputs = mapRecord(i.inputs, f);
    let ops: CompiledInterface['operations'] | undefined;
    for (const [o, op] of Object.entries(i.operations)) {
      const oi = mapRecord(op.inputs, f);
      if (oi !== op.inputs) (ops ??= { ...i.operations })[o] = { ...op, inputs: oi };
    }
    if (inputs !== i.inputs || ops) (interfaces ??= { ...node.interfaces })[k] = { ...i, inputs, operations: ops ?? i.operations };
  }
  let artifacts: CompiledNode['artifacts'] | undefined;
  for (const [k, a] of Object.entries(node.artifacts)) {
    const p = mapRecord(a.properties, f);
    if (p !== a.properties) (artifacts ??= { ...node.artifacts })[k] = { ...a, properties: p };
  }
  if (properties === node.properties && attributes === node.attributes && !capabilities && !changedReq && !interfaces && !artifacts) return node;
  return {
    ...node,
    properties,
    attributes,
    capabilities: capabilities ?? node.capabilities,
    requirements: changedReq ? requirements : node.requirements,
    interfaces: interfaces ?? node.interfaces,
    artifacts: artifacts ?? node.artifacts,
  };
}
