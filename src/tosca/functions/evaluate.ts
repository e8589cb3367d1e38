/**
 * Function calls in a compiled service: evaluated when every argument is known at compile time,
 * kept (for plan/apply) when they read discovered state. Every wrong call is reported at the
 * call's own line and column (see call-sites.ts), falling back to its holder when the call was
 * not written in a file (a `copy` merge, a value given on the command line).
 */
import type { SourceLocation } from '../diagnostic.js';
import type { CompiledInput, CompiledNode, Value } from '../model.js';
import { isFunctionCall } from '../model.js';
import { evaluateStandard } from '../functions-standard.js';
import { unknownFunction } from '../function-names.js';
import { functionOfOtherVersions } from '../grammar/tosca-1.js';
import { unknownAttribute } from '../function-targets.js';
import { didYouMean } from '../suggest.js';
import { containsCall, describe, type PropertyDef } from '../values.js';
import type { Family } from '../loader.js';
import { checkArguments } from './arguments.js';
import { callSite, keepCallSite } from './call-sites.js';

const HOSTED_ON = new Set(['tosca.relationships.HostedOn', 'tosca:HostedOn', 'kaidu:HostedOn']);

export interface EvaluationContext {
  nodes: Record<string, CompiledNode>;
  /** Every node template's name, compiled or not. */
  templateNames: readonly string[];
  inputs: Record<string, CompiledInput>;
  /** Functions the file declares (`functions:`). */
  declared: ReadonlySet<string>;
  /** TOSCA 2.0 writes calls `$name`; 1.x writes them bare. */
  dollar: boolean;
  /** The document's `tosca_definitions_version` (a 1.x version has fewer standard functions). */
  version?: string;
  definitions(family: Family, type: string, key: 'properties' | 'attributes'): Map<string, PropertyDef>;
  /** Operations an interface type declares along its chain (a template may implement none of them). */
  operations(interfaceTypes: readonly string[]): ReadonlySet<string>;
  report(code: string, message: string, at: SourceLocation, hint?: string, severity?: 'error' | 'warning'): void;
}

/** Who SELF, SOURCE and TARGET are where a value is evaluated. */
export interface Scope {
  self?: string;
  source?: string;
  target?: string;
}

export class FunctionEvaluator {
  private readonly evaluating = new Set<string>();
  /** Templates that did not compile (their own error is reported): made when a name is first not found, not for every compile. */
  private broken: Set<string> | undefined;

  constructor(private readonly ctx: EvaluationContext) {}

  private isBroken(name: string): boolean {
    const nodes = this.ctx.nodes;
    this.broken ??= new Set(this.ctx.templateNames.filter((n) => !nodes[n]));
    return this.broken.has(name);
  }

  evaluateNode(n: CompiledNode): void {
    // Only values holding a call are written (most hold none): shared (frozen) defaults hold none,
    // so they are not even walked. Loops over keys, not `Object.values` arrays: once per node.
    const properties = n.properties;
    for (const k in properties) if (containsCall(properties[k]!)) properties[k] = this.evaluateProperty(n, k);
    this.evaluateSelf(n, n.attributes);
    const capabilities = n.capabilities;
    if (!Object.isFrozen(capabilities)) {
      for (const c in capabilities) {
        const cap = capabilities[c]!;
        if (!Object.isFrozen(cap)) this.evaluateSelf(n, cap.properties);
      }
    }
    const requirements = n.requirements;
    for (let i = 0; i < requirements.length; i++) {
      const r = requirements[i]!;
      const values = r.relationship.properties;
      if (hasCall(values)) {
        const scope: Scope = { self: n.name, source: n.name, ...(r.target ? { target: r.target } : {}) };
        this.evaluateIn(values, scope, r.source);
      }
    }
    const interfaces = n.interfaces;
    // Frozen: the type's own, shared by its nodes, and holding no call (see `sharedPerType`).
    if (Object.isFrozen(interfaces)) return;
    for (const i in interfaces) {
      const operations = interfaces[i]!.operations;
      for (const op in operations) this.evaluateSelf(n, operations[op]!.inputs);
    }
  }

