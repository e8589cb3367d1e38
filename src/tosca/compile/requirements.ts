/**
 * A node's requirements: each assignment resolved to a target node template (named, or the first
 * of a node type and/or capability type), with its relationship; counted against the type's
 * occurrences. Node filters are handed to `NodeFilters` to decide once every node is compiled.
 */
import type { SourceLocation } from '../diagnostic.js';
import type { CompiledRelationship, CompiledRequirement } from '../model.js';
import type { Unit } from '../loader.js';
import { didYouMean } from '../suggest.js';
import type { RequirementDefinition } from '../document/read-definitions.js';
import { locationAt } from '../document/offsets.js';
import type { RequirementChecks } from '../requirements/check.js';
import type { NodeFilter, NodeFilters } from '../requirements/filters.js';
import type { CompileContext, TypeChain } from './context.js';
import type { NodeTemplate, NodeTemplateEntry, RelationshipTemplate } from '../document/records.js';
import { templateTypeName } from '../document/read-node-template.js';
import { copyValue, sharedPerType } from './shared.js';
import type { TemplateTable } from './templates.js';

export interface ReqDef {
  /** [min, max]; max Infinity for UNBOUNDED. Default [1, 1] as TOSCA says. */
  occurrences: [number, number];
  /** Declared by the type (tools differ on the default, so only a declared bound is enforced). */
  explicit: boolean;
  capability?: string;
  node?: string;
  relationship?: string;
  unit: Unit;
  loc: SourceLocation;
  /** The definition's node filter (2.0 §8.6, 1.3 §3.6.5). */
  filter?: NodeFilter;
}

export class RequirementCompiler {
  private readonly defCache = new Map<string, Map<string, ReqDef>>();
  private readonly targetCache = new Map<string, string[]>();
  /** A relationship with nothing assigned is its type's defaults: made once per type, shared frozen. */
  private readonly relationshipDefaults = new Map<string, CompiledRelationship>();
  private capabilityNames?: Set<string>;
  targets!: RequirementChecks;
  filters!: NodeFilters;

  constructor(
    private readonly ctx: CompileContext,
    /** Every node template, in declaration order, and by name. */
    private readonly templates: TemplateTable,
    private readonly relTemplates: ReadonlyMap<string, RelationshipTemplate>,
  ) {}

  /** Requirement definitions along a node type's chain, the most-derived refinement winning. */
  definitions(types: readonly string[]): Map<string, ReqDef> {
    const cached = this.defCache.get(types[0] ?? '');
    if (cached) return cached;
    const defs = new Map<string, ReqDef>();
    this.defCache.set(types[0] ?? '', defs);
    for (const ty of [...types].reverse()) {
      const def = this.ctx.loader.def('node', ty);
      if (!def) continue;
      const check = !this.checkedTypes.has(def.rec);
      if (check) this.checkedTypes.add(def.rec);
      for (const r of def.rec.requirements) {
        if (check) this.checkReferences(r, def.unit);
        const prev = defs.get(r.name);
        const occ = r.occurrences;
        const occurrences: [number, number] = Array.isArray(occ) && occ.length === 2 && typeof occ[0] === 'number'
          ? [occ[0], typeof occ[1] === 'number' ? occ[1] : Infinity]
          : (prev?.occurrences ?? [1, 1]);
        defs.set(r.name, {
          occurrences,
          explicit: Array.isArray(occ) || Boolean(prev?.explicit),
          capability: r.capability ?? prev?.capability,
          node: r.node ?? prev?.node,
          relationship: r.relationship ?? prev?.relationship,
          filter: r.nodeFilter ? { filter: r.nodeFilter.filter, version: def.unit.version, at: locationAt(def.unit.src, r.nodeFilter.at) } : prev?.filter,
          unit: def.unit,
          loc: locationAt(def.unit.src, r.at),
        } as ReqDef);
      }
    }
    return defs;
  }

  /** Definitions that declare their occurrences (the only ones counted): listed once per type. */
  private readonly explicit = new WeakMap<Map<string, ReqDef>, Array<[string, ReqDef]>>();

  private explicitOf(defs: Map<string, ReqDef>): Array<[string, ReqDef]> {
    let list = this.explicit.get(defs);
    if (!list) this.explicit.set(defs, (list = [...defs].filter(([, d]) => d.explicit)));
    return list;
  }

  /** Type definitions whose requirement definitions were checked (once each, whichever type derives from them). */
  private readonly checkedTypes = new WeakSet<object>();

