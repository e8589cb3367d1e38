import type { NodeState, PlainValue, StateSnapshot } from '../state/model.js';
import type { Value } from '../tosca/model.js';
import { isFunctionCall } from '../tosca/model.js';
import { edgesFrom, instancesOf } from '../topology/build.js';
import type { NodeInstance, Topology } from '../topology/model.js';
import { hostOfNode } from '../topology/lookup.js';
import { hostedPortSpecs } from '../topology/published-ports.js';
import { evaluateStandard } from '../tosca/functions-standard.js';
import { containsCall } from '../tosca/values.js';
import { KNOWN_AFTER_APPLY } from './model.js';

export function stateKey(instance: Pick<NodeInstance, 'name' | 'index'>): string {
  return instance.index === undefined ? instance.name : `${instance.name}#${instance.index}`;
}

export function nodeStateOf(snapshot: StateSnapshot, instance: NodeInstance): NodeState | undefined {
  if (!instance.host) return undefined;
  return snapshot[instance.host]?.[instance.service]?.nodes[stateKey(instance)];
}

export interface ResolvedNode {
  /** Properties with every known value filled in; unknown ones stay calls. */
  properties: Record<string, Value>;
  /** The same with unknown values shown as `(known after apply)`: for diffs and fingerprints. */
  display: Record<string, PlainValue>;
  env: Record<string, string>;
  /** Instance ids whose discovered attributes this node reads. */
  refs: string[];
  /** Of those, the ones not running yet (so their attributes are unknown). */
  unknown: string[];
  /** True when nothing was filled in: the template's own properties, no wiring (its fingerprint depends on it alone). */
  plain?: boolean;
}

/** Upper snake case: `db-port` → `DB_PORT`. */
export function envPrefix(name: string): string {
  return name.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').toUpperCase();
}

/**
 * Fills in `$get_attribute` calls from the state other agents (or this one) recorded, and the
 * environment `ConnectsTo` injects. Pure: the same topology and state give the same answer.
 */
export function resolveNode(instance: NodeInstance, topology: Topology, snapshot: StateSnapshot): ResolvedNode {
  const resolved = resolveOwn(instance, topology, snapshot);
  // A container publishes the Ports hosted on it: part of what it is created with.
  const publish = hostedPortSpecs(instance, topology);
  if (publish.length === 0) return resolved;
  return { ...resolved, properties: { ...resolved.properties, publish }, display: { ...resolved.display, publish }, plain: false };
}