  /** Values of node `n` itself (SELF is the node): its scope is made only when a call is found. */
  private evaluateSelf(n: CompiledNode, values: Record<string, Value>): void {
    if (hasCall(values)) this.evaluateIn(values, { self: n.name }, n.source);
  }

  private evaluateIn(values: Record<string, Value>, scope: Scope, holder: SourceLocation): void {
    for (const k in values) if (containsCall(values[k]!)) values[k] = this.evaluate(values[k]!, scope, holder);
  }

  private evaluateProperty(n: CompiledNode, key: string): Value {
    // Most values hold no call: nothing to evaluate, no cycle to watch for.
    if (!containsCall(n.properties[key]!)) return n.properties[key]!;
    const id = `${n.name}\0${key}`;
    if (this.evaluating.has(id)) {
      this.ctx.report('E_TOSCA_FUNCTION', `property "${key}" of node "${n.name}" depends on itself through get_property`, callSite(n.properties[key]!) ?? n.source);
      return null;
    }
    this.evaluating.add(id);
    try {
      n.properties[key] = this.evaluate(n.properties[key]!, { self: n.name }, n.source);
      return n.properties[key]!;
    } finally {
      this.evaluating.delete(id);
    }
  }

  /** The node a modelable entity name stands for; undefined when it is not known at compile time (reported if wrong). */
  private entity(name: Value, scope: Scope, at: SourceLocation, fn: string): string | undefined {
    if (name === 'SELF' || name === 'HOST' || name === 'SOURCE' || name === 'TARGET') {
      const where = name === 'SOURCE' || name === 'TARGET' ? scope.source : scope.self;
      if (where === undefined) {
        // An output has no SELF; only a relationship has a SOURCE and a TARGET.
        this.ctx.report('E_TOSCA_FUNCTION', `${fn}: ${name} names nothing here`, at, name === 'SOURCE' || name === 'TARGET' ? `${name} is only known in a relationship's values` : 'an output has no SELF or HOST: name a node template');
        return undefined;
      }
    }
    if (name === 'SELF' || name === 'SOURCE' || name === 'TARGET') {
      const who = name === 'SELF' ? scope.self : name === 'SOURCE' ? scope.source : scope.target;
      // A template whose type is unknown is not compiled (that error is reported at its type): the
      // call names nothing to read, and stays as it is.
      return who !== undefined && this.ctx.nodes[who] ? who : undefined;
    }
    if (name === 'HOST') {
      const self = scope.self === undefined ? undefined : this.ctx.nodes[scope.self];
      if (!self) return undefined;
      const host = self.requirements.find((r) => r.relationship.types.some((x) => HOSTED_ON.has(x)) || r.name === 'host');
      // HOST is whatever the node is hosted on: without a host requirement there is nothing to read.
      if (!host?.target) this.ctx.report('E_TOSCA_FUNCTION', `${fn}: node "${scope.self}" has no host, so HOST names nothing`, at, 'give the node a host requirement (a HostedOn relationship), or name the node instead of HOST');
      return host?.target;
    }
    if (typeof name === 'string' && this.ctx.nodes[name]) return name;
    if (typeof name === 'string' && this.isBroken(name)) return undefined; // its own error is reported
    if (typeof name === 'string') this.ctx.report('E_TOSCA_FUNCTION', `${fn}: "${name}" is not a node template`, at, didYouMean(name, this.ctx.templateNames) ?? 'use SELF, HOST, SOURCE, TARGET or a node template name');
    return undefined;
  }