  /**
   * The types a requirement definition names must exist, whether or not a template assigns the
   * requirement (1.3 §3.7.3): `capability` is a capability type, or with `node` a
   * capability the node type declares.
   */
  private checkReferences(r: RequirementDefinition, unit: Unit): void {
    const ctx = this.ctx;
    const at = locationAt(unit.src, r.at);
    const node = r.node ? ctx.typeChain('node', r.node, at, unit) : undefined;
    if (r.relationship) ctx.typeChain('relationship', r.relationship, at, unit);
    if (r.capability && !r.node) ctx.typeChain('capability', r.capability, at, unit);
    if (r.capability && node) this.checkNodeCapability(r.name, r.capability, r.node!, node.types, at, unit);
  }

  /**
   * With `node`, `capability` names a capability of that node type, or a capability type it
   * offers (that type or one derived from it; 1.3 §3.6.3, 2.0 §8.4: like a requirement's target),
   * itself or through a node type derived from it. A type that none of them offers is an error. A name that is neither a capability of the node type nor
   * a type is only a warning: Puccini accepts it, and a file of the shared conformance corpus
   * (online-boutique's `capability: Service`, where the capability is `service`) relies on that.
   */
  private checkNodeCapability(requirement: string, capability: string, nodeRef: string, nodeTypes: readonly string[], at: SourceLocation, unit: Unit): void {
    const ctx = this.ctx;
    const offered = ctx.mergedDefs(nodeTypes, 'capabilities');
    if (offered.has(capability)) return;
    const capType = ctx.loader.resolve(unit, 'capability', capability);
    if (!capType) {
      const hint = didYouMean(capability, [...offered.keys(), ...ctx.loader.typeNames(unit, 'capability')]) ?? `node type ${nodeRef} has: ${[...offered.keys()].join(', ') || 'no capabilities'}`;
      ctx.report('warning', 'W_TOSCA_REQUIREMENT_CAPABILITY', `requirement definition "${requirement}": "${capability}" is neither a capability of node type ${nodeRef} nor a capability type`, at, hint);
      return;
    }
    const offers = (types: readonly string[]) =>
      [...ctx.mergedDefs(types, 'capabilities').values()].some((d) => {
        const t = d.type ? ctx.loader.resolve(d.unit, 'capability', d.type) : undefined;
        // A capability of a type not known here might be the one: not decided, no error.
        return !t || ctx.loader.chain('capability', t).includes(capType);
      });
    if (offers(nodeTypes)) return;
    // The target may be of a type derived from `node` that adds the capability (the 2.0 simple
    // profile's Compute needs an Attachment of an Abstract.Storage, which Storage.BlockStorage offers).
    for (const name of ctx.loader.typeNames(unit, 'node')) {
      const t = ctx.loader.resolve(unit, 'node', name);
      const chain = t ? ctx.loader.chain('node', t) : [];
      if (chain.length > 1 && chain.includes(nodeTypes[0]!) && offers(chain)) return;
    }
    const has = [...offered.values()].map((d) => `${d.name} (${d.type ?? '?'})`).join(', ');
    ctx.report('error', 'E_TOSCA_REQUIREMENT_DEFINITION', `requirement definition "${requirement}": node type ${nodeRef} offers no capability of type ${capability}, nor does any node type derived from it`, at, has ? `it has: ${has}` : 'it declares no capabilities');
  }

  compile(t: NodeTemplate, loc: SourceLocation, types: string[]): CompiledRequirement[] {
    const defs = this.definitions(types);
    // None assigned: nothing to resolve, and a count of none is never "too few" (see the end).
    // The rest is a method of its own: its closures would allocate a context on every call.
    if (t.requirements.length === 0) return [];
    return this.compileAssigned(t, loc, types, defs);
  }