function resolveOwn(instance: NodeInstance, topology: Topology, snapshot: StateSnapshot): ResolvedNode {
  const edges = edgesFrom(topology, instance.id);
  if (!hasCalls(instance.template.properties) && !edges.some((e) => e.kind === 'connects')) {
    // Nothing to fill in (most nodes): the properties are their own display form.
    const properties = { ...instance.template.properties };
    return { properties, display: properties as Record<string, PlainValue>, env: {}, refs: [], unknown: [], plain: true };
  }
  const refs = new Set<string>();
  const unknown = new Set<string>();

  const findInstance = (name: string): NodeInstance | undefined => {
    if (name === 'SELF') return instance;
    if (name === 'HOST') {
      const e = edgesFrom(topology, instance.id).find((x) => x.kind === 'host');
      return e ? topology.nodes[e.target] : undefined;
    }
    const candidates = instancesOf(topology.nodes, instance.service, name);
    return candidates.find((c) => c.host === instance.host) ?? candidates[instance.index ?? 0] ?? candidates[0];
  };

  const attributeOf = (target: NodeInstance, path: Value[]): Value | undefined => {
    refs.add(target.id);
    if (target.isHost) {
      const info = hostOfNode(topology, target.id);
      const attrs: Record<string, PlainValue> = { address: info?.address ?? null, name: info?.name ?? target.name };
      return walk(attrs, path);
    }
    const st = nodeStateOf(snapshot, target);
    if (!st || st.status !== 'running') {
      unknown.add(target.id);
      return undefined;
    }
    const direct = walk(st.attributes, path);
    // `[node, capability, attribute]`: capability attributes are recorded on the node itself.
    if (direct === undefined && path.length > 1) return walk(st.attributes, path.slice(1)) ?? null;
    return direct ?? null;
  };

  const resolve = (v: Value): Value | undefined => {
    if (isFunctionCall(v)) {
      if (v.$fn === 'get_attribute') {
        const [who, ...path] = v.args;
        const target = typeof who === 'string' ? findInstance(who) : undefined;
        if (!target) return null;
        return attributeOf(target, path);
      }
      const args: Value[] = [];
      let complete = true;
      for (const a of v.args) {
        const r = resolve(a);
        if (r === undefined) complete = false;
        args.push(r === undefined ? a : r);
      }
      if (!complete) return undefined;
      const out = evaluateStandard(v.$fn, args);
      // A custom function stays a call for its delegate; that is not "unknown".
      return out === undefined ? { $fn: v.$fn, args } : out;
    }
    if (Array.isArray(v)) {
      const out = v.map((x) => resolve(x));
      return out.includes(undefined) ? undefined : (out as Value[]);
    }
    if (v && typeof v === 'object') {
      const out: Record<string, Value> = {};
      let complete = true;
      for (const [k, x] of Object.entries(v)) {
        const r = resolve(x);
        if (r === undefined) complete = false;
        out[k] = r === undefined ? x : r;
      }
      return complete ? out : undefined;
    }
    return v;
  };

  const properties: Record<string, Value> = {};
  const display: Record<string, PlainValue> = {};
  for (const [name, raw] of Object.entries(instance.template.properties)) {
    const r = resolve(raw);
    properties[name] = r === undefined ? partial(raw, resolve) : r;
    display[name] = toDisplay(properties[name]!);
  }

  const env: Record<string, string> = {};
  for (const e of edges) {
    if (e.kind !== 'connects') continue;
    const target = topology.nodes[e.target];
    if (!target) continue;
    const given = e.relationship.properties.env_prefix;
    const prefix = typeof given === 'string' && given ? given : envPrefix(target.name);
    const address = attributeOf(target, ['address']);
    const port = attributeOf(target, ['port']);
    const hostAddress = target.host ? topology.hosts[target.host]?.address : undefined;
    const addr = address === undefined ? KNOWN_AFTER_APPLY : String(address ?? hostAddress ?? '127.0.0.1');
    env[`${prefix}_HOST`] = addr;
    env[`${prefix}_ADDRESS`] = addr;
    if (port !== null) env[`${prefix}_PORT`] = port === undefined ? KNOWN_AFTER_APPLY : String(port);
  }
  return { properties, display, env, refs: [...refs].sort(), unknown: [...unknown].sort() };
}

const callsIn = new WeakMap<object, boolean>();

/** True when a template's property values hold a function call anywhere (remembered per template: they never change). */
function hasCalls(properties: Record<string, Value>): boolean {
  let found = callsIn.get(properties);
  if (found === undefined) {
    found = containsCall(properties);
    callsIn.set(properties, found);
  }
  return found;
}

/** Resolves what can be resolved inside a value that as a whole is not yet known. */
function partial(v: Value, resolve: (v: Value) => Value | undefined): Value {
  if (isFunctionCall(v)) return v;
  if (Array.isArray(v)) return v.map((x) => resolve(x) ?? partial(x, resolve));
  if (v && typeof v === 'object') {
    const out: Record<string, Value> = {};
    for (const [k, x] of Object.entries(v)) out[k] = resolve(x) ?? partial(x, resolve);
    return out;
  }
  return v;
}

function toDisplay(v: Value): PlainValue {
  if (isFunctionCall(v)) return v.$fn === 'get_attribute' || v.$fn in STANDARD ? KNOWN_AFTER_APPLY : `$${v.$fn}(…)`;
  if (Array.isArray(v)) return v.map(toDisplay);
  if (v && typeof v === 'object') {
    const out: Record<string, PlainValue> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toDisplay(x);
    return out;
  }
  return v;
}

const STANDARD: Record<string, true> = {
  concat: true, join: true, token: true, length: true, sum: true, difference: true, product: true,
  quotient: true, remainder: true, round: true, floor: true, ceil: true,
};

function walk(root: unknown, path: Value[]): Value | undefined {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur) && typeof p === 'number') cur = cur[p];
    else if (typeof cur === 'object' && (typeof p === 'string' || typeof p === 'number')) cur = (cur as Record<string, unknown>)[String(p)];
    else return undefined;
  }
  return cur as Value | undefined;
}

/** True when a resolved value still holds a call that needs discovered state. */
export function hasUnknown(v: PlainValue): boolean {
  if (v === KNOWN_AFTER_APPLY) return true;
  if (Array.isArray(v)) return v.some(hasUnknown);
  if (v && typeof v === 'object') return Object.values(v).some(hasUnknown);
  return false;
}