  evaluate(v: Value, scope: Scope, holder: SourceLocation): Value {
    if (v === null || typeof v !== 'object' || !containsCall(v)) return v;
    // What evaluates to itself is kept, not copied: most calls here are deferred `get_attribute`s.
    if (Array.isArray(v)) {
      let out: Value[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const e = this.evaluate(v[i]!, scope, holder);
        if (e !== v[i]) (out ??= v.slice())[i] = e;
      }
      return out ?? v;
    }
    if (!isFunctionCall(v)) {
      let out: Record<string, Value> | undefined;
      for (const k of Object.keys(v)) {
        const x = (v as Record<string, Value>)[k]!;
        const e = this.evaluate(x, scope, holder);
        if (e !== x) (out ??= { ...(v as Record<string, Value>) })[k] = e;
      }
      return out ?? v;
    }
    const at = callSite(v) ?? holder;
    const result = this.call(v.$fn, v.args, v, scope, at);
    return result === v ? v : keepCallSite(v, result);
  }

  private call(fn: string, rawArgs: Value[], v: Value, scope: Scope, at: SourceLocation): Value {
    const elsewhere = this.ctx.version && !this.ctx.declared.has(fn) ? functionOfOtherVersions(this.ctx.version, fn) : undefined;
    if (elsewhere) {
      this.ctx.report('E_TOSCA_UNKNOWN_FUNCTION', `function "${fn}" is not in ${this.ctx.version}`, at, `it is a function of ${elsewhere.join(', ')}`);
      return null;
    }
    const unknown = unknownFunction(fn, this.ctx.declared);
    if (unknown) {
      this.ctx.report(unknown.code, unknown.message, at, unknown.hint, unknown.severity);
      return unknown.severity === 'error' ? null : { $fn: fn, args: rawArgs.map((a) => this.evaluate(a, scope, at)) };
    }
    if (fn === 'value' && !this.ctx.declared.has(fn)) {
      // Kept as a call it would reach a process as an empty value.
      this.ctx.report('E_TOSCA_FUNCTION', '$value names nothing here: it is the value a validation clause validates', at, 'use $value only inside validation: { ... }');
      return null;
    }
    const args = rawArgs.map((a) => this.evaluate(a, scope, at));
    const wrong = checkArguments(fn, args, this.ctx.dollar);
    if (wrong) {
      this.ctx.report('E_TOSCA_FUNCTION', wrong.message, at, wrong.hint);
      return null;
    }
    switch (fn) {
      case 'get_attribute':
        return this.getAttribute(rawArgs, args, v, scope, at);
      case 'get_input':
        return this.getInput(args, at);
      case 'get_property':
        return this.getProperty(args, v, scope, at);
      case 'get_operation_output':
        this.getOperationOutput(args, scope, at);
        return args.every((a, i) => a === rawArgs[i]) ? v : { $fn: fn, args };
      default: {
        if (args.some(containsCall)) return args.every((a, i) => a === rawArgs[i]) ? v : { $fn: fn, args };
        const result = evaluateStandard(fn, args);
        return result === undefined ? { $fn: fn, args } : result;
      }
    }
  }

  private getAttribute(rawArgs: Value[], args: Value[], v: Value, scope: Scope, at: SourceLocation): Value {
    const [who, ...path] = args;
    const target = this.entity(who ?? null, scope, at, 'get_attribute');
    // SELF and HOST become the node's name: a plan reads the attribute of that node. SOURCE and TARGET stay for the relationship.
    const name = who === 'SELF' || who === 'HOST' ? (target ?? who) : who;
    const node = target ? this.ctx.nodes[target] : undefined;
    if (node && typeof path[0] === 'string') {
      const problem = unknownAttribute(node, path[0], this.ctx.definitions('node', node.type, 'attributes'), this.ctx.definitions('node', node.type, 'properties'));
      if (problem) this.ctx.report('E_TOSCA_FUNCTION', problem.message, at, problem.hint);
      else if (typeof path[1] === 'string') this.throughRequirementOrCapability(node, path[0], path[1], at);
    }
    if (name === rawArgs[0] && path.every((p, i) => p === rawArgs[i + 1])) return v;
    return { $fn: 'get_attribute', args: [name ?? null, ...path] };
  }