  private compileAssigned(t: NodeTemplate, loc: SourceLocation, types: string[], defs: ReturnType<RequirementCompiler['definitions']>): CompiledRequirement[] {
    const ctx = this.ctx;
    const byName = this.templates.byName;
    const relTemplates = this.relTemplates;
    const out: CompiledRequirement[] = [];
    // Most nodes assign one requirement of each name: counted only when there are several.
    const counts = t.requirements.length > 1 ? new Map<string, number>() : undefined;
    for (const r of t.requirements) {
      const name = r.name;
      const at = ctx.loc(r.at);
      const def = defs.get(name);
      const count = counts ? (counts.get(name) ?? 0) + 1 : 1;
      counts?.set(name, count);
      if (def?.explicit && count > def.occurrences[1]) {
        ctx.report('error', 'E_TOSCA_OCCURRENCES', `node "${t.name}" assigns requirement "${name}" ${count} times; its type allows at most ${def.occurrences[1]}`, at);
      }
      if (!def) {
        ctx.report('error', 'E_TOSCA_UNKNOWN_REQUIREMENT', `node "${t.name}" has no requirement "${name}"`, at, defs.size ? `its type has: ${[...defs.keys()].join(', ')}` : 'its type declares no requirements');
        continue;
      }
      const nodeRef = r.node;
      const capRef = r.capability;
      const rel = r.relationship;
      const filters = def.filter || r.nodeFilter ? (def.filter ? [def.filter] : []) : undefined;
      if (r.nodeFilter) filters!.push({ filter: r.nodeFilter.filter, version: ctx.unit.version, at: ctx.loc(r.nodeFilter.at) });
      let target: string | undefined;
      let byType: string | undefined;
      let wantCap: string | undefined;
      if (nodeRef && byName.has(nodeRef)) target = nodeRef;
      else {
        byType = nodeRef ? ctx.loader.resolve(ctx.unit, 'node', nodeRef) : def.node ? ctx.loader.resolve(def.unit, 'node', def.node) : undefined;
        wantCap = capRef && !this.nodesHaveCapabilityName(capRef) ? ctx.loader.resolve(ctx.unit, 'capability', capRef) : def.capability ? ctx.loader.resolve(def.unit, 'capability', def.capability) : undefined;
        if (nodeRef && !byType) {
          ctx.report('error', 'E_TOSCA_UNRESOLVED_REQUIREMENT', `requirement "${name}" of node "${t.name}" names "${nodeRef}", which is neither a node template nor a node type`, ctx.loc(r.valueAt), didYouMean(nodeRef, byName.keys()) ?? `node templates: ${[...byName.keys()].slice(0, 20).join(', ')}`);
          continue;
        }
        target = this.findTarget(t.name, byType, wantCap);
        if (!target) {
          ctx.report('error', 'E_TOSCA_UNRESOLVED_REQUIREMENT', `requirement "${name}" of node "${t.name}" matches no node template`, at, 'name a node template, or declare one with the needed capability');
          continue;
        }
      }
      const relRef = rel?.type;
      let relationship: CompiledRelationship | undefined;
      const rt = relRef ? relTemplates.get(relRef) : undefined;
      if (rt) {
        const tt = ctx.typeChain('relationship', rt.type, rt.at);
        // A relationship template serves every requirement naming it: each gets its own copy of the values.
        if (tt) relationship = { ...tt, template: relRef, properties: ctx.assignProperties(ctx.checker.definitions('relationship', tt.type, 'properties'), rt.properties?.map((a) => ({ ...a, value: copyValue(a.value) })), `relationship "${relRef}"`, ctx.loc(rt.at)), attributes: {}, interfaces: {} };
      } else {
        const ref = relRef ?? def.relationship;
        const unit = relRef ? ctx.unit : def.unit;
        const tt = ref ? ctx.typeChain('relationship', ref, relRef ? rel!.at : def.loc, unit) : { type: 'tosca:DependsOn', types: ['tosca:DependsOn', 'tosca:Root'] };
        const assigned = rel?.properties;
        if (tt && assigned === undefined) relationship = this.defaultRelationship(tt, name, at);
        else if (tt) relationship = { ...tt, properties: ctx.assignProperties(ctx.checker.definitions('relationship', tt.type, 'properties'), assigned, `relationship of requirement "${name}"`, at), attributes: {}, interfaces: {} };
      }
      if (!relationship) continue;
      this.targets.check({ source: t.name, types, requirement: name, def, target, ...(capRef !== undefined ? { capRef } : {}), relationship, implicit: !relRef && !def.relationship, assigned: rt ? true : rel?.properties !== undefined, at: () => ctx.loc(r.targetAt), loc: at });
      const targetNode = ctx.nodes[target];
      const capName = capRef && targetNode?.capabilities[capRef] ? capRef : undefined;
      // plain literals, not a spread: each of 150,000 requirements keeps a compact shape
      const compiled: CompiledRequirement = capName ? { name, target, capability: capName, relationship, source: at } : { name, target, relationship, source: at };
      out.push(compiled);
      if (filters) {
        const question = { source: t.name, types, requirement: name, def, ...(capRef !== undefined ? { capRef } : {}), relationship, implicit: !relRef && !def.relationship };
        const [nodeType, capType] = [byType, wantCap];
        this.filters.add({
          source: t.name,
          requirement: compiled,
          explicit: Boolean(nodeRef && byName.has(nodeRef)),
          filters,
          candidates: () => this.candidates(nodeType, capType),
          fits: (candidate) => {
            const a = this.targets.answer({ ...question, target: candidate });
            return { ok: !a.problem, ...(a.capability ? { capability: a.capability } : {}) };
          },
        });
      }
    }
    // Too few is a warning: a placement policy can stand in for `host`, and TOSCA tools may fill the rest.
    for (const [name, def] of this.explicitOf(defs)) {
      const n = counts ? (counts.get(name) ?? 0) : t.requirements[0]?.name === name ? 1 : 0;
      if (def.explicit && n > 0 && n < def.occurrences[0]) ctx.report('warning', 'W_TOSCA_OCCURRENCES', `node "${t.name}" assigns requirement "${name}" ${n} time${n === 1 ? '' : 's'}; its type asks for at least ${def.occurrences[0]}`, loc);
    }
    // An array grown by push keeps room for 16 more; the node keeps this one for its life.
    return out.slice();
  }