  /**
   * `[node, requirement or capability, attribute]` (1.3 §4.5.1): the attribute of the capability,
   * or of the requirement's target node or the capability it reaches. Only when the second name is
   * not itself one of the node's attributes or properties (then the rest is a path into its value).
   */
  private throughRequirementOrCapability(node: CompiledNode, via: string, name: string, at: SourceLocation): void {
    const ctx = this.ctx;
    const own = (n: CompiledNode) => [...ctx.definitions('node', n.type, 'attributes').keys(), ...ctx.definitions('node', n.type, 'properties').keys(), ...Object.keys(n.attributes), ...Object.keys(n.properties)];
    if (own(node).includes(via)) return;
    const ofCapability = (n: CompiledNode, c: string) => {
      const cap = n.capabilities[c];
      return cap ? [...ctx.definitions('capability', cap.type, 'attributes').keys(), ...ctx.definitions('capability', cap.type, 'properties').keys(), ...Object.keys(cap.attributes), ...Object.keys(cap.properties)] : [];
    };
    let known: string[];
    let what: string;
    if (node.capabilities[via]) {
      known = ofCapability(node, via);
      what = `capability "${via}" of node "${node.name}" (${node.capabilities[via]!.type})`;
    } else {
      const req = node.requirements.find((r) => r.name === via);
      const target = req?.target ? ctx.nodes[req.target] : undefined;
      if (!target) return;
      known = [...own(target), ...(req!.capability ? ofCapability(target, req!.capability) : [])];
      what = `node "${target.name}" (${target.type}), the target of requirement "${via}" of node "${node.name}",`;
    }
    if (known.includes(name)) return;
    ctx.report('E_TOSCA_FUNCTION', `get_attribute: ${what} has no attribute or property "${name}"`, at, didYouMean(name, known) ?? (known.length ? `it has: ${[...new Set(known)].join(', ')}` : undefined));
  }

  private getInput(args: Value[], at: SourceLocation): Value {
    const [name, ...path] = args;
    const first = Array.isArray(name) ? name[0] : name;
    const rest = Array.isArray(name) ? name.slice(1) : path;
    if (typeof first !== 'string' || !this.ctx.inputs[first]) {
      this.ctx.report('E_TOSCA_FUNCTION', `get_input: no input named ${JSON.stringify(first)}`, at, didYouMean(String(first), Object.keys(this.ctx.inputs)) ?? `inputs: ${Object.keys(this.ctx.inputs).join(', ') || 'none'}`);
      return null;
    }
    return this.walk(this.ctx.inputs[first]!.value ?? null, rest, `get_input: input "${first}"`, at);
  }

  private getProperty(args: Value[], v: Value, scope: Scope, at: SourceLocation): Value {
    const [who, ...path] = args;
    const target = this.entity(who ?? null, scope, at, 'get_property');
    if (!target || typeof path[0] !== 'string') return v;
    const node = this.ctx.nodes[target]!;
    const [first, second] = path as [string, Value];
    const declared = this.ctx.definitions('node', node.type, 'properties');
    // [node, capability, property, ...] when the name is a capability's, not a property's.
    if (path.length > 1 && node.capabilities[first] && !declared.has(first)) {
      const cap = node.capabilities[first]!;
      const capDefs = this.ctx.definitions('capability', cap.type, 'properties');
      if (typeof second === 'string' && !capDefs.has(second) && !(second in cap.properties)) {
        this.ctx.report('E_TOSCA_FUNCTION', `get_property: capability "${first}" of node "${target}" (${cap.type}) has no property "${second}"`, at, didYouMean(second, capDefs.keys()) ?? (capDefs.size ? `it has: ${[...capDefs.keys()].join(', ')}` : 'its type declares no properties'));
        return null;
      }
      return this.walk(cap.properties[String(second)] ?? null, path.slice(2), `get_property: ${target}.${first}.${String(second)}`, at);
    }
    // [node, requirement, ...]: the relationship's properties, known once the relationship is made.
    if (node.requirements.some((r) => r.name === first) && !declared.has(first)) return { $fn: 'get_property', args: [target, ...path] };
    if (!declared.has(first) && !(first in node.properties)) {
      const names = [...declared.keys()];
      this.ctx.report('E_TOSCA_FUNCTION', `get_property: node "${target}" (${node.type}) has no property "${first}"`, at, didYouMean(first, names) ?? (names.length ? `it has: ${names.join(', ')}` : 'its type declares no properties'));
      return null;
    }
    // Declared but given no value (an optional property): nothing, as TOSCA says.
    if (!(first in node.properties)) return null;
    return this.walk(this.evaluateProperty(node, first), path.slice(1), `get_property: ${target}.${first}`, at);
  }

  /** `[entity, interface, operation, output]`: the operation must exist; its output is known only when it has run. */
  private getOperationOutput(args: Value[], scope: Scope, at: SourceLocation): void {
    const [who, iface, op] = args;
    const target = this.entity(who ?? null, scope, at, 'get_operation_output');
    if (!target || typeof iface !== 'string' || typeof op !== 'string') return;
    const node = this.ctx.nodes[target]!;
    const interfaces = node.interfaces;
    const named = interfaces[iface] ?? Object.values(interfaces).find((i) => i.type === iface || i.types.includes(iface));
    if (!named) {
      const names = Object.keys(interfaces);
      this.ctx.report('E_TOSCA_FUNCTION', `get_operation_output: node "${target}" (${node.type}) has no interface "${iface}"`, at, didYouMean(iface, names) ?? (names.length ? `it has: ${names.join(', ')}` : 'its type declares no interfaces'));
      return;
    }
    const declared = this.ctx.operations(named.types);
    if (!named.operations[op] && !declared.has(op)) {
      const ops = [...new Set([...Object.keys(named.operations), ...declared])];
      this.ctx.report('E_TOSCA_FUNCTION', `get_operation_output: interface "${iface}" of node "${target}" has no operation "${op}"`, at, didYouMean(op, ops) ?? (ops.length ? `it has: ${ops.join(', ')}` : 'it declares no operations'));
    }
  }

  /** Follows a path of keys and list indexes into a known value; an index past the end of a known list is an error. */
  private walk(v: Value, path: Value[], what: string, at: SourceLocation): Value {
    let cur: Value = v;
    for (const p of path) {
      // Into nothing, or into a value only known at run time: nothing (as before), not an error.
      if (cur === null || isFunctionCall(cur)) return null;
      if (Array.isArray(cur)) {
        if (typeof p !== 'number' || !Number.isInteger(p)) {
          this.ctx.report('E_TOSCA_FUNCTION', `${what}: a list is indexed by a number, not ${describe(p)}`, at);
          return null;
        }
        if (p < 0 || p >= cur.length) {
          this.ctx.report('E_TOSCA_FUNCTION', `${what}: index ${p} is out of range (the list has ${cur.length} entr${cur.length === 1 ? 'y' : 'ies'})`, at, cur.length ? `use an index from 0 to ${cur.length - 1}` : 'the list is empty');
          return null;
        }
        cur = cur[p]!;
        continue;
      }
      if (typeof cur !== 'object') {
        this.ctx.report('E_TOSCA_FUNCTION', `${what}: cannot read ${JSON.stringify(p)} of ${describe(cur)}`, at);
        return null;
      }
      cur = (cur as Record<string, Value>)[String(p)] ?? null;
      what = `${what}.${String(p)}`;
    }
    return cur;
  }
}

function hasCall(values: Record<string, Value>): boolean {
  for (const k in values) if (containsCall(values[k]!)) return true;
  return false;
}