  private defaultRelationship(tt: TypeChain, requirement: string, loc: SourceLocation): CompiledRelationship {
    const ctx = this.ctx;
    // Looked up before the closure and its message text are made: most requirements find it.
    return this.relationshipDefaults.get(tt.type) ?? sharedPerType(this.relationshipDefaults, tt.type, () => ({
      ...tt,
      properties: ctx.assignProperties(ctx.checker.definitions('relationship', tt.type, 'properties'), undefined, `relationship of requirement "${requirement}"`, loc),
      attributes: {},
      interfaces: {},
    }));
  }

  /** Whether any node type in play declares a capability by this name (so `capability:` is a name, not a type). */
  private nodesHaveCapabilityName(name: string): boolean {
    if (!this.capabilityNames) {
      this.capabilityNames = new Set();
      for (const def of this.ctx.loader.types.values()) {
        if (def.family !== 'node') continue;
        for (const cap of def.rec.capabilities) this.capabilityNames.add(cap.name);
      }
    }
    return this.capabilityNames.has(name);
  }

  /** By node type and/or capability type: the first template in declaration order, other than the source. */
  private findTarget(self: string, nodeType: string | undefined, capType: string | undefined): string | undefined {
    if (!nodeType && !capType) return undefined;
    // The first two matches in declaration order answer every source (one of them is not itself).
    const key = `${nodeType ?? ''}\0${capType ?? ''}`;
    let found = this.targetCache.get(key);
    if (!found) {
      found = this.scanTargets(nodeType, capType);
      this.targetCache.set(key, found);
    }
    return found.find((n) => n !== self);
  }

  /** A node template's type chain, compiled yet or not. */
  templateTypes(name: string): readonly string[] | undefined {
    const compiled = this.ctx.nodes[name];
    if (compiled) return compiled.types;
    const t = this.templates.byName.get(name);
    const ref = t ? templateTypeName(t) : undefined;
    const canonical = ref ? this.ctx.loader.resolve(this.ctx.unit, 'node', ref) : undefined;
    return canonical ? this.ctx.loader.chain('node', canonical) : undefined;
  }

  /** Every node template of a node type and/or with a capability of a type, in declaration order (for node filters). */
  private candidates(nodeType: string | undefined, capType: string | undefined): string[] {
    return this.scanTargets(nodeType, capType, Infinity);
  }

  private scanTargets(nodeType: string | undefined, capType: string | undefined, limit = 2): string[] {
    const ctx = this.ctx;
    const out: string[] = [];
    for (const t of this.templates.list) {
      const name = t.name;
      if (out.length >= limit) break;
      const tref = templateTypeName(t);
      const canonical = tref ? ctx.loader.resolve(ctx.unit, 'node', tref) : undefined;
      if (!canonical) continue;
      const chain = ctx.loader.chain('node', canonical);
      if (nodeType && !chain.includes(nodeType)) continue;
      if (capType) {
        const caps = ctx.mergedDefs(chain, 'capabilities');
        const has = [...caps.values()].some(({ type: r, unit }) => {
          const c = r ? ctx.loader.resolve(unit, 'capability', r) : undefined;
          return c ? ctx.loader.chain('capability', c).includes(capType) : false;
        });
        if (!has) continue;
      }
      out.push(name);
    }
    return out;
  }
}
