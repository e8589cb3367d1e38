/**
 * From a service template to a `CompiledService`: types resolved, values coerced and validated,
 * requirements resolved to targets, functions evaluated (or kept when they need discovered state).
 * Every problem is a diagnostic; nothing here throws on a user's input.
 */
import type { Diagnostic, SourceLocation } from './diagnostic.js';
import type {
  CompileResult, CompiledArtifact, CompiledCapability, CompiledGroup, CompiledInput, CompiledInterface, CompiledNode,
  CompiledOperation, CompiledPolicy, CompiledRelationship, CompiledRequirement, CompiledService, SourceReader, Value,
} from './model.js';
import { joinPath, Loader, ParseCache, PRIMITIVES, type Family, type Unit } from './loader.js';
import { containsCall, toValue, ValueChecker, type PropertyDef, type Problem, type TypeSpec } from './values.js';
import { entries, field, locate, pairOf, seqItems, str, toJS, type YamlNode } from './yaml-source.js';
import { releaseNode } from './yaml-fast.js';
import { checkGrammar } from './grammar/check-units.js';
import { didYouMean } from './suggest.js';
import { unsafeNameDiagnostics } from './safe-name.js';
import { FunctionEvaluator } from './functions/evaluate.js';
import { keepCallSite, recordCallSites } from './functions/call-sites.js';
import { interfaceTypeOperations } from './functions/operations.js';
import { RequirementChecks } from './requirements/check.js';
import { NodeFilters, type NodeFilter } from './requirements/filters.js';
import { checkSubstitution } from './substitution/check.js';
import { substituteNodes, SUBSTITUTED_NODES_MAX, SUBSTITUTIONS_MAX, type SubstitutionBudget, type SubstitutionCandidate, type WiredRequirement } from './substitution/substitute.js';
import { GrammarChecker } from './grammar/check.js';
import { grammarFor } from './grammar/index.js';

export interface CompileOptions {
  /** The Kaidu install's `profiles/` folder. */
  profiles: SourceReader;
  inputs?: Record<string, unknown>;
  cache?: CompileCache;
}

/** Parsed documents by content id, shared between compiles: an unchanged file is not parsed again. */
export type CompileCache = ParseCache;
export function createCompileCache(): CompileCache {
  return new ParseCache();
}

export async function compileService(entryPath: string, reader: SourceReader, options: CompileOptions): Promise<CompileResult> {
  try {
    const result = await new ServiceCompiler(entryPath, reader, options, { stack: [entryPath], budget: { left: SUBSTITUTIONS_MAX, nodes: SUBSTITUTED_NODES_MAX } }).run();
    result.diagnostics.push(...unsafeNameDiagnostics(entryPath, result));
    return result;
  } catch (err) {
    // A bug of ours must still come out as a diagnostic, never as a stack trace to the user.
    return {
      typesOnly: false,
      diagnostics: [{ severity: 'error', code: 'E_TOSCA_INTERNAL', message: `internal compiler error: ${(err as Error).message}`, file: entryPath, line: 1, column: 1, hint: 'this is a Kaidu bug; please report it with the template' }],
    };
  }
}

interface ReqDef {
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

interface RawTemplate {
  name: string;
  node: YamlNode | null;
  /** As written (`node` is the merged result when it copies another). */
  own: YamlNode | null;
  base?: YamlNode | null;
  loc: SourceLocation;
}

/** A compile inside another: a service substituting a node, read with the outer compile's loader. */
interface Nesting {
  stack: readonly string[];
  budget: SubstitutionBudget;
  /** Set for a substituting service: the outer loader, its file, and its inputs from the node's properties. */
  inner?: { loader: Loader; unit: Unit; inputs: Record<string, Value>; wired: readonly WiredRequirement[] };
}

class ServiceCompiler {
  private loader!: Loader;
  private checker!: ValueChecker;
  private grammar?: GrammarChecker;
  /** Every node template's name, compiled or not (for "did you mean"). */
  private templateNames: string[] = [];
  private unit!: Unit;
  private readonly diagnostics: Diagnostic[] = [];
  private readonly nodes: Record<string, CompiledNode> = {};
  /** The same, in order: listing a 100,000-key record costs more than keeping this. */
  private readonly nodeList: CompiledNode[] = [];
  private inputs: Record<string, CompiledInput> = {};
  private functions!: FunctionEvaluator;
  private requirementTargets!: RequirementChecks;
  private nodeFilters!: NodeFilters;

  constructor(
    private readonly entryPath: string,
    private readonly reader: SourceReader,
    private readonly options: CompileOptions,
    private readonly nesting: Nesting,
  ) {}

  private report(severity: Diagnostic['severity'], code: string, message: string, at: SourceLocation, hint?: string): void {
    this.diagnostics.push({ severity, code, message, file: at.file, line: at.line, column: at.column, ...(hint ? { hint } : {}) });
  }

  private problemAt(at: SourceLocation): Problem {
    return (code, message, severity = 'error', hint) => this.report(severity, code, message, at, hint);
  }

  private at(node: unknown): SourceLocation {
    return locate(this.unit.src, node as YamlNode);
  }

  async run(): Promise<CompileResult> {
    const inner = this.nesting.inner;
    let unit: Unit | undefined;
    if (inner) {
      this.loader = inner.loader;
      unit = inner.unit;
    } else {
      const cache = this.options.cache ?? new ParseCache();
      this.loader = new Loader(this.reader, this.options.profiles, cache);
      await this.loader.init();
      await this.loader.implicitScopes();
      unit = await this.loader.load({ reader: 'repo', path: this.entryPath }, '', undefined, true);
    }
    const finish = (r: Omit<CompileResult, 'diagnostics'>): CompileResult => {
      // The loader's problems are the outermost compile's to report.
      const own = inner ? [] : [...this.loader.diagnostics, ...this.loader.lateDiagnostics()].filter((d) => !d.file.startsWith('profiles/') || d.severity === 'error');
      const all = [...own, ...this.diagnostics];
      const seen = new Set<string>();
      const unique = all.filter((d) => {
        const k = `${d.file}:${d.line}:${d.column}:${d.code}:${d.message}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
      return { ...r, diagnostics: unique };
    };
    if (!unit) {
      this.report('error', 'E_TOSCA_NOT_FOUND', `no such file: ${this.entryPath}`, { file: this.entryPath, line: 1, column: 1 });
      return finish({ typesOnly: false });
    }
    this.unit = unit;
    this.checker = new ValueChecker(this.loader);
    // Every declared type must have a valid chain, used or not.
    for (const t of [...this.loader.types.values()]) this.loader.chain(t.family, t.canonical);
    const root = unit.src.root;
    if (!root) return finish({ typesOnly: false });
    const tpl = field(root, 'service_template') ?? field(root, 'topology_template');
    if (!inner) this.grammar = checkGrammar(this.loader, unit, (d) => this.diagnostics.push(d));
    else {
      // Its file was checked by the outer compile; its node templates are checked as they are read.
      const g = grammarFor(unit.versionText);
      if (g) this.grammar = new GrammarChecker(g, unit.src, (code, message, at, hint) => this.diagnostics.push({ severity: 'error', code, message, file: at.file, line: at.line, column: at.column, ...(hint ? { hint } : {}) }));
    }
    if (tpl === undefined || tpl === null) return finish({ typesOnly: true });

    this.compileInputs(tpl);
    const raw = this.rawTemplates(tpl);
    this.templateNames = [...raw.keys()];
    this.nodeFilters = new NodeFilters({
      nodes: this.nodes,
      capabilitiesNamed: (node, nameOrType) => {
        if (node.capabilities[nameOrType]) return [nameOrType];
        const type = this.loader.resolve(this.unit, 'capability', nameOrType);
        return type ? Object.keys(node.capabilities).filter((c) => node.capabilities[c]!.types.includes(type)) : [];
      },
      report: (severity, code, message, at, hint) => this.report(severity, code, message, at, hint),
    });
    this.requirementTargets = new RequirementChecks({
      loader: this.loader,
      unit,
      capabilitiesOf: (types) => this.mergedDefs(types, 'capabilities'),
      templateTypes: (name) => this.templateTypes(raw, name),
      relationshipProperties: (type) => this.checker.definitions('relationship', type, 'properties'),
      report: (code, message, at, hint) => this.report('error', code, message, at, hint),
    });
    const relTemplates = new Map(entries(field(tpl, 'relationship_templates')).map(([n, node]) => [n, node]));
    for (const t of raw.values()) {
      this.compileNode(t, raw, relTemplates);
      releaseNode(t.node); // its YAML is not needed any more (read again if it is)
    }
    for (const w of inner?.wired ?? []) {
      const n = this.nodes[w.node];
      if (n) n.requirements = [...n.requirements.filter((r) => r.name !== w.requirement.name), w.requirement];
    }
    this.functions = new FunctionEvaluator({
      nodes: this.nodes,
      templateNames: this.templateNames,
      inputs: this.inputs,
      declared: unit.functions,
      dollar: unit.version === 2,
      definitions: (family, type, key) => this.checker.definitions(family, type, key),
      operations: (types) => interfaceTypeOperations(this.loader, types),
      report: (code, message, at, hint, severity = 'error') => this.report(severity, code, message, at, hint),
    });
    for (const n of this.nodeList) this.functions.evaluateNode(n);
    this.nodeFilters.apply();
    const mappings = field(tpl, 'substitution_mappings');
    if (mappings) this.checkSubstitution(mappings, tpl);

    const name = this.entryPath.split('/').pop()!.replace(/\.ya?ml$/, '');
    const service: CompiledService = {
      name,
      file: this.entryPath,
      toscaVersion: unit.versionText,
      ...(str(field(root, 'description')) ? { description: str(field(root, 'description'))! } : {}),
      metadata: this.stringMap(field(root, 'metadata')),
      inputs: this.inputs,
      outputs: this.compileOutputs(tpl),
      nodes: this.nodes,
      groups: this.compileGroups(tpl),
      policies: this.compilePolicies(tpl),
      workflows: ((toJS(unit.src, field(tpl, 'workflows')) ?? {}) as Record<string, Value>),
      ...(field(tpl, 'substitution_mappings') ? { substitution: (toJS(unit.src, field(tpl, 'substitution_mappings')) ?? {}) as Record<string, Value> } : {}),
    };
    if (field(tpl, 'workflows')) this.report('warning', 'W_TOSCA_WORKFLOWS', 'workflows are kept in the graph but Kaidu does not run them', this.at(pairOf(tpl, 'workflows')));
    await substituteNodes({
      loader: this.loader,
      service,
      stack: this.nesting.stack,
      budget: this.nesting.budget,
      directivesAt: (name) => {
        const t = raw.get(name);
        const d = t ? (field(t.own, 'directives') ?? field(t.node, 'directives')) : undefined;
        return d !== undefined && d !== null ? this.at(d) : (this.nodes[name]?.source ?? this.at(tpl));
      },
      compile: (c, inputs, wired, stack) => this.compileSubstitute(c, inputs, wired, stack),
      report: (message, at, hint) => this.report('error', 'E_TOSCA_SUBSTITUTE', message, at, hint),
    });
    return finish({ service, typesOnly: false });
  }

  /** A service substituting one of this one's nodes: compiled with this loader (one type registry). */
  private async compileSubstitute(c: SubstitutionCandidate, inputs: Record<string, Value>, wired: readonly WiredRequirement[], stack: readonly string[]): Promise<CompileResult> {
    const nested = new ServiceCompiler(c.unit.src.path, this.reader, this.options, { stack, budget: this.nesting.budget, inner: { loader: this.loader, unit: c.unit, inputs, wired } });
    const result = await nested.run();
    this.diagnostics.push(...result.diagnostics);
    return result;
  }

  private checkSubstitution(mappings: YamlNode, tpl: YamlNode): void {
    const typeNode = field(mappings, 'node_type');
    const tt = this.typeChain('node', str(typeNode), this.at(typeNode ?? mappings));
    if (!tt) return;
    checkSubstitution(mappings, str(typeNode)!, {
      src: this.unit.src,
      declared: {
        properties: [...this.checker.definitions('node', tt.type, 'properties').keys()],
        attributes: [...this.checker.definitions('node', tt.type, 'attributes').keys()],
        capabilities: new Map([...this.mergedDefs(tt.types, 'capabilities')].map(([k, { node, unit }]) => {
          const ref = str(node) ?? str(field(node, 'type'));
          return [k, (ref ? this.loader.resolve(unit, 'capability', ref) : undefined) ?? ''];
        })),
        requirements: [...this.requirementDefs(tt.types).keys()],
        interfaces: [...this.mergedDefs(tt.types, 'interfaces').keys()],
      },
      nodes: this.nodes,
      inputs: Object.keys(this.inputs),
      outputs: entries(field(tpl, 'outputs')).map(([k]) => k),
      workflows: entries(field(tpl, 'workflows')).map(([k]) => k),
      requirementsOf: (node) => [...this.requirementDefs(node.types).keys()],
      attributesOf: (node) => [...this.checker.definitions('node', node.type, 'attributes').keys(), ...this.checker.definitions('node', node.type, 'properties').keys()],
      report: (message, at, hint) => this.report('error', 'E_TOSCA_SUBSTITUTION', message, at, hint),
    });
  }

  private stringMap(node: YamlNode | null | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of entries(node)) {
      const js = toJS(this.unit.src, v);
      out[k] = typeof js === 'string' ? js : JSON.stringify(js);
    }
    return out;
  }

  private value(node: YamlNode | null | undefined, unit = this.unit): Value {
    const v = toValue(toJS(unit.src, node), unit);
    if (v !== null && typeof v === 'object') recordCallSites(v, node, unit.src);
    return v;
  }

  private compileInputs(tpl: YamlNode): void {
    const fed = this.nesting.inner?.inputs;
    const given = fed ?? this.options.inputs ?? {};
    const defs = entries(field(tpl, 'inputs'));
    for (const [name, node, pair] of defs) {
      const def = this.checker.propertyDef(name, node, this.unit);
      const problem = this.problemAt(this.at(pair));
      let value: Value | undefined;
      if (Object.prototype.hasOwnProperty.call(given, name)) value = this.checker.coerce(fed ? fed[name]! : toValue(given[name], this.unit), def.spec, problem, `input "${name}"`);
      else if (def.hasDefault) value = this.checker.coerce(def.default!, def.spec, field(node, 'default') !== undefined ? this.problemAt(this.at(field(node, 'default'))) : problem, `input "${name}"`, 0, this.unit.version === 2);
      else if (def.value !== undefined) value = def.value;
      else if (def.required) {
        // Alone, a substitutable template may leave an input to the node it substitutes; substituting one, it may not.
        const substitutable = !fed && field(tpl, 'substitution_mappings') !== undefined;
        this.report(substitutable ? 'warning' : 'error', substitutable ? 'W_TOSCA_INPUT_REQUIRED' : 'E_TOSCA_INPUT_REQUIRED', `input "${name}" needs a value${substitutable ? ' (unless the template is substituted)' : fed ? ' (this template substitutes a node: map a property of the node to it, or give it a default)' : ''}`, this.at(pair), fed ? `substitution_mappings: properties: <property>: [ ${name} ]` : `give it with --input ${name}=VALUE or a default`);
      }
      this.inputs[name] = { type: def.spec?.type ?? 'string', required: def.required, ...(str(field(node, 'description')) ? { description: str(field(node, 'description'))! } : {}), ...(value !== undefined ? { value } : {}) };
    }
    for (const name of Object.keys(given)) {
      if (!defs.some(([n]) => n === name)) this.report('warning', 'W_TOSCA_UNKNOWN_INPUT', `input "${name}" is not declared by this template`, { file: this.entryPath, line: 1, column: 1 });
    }
  }

  private rawTemplates(tpl: YamlNode): Map<string, RawTemplate> {
    const out = new Map<string, RawTemplate>();
    const all = entries(field(tpl, 'node_templates'));
    const byName = new Map(all.map(([n, node]) => [n, node]));
    // `copy`: the copied template (itself possibly a copy), deep-merged under this one's own keys.
    const effective = (name: string, seen: string[]): Record<string, unknown> | undefined => {
      const node = byName.get(name);
      if (node === undefined) return undefined;
      const own = (toJS(this.unit.src, node) ?? {}) as Record<string, unknown>;
      const copy = typeof own.copy === 'string' ? own.copy : undefined;
      delete own.copy;
      if (!copy) return own;
      if (seen.includes(copy)) {
        this.report('error', 'E_TOSCA_COPY', `copy cycle: ${[...seen, copy].join(' → ')}`, this.at(field(node, 'copy')));
        return own;
      }
      const base = effective(copy, [...seen, copy]);
      if (!base) {
        this.report('error', 'E_TOSCA_UNKNOWN_TEMPLATE', `"${name}" copies "${copy}", which is not a node template`, this.at(field(node, 'copy')));
        return own;
      }
      return deepMerge(base, own) as Record<string, unknown>;
    };
    for (const [name, node, pair] of all) {
      let effectiveNode = node;
      if (str(field(node, 'copy'))) {
        const merged = effective(name, [name]);
        if (merged) effectiveNode = this.unit.src.doc.createNode(merged) as YamlNode;
      }
      out.set(name, { name, node: effectiveNode, own: node, loc: this.at(pair) });
    }
    return out;
  }

  private get(t: RawTemplate, key: string): YamlNode | null | undefined {
    const own = field(t.node, key);
    return own !== undefined ? own : t.base ? field(t.base, key) : undefined;
  }

  private typeChain(family: 'node' | 'capability' | 'relationship' | 'interface' | 'artifact' | 'group' | 'policy', ref: string | undefined, at: SourceLocation, unit = this.unit, severity: 'error' | 'warning' = 'error'): { type: string; types: string[] } | undefined {
    if (!ref) return undefined;
    const canonical = this.loader.resolve(unit, family, ref);
    if (!canonical) {
      const hint = didYouMean(ref, this.loader.typeNames(unit, family)) ?? (ref.includes(':') ? 'check the namespace prefix and the import' : undefined);
      this.report(severity, 'E_TOSCA_UNKNOWN_TYPE', `unknown ${family} type "${ref}"`, at, hint);
      return undefined;
    }
    return { type: canonical, types: this.loader.chain(family, canonical) };
  }

  /** Merged definitions of a key (capabilities, interfaces, artifacts) along a node type's chain. */
  private readonly mergedCache = new Map<string, Map<string, { node: YamlNode | null; unit: Unit }>>();

  /** Merged along the chain, once per type: 100,000 nodes of one type must not redo it. */
  private mergedDefs(types: string[], key: string, family: Family = 'node'): Map<string, { node: YamlNode | null; unit: Unit }> {
    const cacheKey = `${family}\0${key}\0${types[0] ?? ''}`;
    const cached = this.mergedCache.get(cacheKey);
    if (cached) return cached;
    const out = new Map<string, { node: YamlNode | null; unit: Unit }>();
    this.mergedCache.set(cacheKey, out);
    for (const t of [...types].reverse()) {
      const def = this.loader.def(family, t);
      if (def) for (const [k, node] of entries(field(def.node, key))) out.set(k, { node, unit: def.unit });
    }
    return out;
  }

  /** A default is the same for every template: coerced and checked once (a call is kept per template). */
  private readonly defaults = new WeakMap<PropertyDef, Value>();

  private coercedDefault(d: PropertyDef, at: SourceLocation, what: string): Value {
    const known = this.defaults.get(d);
    if (known !== undefined) return copyValue(known);
    // A bad default is reported at the default itself when this definition wrote it.
    const own = field(d.node, 'default');
    const v = this.checker.coerce(d.default!, d.spec, this.problemAt(own !== undefined ? locate(d.unit.src, own) : at), what, 0, d.unit.version === 2);
    if (!containsCall(v)) this.defaults.set(d, v);
    return copyValue(v);
  }

  private assignProperties(defs: Map<string, PropertyDef>, assigned: YamlNode | null | undefined, whose: string, fallback: SourceLocation, unit = this.unit, attributes = false): Record<string, Value> {
    const out: Record<string, Value> = {};
    for (const [k, rawV, pair] of entries(assigned)) {
      const d = defs.get(k);
      const loc = locate(unit.src, pair);
      // Long notation of an assignment: { description, value }.
      const long = field(rawV, 'value') !== undefined && entries(rawV).every(([x]) => x === 'value' || x === 'description');
      const v = long ? field(rawV, 'value')! : rawV;
      if (!d) {
        this.report(attributes ? 'warning' : 'error', attributes ? 'W_TOSCA_UNKNOWN_ATTRIBUTE' : 'E_TOSCA_UNKNOWN_PROPERTY', `${whose} has no ${attributes ? 'attribute' : 'property'} "${k}"`, loc, defs.size ? `it has: ${[...defs.keys()].join(', ')}` : undefined);
        out[k] = this.value(v, unit);
        continue;
      }
      out[k] = this.checker.coerce(this.value(v, unit), d.spec, (c, m, s, h) => this.report(s ?? 'error', c, m, loc, h), `${whose} ${attributes ? 'attribute' : 'property'} "${k}"`, 0, unit.version === 2);
    }
    for (const d of defs.values()) {
      if (Object.prototype.hasOwnProperty.call(out, d.name)) continue;
      if (d.value !== undefined) out[d.name] = d.value;
      else if (d.hasDefault) out[d.name] = this.coercedDefault(d, fallback, `${whose} ${attributes ? 'attribute' : 'property'} "${d.name}"`);
      else if (d.required && !attributes) this.report('error', 'E_TOSCA_REQUIRED_PROPERTY', `${whose} is missing the required property "${d.name}"`, fallback, `add it under properties:`);
    }
    return out;
  }

  /**
   * A capability the template leaves alone is the same for every node of a type: made once and
   * shared, frozen (100,000 copies of it were a third of a large compile's garbage).
   */
  private readonly capabilityDefaults = new Map<string, CompiledCapability>();

  private defaultCapability(nodeType: string, name: string, ct: { type: string; types: string[] }, node: YamlNode | null, unit: Unit, t: RawTemplate): CompiledCapability {
    return sharedPerType(this.capabilityDefaults, `${nodeType}\0${name}`, () => {
      const properties = this.assignProperties(this.checker.definitions('capability', ct.type, 'properties'), undefined, `capability "${name}" of node "${t.name}"`, t.loc);
      for (const [k, v] of entries(field(node, 'properties'))) properties[k] = this.value(v, unit);
      const attributes = this.assignProperties(this.checker.definitions('capability', ct.type, 'attributes'), undefined, `capability "${name}"`, t.loc, this.unit, true);
      return { ...ct, properties, attributes };
    });
  }

  /** A relationship with nothing assigned is its type's defaults: made once per type, shared frozen. */
  private readonly relationshipDefaults = new Map<string, CompiledRelationship>();

  private defaultRelationship(tt: { type: string; types: string[] }, requirement: string, loc: SourceLocation): CompiledRelationship {
    return sharedPerType(this.relationshipDefaults, tt.type, () => ({
      ...tt,
      properties: this.assignProperties(this.checker.definitions('relationship', tt.type, 'properties'), undefined, `relationship of requirement "${requirement}"`, loc),
      attributes: {},
      interfaces: {},
    }));
  }

  private compileNode(t: RawTemplate, raw: Map<string, RawTemplate>, relTemplates: Map<string, YamlNode | null>): void {
    if (this.grammar && !this.grammar.checkEntity(t.own, 'nodeTemplate', `node template "${t.name}"`, t.loc)) return;
    const typeNode = this.get(t, 'type');
    const ref = str(typeNode);
    if (!ref) {
      this.report('error', 'E_TOSCA_MISSING_TYPE', `node template "${t.name}" has no type`, t.loc);
      return;
    }
    const tr = this.typeChain('node', ref, this.at(typeNode));
    if (!tr) return;
    const whose = `node "${t.name}" (${ref})`;
    const propsNode = this.get(t, 'properties');
    const properties = this.assignProperties(this.checker.definitions('node', tr.type, 'properties'), propsNode, whose, propsNode ? this.at(pairOf(t.node, 'properties') ?? propsNode) : t.loc);
    const attributes = this.assignProperties(this.checker.definitions('node', tr.type, 'attributes'), this.get(t, 'attributes'), whose, t.loc, this.unit, true);

    // Capabilities: the type's definitions, with the template's property assignments.
    const capabilities: Record<string, CompiledCapability> = {};
    const capDefs = this.mergedDefs(tr.types, 'capabilities');
    const capAssigned = new Map(entries(this.get(t, 'capabilities')).map(([k, v, p]) => [k, { v, p }]));
    for (const [name, { node, unit }] of capDefs) {
      const capRef = str(node) ?? str(field(node, 'type'));
      const ct = capRef ? this.typeChain('capability', capRef, locate(unit.src, node), unit) : undefined;
      if (!ct) continue;
      const a = capAssigned.get(name);
      if (!a) {
        capabilities[name] = this.defaultCapability(tr.type, name, ct, node, unit, t);
        continue;
      }
      const defaults = field(node, 'properties');
      const defs = this.checker.definitions('capability', ct.type, 'properties');
      const merged = this.assignProperties(defs, a ? field(a.v, 'properties') : undefined, `capability "${name}" of node "${t.name}"`, a ? this.at(a.p) : t.loc);
      for (const [k, v] of entries(defaults)) if (!a || field(field(a.v, 'properties'), k) === undefined) merged[k] = this.value(v, unit);
      capabilities[name] = { ...ct, properties: merged, attributes: this.assignProperties(this.checker.definitions('capability', ct.type, 'attributes'), a ? field(a.v, 'attributes') : undefined, `capability "${name}"`, t.loc, this.unit, true) };
    }
    for (const [name, { p }] of capAssigned) if (!capDefs.has(name)) this.report('error', 'E_TOSCA_UNKNOWN_CAPABILITY', `${whose} has no capability "${name}"`, this.at(p), capDefs.size ? `it has: ${[...capDefs.keys()].join(', ')}` : undefined);

    const description = str(this.get(t, 'description'));
    const metadata = this.get(t, 'metadata');
    const directives = this.get(t, 'directives');
    // Empty parts are one shared frozen value: 100,000 nodes need not carry 100,000 empty objects.
    const parts = {
      metadata: metadata === undefined || metadata === null ? (EMPTY_MAP as Record<string, string>) : this.stringMap(metadata),
      directives: directives === undefined || directives === null ? (EMPTY_LIST as unknown as string[]) : seqItems(directives).map((d) => str(d) ?? '').filter(Boolean),
      attributes: isEmptyRecord(attributes) ? (EMPTY_MAP as Record<string, Value>) : attributes,
      capabilities: this.sharedCapabilities(tr.type, capabilities, capAssigned.size === 0),
      interfaces: this.compileInterfaces(tr.types, this.get(t, 'interfaces'), t),
      artifacts: this.compileArtifacts(tr.types, this.get(t, 'artifacts')),
    };
    // Two plain literals rather than a spread for the optional description: a compact object each.
    const compiled: CompiledNode = description
      ? { name: t.name, type: tr.type, types: tr.types, description, metadata: parts.metadata, directives: parts.directives, properties, attributes: parts.attributes, capabilities: parts.capabilities, requirements: EMPTY_LIST as unknown as CompiledRequirement[], interfaces: parts.interfaces, artifacts: parts.artifacts, source: t.loc }
      : { name: t.name, type: tr.type, types: tr.types, metadata: parts.metadata, directives: parts.directives, properties, attributes: parts.attributes, capabilities: parts.capabilities, requirements: EMPTY_LIST as unknown as CompiledRequirement[], interfaces: parts.interfaces, artifacts: parts.artifacts, source: t.loc };
    if (field(t.node, 'node_filter')) this.report('warning', 'W_TOSCA_NODE_FILTER', `node filters are kept but not acted on (node "${t.name}")`, this.at(pairOf(t.node, 'node_filter')));
    this.nodes[t.name] = compiled;
    this.nodeList.push(compiled);
    compiled.requirements = this.compileRequirements(t, tr.types, raw, relTemplates);
  }

  /** The capabilities record of a node that assigns none, when every one of them is a shared default: shared too. */
  private readonly capabilityRecords = new Map<string, Record<string, CompiledCapability>>();

  private sharedCapabilities(nodeType: string, made: Record<string, CompiledCapability>, untouched: boolean): Record<string, CompiledCapability> {
    if (!untouched) return made;
    const known = this.capabilityRecords.get(nodeType);
    if (known) return known;
    for (const cap of Object.values(made)) if (!Object.isFrozen(cap)) return made; // one holds a call: made for this node
    const shared = Object.freeze(made);
    this.capabilityRecords.set(nodeType, shared);
    return shared;
  }

  private compileRequirements(t: RawTemplate, types: string[], raw: Map<string, RawTemplate>, relTemplates: Map<string, YamlNode | null>): CompiledRequirement[] {
    const defs = this.requirementDefs(types);
    return this.assignRequirements(t, defs, raw, relTemplates, types);
  }

  private readonly reqDefCache = new Map<string, Map<string, ReqDef>>();

  private requirementDefs(types: string[]): Map<string, ReqDef> {
    const cached = this.reqDefCache.get(types[0] ?? '');
    if (cached) return cached;
    const defs = new Map<string, ReqDef>();
    this.reqDefCache.set(types[0] ?? '', defs);
    for (const ty of [...types].reverse()) {
      const def = this.loader.def('node', ty);
      if (!def) continue;
      for (const item of seqItems(field(def.node, 'requirements'))) {
        for (const [name, node] of entries(item)) {
          const prev = defs.get(name);
          const rel = str(field(node, 'relationship')) ?? str(field(field(node, 'relationship'), 'type'));
          const occ = toJS(def.unit.src, field(node, 'occurrences') ?? field(node, 'count_range'));
          const occurrences: [number, number] = Array.isArray(occ) && occ.length === 2 && typeof occ[0] === 'number'
            ? [occ[0], typeof occ[1] === 'number' ? occ[1] : Infinity]
            : (prev?.occurrences ?? [1, 1]);
          defs.set(name, {
            occurrences,
            explicit: Array.isArray(occ) || Boolean(prev?.explicit),
            capability: str(node) ?? str(field(node, 'capability')) ?? prev?.capability,
            node: str(field(node, 'node')) ?? prev?.node,
            relationship: rel ?? prev?.relationship,
            filter: field(node, 'node_filter') !== undefined ? { filter: toJS(def.unit.src, field(node, 'node_filter')), version: def.unit.version, at: locate(def.unit.src, field(node, 'node_filter')) } : prev?.filter,
            unit: def.unit,
            loc: locate(def.unit.src, node),
          } as ReqDef);
        }
      }
    }
    return defs;
  }

  private assignRequirements(t: RawTemplate, defs: Map<string, ReqDef>, raw: Map<string, RawTemplate>, relTemplates: Map<string, YamlNode | null>, types: string[]): CompiledRequirement[] {
    const out: CompiledRequirement[] = [];
    const counts = new Map<string, number>();
    for (const item of seqItems(this.get(t, 'requirements'))) {
      for (const [name, node, pair] of entries(item)) {
        const loc = this.at(pair);
        const def = defs.get(name);
        const count = (counts.get(name) ?? 0) + 1;
        counts.set(name, count);
        if (def?.explicit && count > def.occurrences[1]) {
          this.report('error', 'E_TOSCA_OCCURRENCES', `node "${t.name}" assigns requirement "${name}" ${count} times; its type allows at most ${def.occurrences[1]}`, loc);
        }
        if (!def) {
          this.report('error', 'E_TOSCA_UNKNOWN_REQUIREMENT', `node "${t.name}" has no requirement "${name}"`, loc, defs.size ? `its type has: ${[...defs.keys()].join(', ')}` : 'its type declares no requirements');
          continue;
        }
        const nodeRef = str(node) ?? str(field(node, 'node'));
        const capRef = str(field(node, 'capability'));
        const relNode = field(node, 'relationship');
        const filters = def.filter ? [def.filter] : [];
        if (field(node, 'node_filter') !== undefined) filters.push({ filter: toJS(this.unit.src, field(node, 'node_filter')), version: this.unit.version, at: this.at(field(node, 'node_filter')) });
        let target: string | undefined;
        let byType: string | undefined;
        let wantCap: string | undefined;
        if (nodeRef && raw.has(nodeRef)) target = nodeRef;
        else {
          byType = nodeRef ? this.loader.resolve(this.unit, 'node', nodeRef) : def.node ? this.loader.resolve(def.unit, 'node', def.node) : undefined;
          wantCap = capRef && !this.nodesHaveCapabilityName(capRef) ? this.loader.resolve(this.unit, 'capability', capRef) : def.capability ? this.loader.resolve(def.unit, 'capability', def.capability) : undefined;
          if (nodeRef && !byType) {
            this.report('error', 'E_TOSCA_UNRESOLVED_REQUIREMENT', `requirement "${name}" of node "${t.name}" names "${nodeRef}", which is neither a node template nor a node type`, this.at(node), didYouMean(nodeRef, raw.keys()) ?? `node templates: ${[...raw.keys()].slice(0, 20).join(', ')}`);
            continue;
          }
          target = this.findTarget(t.name, byType, wantCap, raw);
          if (!target) {
            this.report('error', 'E_TOSCA_UNRESOLVED_REQUIREMENT', `requirement "${name}" of node "${t.name}" matches no node template`, loc, 'name a node template, or declare one with the needed capability');
            continue;
          }
        }
        const relRef = str(relNode) ?? str(field(relNode, 'type'));
        let relationship: CompiledRelationship | undefined;
        if (relRef && relTemplates.has(relRef)) {
          const rt = relTemplates.get(relRef)!;
          const tt = this.typeChain('relationship', str(field(rt, 'type')), this.at(rt));
          if (tt) relationship = { ...tt, template: relRef, properties: this.assignProperties(this.checker.definitions('relationship', tt.type, 'properties'), field(rt, 'properties'), `relationship "${relRef}"`, this.at(rt)), attributes: {}, interfaces: {} };
        } else {
          const ref = relRef ?? def.relationship;
          const unit = relRef ? this.unit : def.unit;
          const tt = ref ? this.typeChain('relationship', ref, relRef ? this.at(relNode) : def.loc, unit) : { type: 'tosca:DependsOn', types: ['tosca:DependsOn', 'tosca:Root'] };
          const assigned = field(relNode, 'properties');
          if (tt && assigned === undefined) relationship = this.defaultRelationship(tt, name, loc);
          else if (tt) relationship = { ...tt, properties: this.assignProperties(this.checker.definitions('relationship', tt.type, 'properties'), assigned, `relationship of requirement "${name}"`, loc), attributes: {}, interfaces: {} };
        }
        if (!relationship) continue;
        this.requirementTargets.check({ source: t.name, types, requirement: name, def, target, capRef, relationship, implicit: !relRef && !def.relationship, assigned: relRef !== undefined && relTemplates.has(relRef) ? true : field(relNode, 'properties') !== undefined, at: this.at(field(node, 'node') ?? node ?? pair), loc });
        const targetNode = this.nodes[target];
        const capName = capRef && targetNode?.capabilities[capRef] ? capRef : undefined;
        // plain literals, not a spread: each of 150,000 requirements keeps a compact shape
        const compiled: CompiledRequirement = capName ? { name, target, capability: capName, relationship, source: loc } : { name, target, relationship, source: loc };
        out.push(compiled);
        if (filters.length) {
          const question = { source: t.name, types, requirement: name, def, capRef, relationship, implicit: !relRef && !def.relationship };
          const [nodeType, capType] = [byType, wantCap];
          this.nodeFilters.add({
            source: t.name,
            requirement: compiled,
            explicit: Boolean(nodeRef && raw.has(nodeRef)),
            filters,
            candidates: () => this.candidates(nodeType, capType, raw),
            fits: (candidate) => {
              const a = this.requirementTargets.answer({ ...question, target: candidate });
              return { ok: !a.problem, ...(a.capability ? { capability: a.capability } : {}) };
            },
          });
        }
      }
    }
    // Too few is a warning: a placement policy can stand in for `host`, and TOSCA tools may fill the rest.
    for (const [name, def] of defs) {
      const n = counts.get(name) ?? 0;
      if (def.explicit && n > 0 && n < def.occurrences[0]) this.report('warning', 'W_TOSCA_OCCURRENCES', `node "${t.name}" assigns requirement "${name}" ${n} time${n === 1 ? '' : 's'}; its type asks for at least ${def.occurrences[0]}`, t.loc);
    }
    // An array grown by push keeps room for 16 more; the node keeps this one for its life.
    return out.slice();
  }

  private capabilityNames?: Set<string>;

  /** Whether any node type in play declares a capability by this name (so `capability:` is a name, not a type). */
  private nodesHaveCapabilityName(name: string): boolean {
    if (!this.capabilityNames) {
      this.capabilityNames = new Set();
      for (const def of this.loader.types.values()) {
        if (def.family !== 'node') continue;
        for (const [cap] of entries(field(def.node, 'capabilities'))) this.capabilityNames.add(cap);
      }
    }
    return this.capabilityNames.has(name);
  }

  private readonly targetCache = new Map<string, string[]>();

  /** By node type and/or capability type: the first template in declaration order, other than the source. */
  private findTarget(self: string, nodeType: string | undefined, capType: string | undefined, raw: Map<string, RawTemplate>): string | undefined {
    if (!nodeType && !capType) return undefined;
    // The first two matches in declaration order answer every source (one of them is not itself).
    const key = `${nodeType ?? ''}\0${capType ?? ''}`;
    let found = this.targetCache.get(key);
    if (!found) {
      found = this.scanTargets(nodeType, capType, raw);
      this.targetCache.set(key, found);
    }
    return found.find((n) => n !== self);
  }

  /** A node template's type chain, compiled yet or not. */
  private templateTypes(raw: Map<string, RawTemplate>, name: string): readonly string[] | undefined {
    const compiled = this.nodes[name];
    if (compiled) return compiled.types;
    const t = raw.get(name);
    const ref = t ? str(this.get(t, 'type')) : undefined;
    const canonical = ref ? this.loader.resolve(this.unit, 'node', ref) : undefined;
    return canonical ? this.loader.chain('node', canonical) : undefined;
  }

  /** Every node template of a node type and/or with a capability of a type, in declaration order (for node filters). */
  private candidates(nodeType: string | undefined, capType: string | undefined, raw: Map<string, RawTemplate>): string[] {
    return this.scanTargets(nodeType, capType, raw, Infinity);
  }

  private scanTargets(nodeType: string | undefined, capType: string | undefined, raw: Map<string, RawTemplate>, limit = 2): string[] {
    const out: string[] = [];
    for (const name of raw.keys()) {
      if (out.length >= limit) break;
      const tref = str(this.get(raw.get(name)!, 'type'));
      const canonical = tref ? this.loader.resolve(this.unit, 'node', tref) : undefined;
      if (!canonical) continue;
      const chain = this.loader.chain('node', canonical);
      if (nodeType && !chain.includes(nodeType)) continue;
      if (capType) {
        const caps = this.mergedDefs(chain, 'capabilities');
        const has = [...caps.values()].some(({ node, unit }) => {
          const r = str(node) ?? str(field(node, 'type'));
          const c = r ? this.loader.resolve(unit, 'capability', r) : undefined;
          return c ? this.loader.chain('capability', c).includes(capType) : false;
        });
        if (!has) continue;
      }
      out.push(name);
    }
    return out;
  }

  /** Interfaces of a node type when the template assigns none: the same for each such node, shared frozen. */
  private readonly interfaceDefaults = new Map<string, Record<string, CompiledInterface>>();

  private compileInterfaces(types: string[], assigned: YamlNode | null | undefined, t: RawTemplate): Record<string, CompiledInterface> {
    if (assigned !== undefined && assigned !== null) return this.makeInterfaces(types, assigned, t);
    return sharedPerType(this.interfaceDefaults, types[0] ?? '', () => this.makeInterfaces(types, assigned, t));
  }

  private makeInterfaces(types: string[], assigned: YamlNode | null | undefined, t: RawTemplate): Record<string, CompiledInterface> {
    const out: Record<string, CompiledInterface> = {};
    const defs = this.mergedDefs(types, 'interfaces');
    const given = new Map(entries(assigned).map(([k, v, p]) => [k, { v, p }]));
    for (const name of new Set([...defs.keys(), ...given.keys()])) {
      const def = defs.get(name);
      const a = given.get(name);
      if (!def && a) this.report('warning', 'W_TOSCA_UNKNOWN_INTERFACE', `node "${t.name}" assigns interface "${name}", which its type does not declare`, this.at(a.p));
      const typeRef = str(field(def?.node, 'type')) ?? str(field(a?.v, 'type'));
      const tt = typeRef ? (this.loader.resolve(def?.unit ?? this.unit, 'interface', typeRef) ?? typeRef) : name;
      const operations: Record<string, CompiledOperation> = {};
      const collect = (node: YamlNode | null | undefined, unit: Unit) => {
        const opsNode = field(node, 'operations');
        const list = opsNode !== undefined ? entries(opsNode) : entries(node).filter(([k]) => !['type', 'inputs', 'description', 'notifications', 'derived_from'].includes(k));
        for (const [op, v] of list) {
          const impl = field(v, 'implementation');
          const primary = str(v) ?? str(impl) ?? str(field(impl, 'primary')) ?? str(field(field(impl, 'primary'), 'file'));
          const prev = operations[op];
          const deps = seqItems(field(impl, 'dependencies')).map((d) => str(d) ?? str(field(d, 'file'))).filter((d): d is string => !!d);
          const timeout = toJS(unit.src, field(impl, 'timeout'));
          operations[op] = {
            ...(primary ? { implementation: /^[a-z]+:\/\//i.test(primary) ? primary : joinPath(unit.dir, primary) } : prev?.implementation ? { implementation: prev.implementation } : {}),
            dependencies: deps.length ? deps.map((d) => joinPath(unit.dir, d)) : (prev?.dependencies ?? []),
            ...(typeof timeout === 'number' ? { timeout } : prev?.timeout !== undefined ? { timeout: prev.timeout } : {}),
            inputs: { ...(prev?.inputs ?? {}), ...Object.fromEntries(entries(field(v, 'inputs')).map(([k, x]) => [k, str(field(x, 'type')) && field(x, 'default') !== undefined ? this.value(field(x, 'default'), unit) : str(field(x, 'type')) ? null : this.value(x, unit)])) },
            outputs: { ...(prev?.outputs ?? {}), ...Object.fromEntries(entries(field(v, 'outputs')).map(([k, x]) => [k, (toJS(unit.src, x) as string[]) ?? []])) },
            ...(str(field(v, 'description')) ? { description: str(field(v, 'description'))! } : {}),
          };
        }
      };
      if (def) collect(def.node, def.unit);
      if (a) collect(a.v, this.unit);
      out[name] = { type: tt, types: this.loader.def('interface', tt) ? this.loader.chain('interface', tt) : [tt], inputs: Object.fromEntries(entries(field(a?.v, 'inputs')).map(([k, x]) => [k, this.value(x)])), operations };
    }
    return out;
  }

  private readonly artifactDefaults = new Map<string, Record<string, CompiledArtifact>>();

  /** Artifacts of a node type when the template assigns none: shared frozen, as interfaces are. */
  private compileArtifacts(types: string[], assigned: YamlNode | null | undefined): Record<string, CompiledArtifact> {
    if (assigned !== undefined && assigned !== null) return this.makeArtifacts(types, assigned);
    return sharedPerType(this.artifactDefaults, types[0] ?? '', () => this.makeArtifacts(types, assigned));
  }

  private makeArtifacts(types: string[], assigned: YamlNode | null | undefined): Record<string, CompiledArtifact> {
    const out: Record<string, CompiledArtifact> = {};
    const all = new Map<string, { node: YamlNode | null; unit: Unit }>([...this.mergedDefs(types, 'artifacts')]);
    for (const [k, v] of entries(assigned)) all.set(k, { node: v, unit: this.unit });
    for (const [name, { node, unit }] of all) {
      const file = str(node) ?? str(field(node, 'file'));
      if (!file) continue;
      const typeRef = str(field(node, 'type'));
      const canonical = typeRef ? this.loader.resolve(unit, 'artifact', typeRef) : undefined;
      if (typeRef && !canonical) this.report('error', 'E_TOSCA_UNKNOWN_TYPE', `unknown artifact type "${typeRef}"`, locate(unit.src, field(node, 'type')));
      out[name] = {
        type: canonical ?? 'tosca:File',
        types: canonical ? this.loader.chain('artifact', canonical) : ['tosca:File'],
        file: /^[a-z]+:\/\//i.test(file) || str(field(node, 'repository')) ? file : joinPath(unit.dir, file),
        ...(str(field(node, 'repository')) ? { repository: str(field(node, 'repository'))! } : {}),
        ...(str(field(node, 'deploy_path')) ? { deployPath: str(field(node, 'deploy_path'))! } : {}),
        properties: Object.fromEntries(entries(field(node, 'properties')).map(([k, x]) => [k, this.value(x, unit)])),
      };
    }
    return out;
  }

  private compileGroups(tpl: YamlNode): Record<string, CompiledGroup> {
    const out: Record<string, CompiledGroup> = {};
    for (const [name, node, pair] of entries(field(tpl, 'groups'))) {
      const tt = this.typeChain('group', str(field(node, 'type')), this.at(field(node, 'type') ?? pair));
      if (!tt) continue;
      const members = seqItems(field(node, 'members')).map((m) => str(m) ?? '').filter(Boolean);
      for (const m of members) if (!this.nodes[m]) this.report('error', 'E_TOSCA_UNKNOWN_TEMPLATE', `group "${name}" names "${m}", which is not a node template`, this.at(pair), didYouMean(m, this.templateNames));
      out[name] = { name, ...tt, members, properties: this.assignProperties(this.checker.definitions('group', tt.type, 'properties'), field(node, 'properties'), `group "${name}"`, this.at(pair)), source: this.at(pair) };
    }
    return out;
  }

  private compilePolicies(tpl: YamlNode): CompiledPolicy[] {
    const p = field(tpl, 'policies');
    const list: Array<[string, YamlNode | null, unknown]> = seqItems(p).length ? seqItems(p).flatMap((i) => entries(i)) : entries(p);
    const out: CompiledPolicy[] = [];
    for (const [name, node, pair] of list) {
      const loc = this.at(pair as YamlNode);
      const tt = this.typeChain('policy', str(field(node, 'type')), this.at(field(node, 'type') ?? (pair as YamlNode)));
      if (!tt) continue;
      const targets = seqItems(field(node, 'targets')).map((m) => str(m) ?? '').filter(Boolean);
      out.push({ name, ...tt, targets, properties: this.assignProperties(this.checker.definitions('policy', tt.type, 'properties'), field(node, 'properties'), `policy "${name}"`, loc), source: loc });
    }
    return out;
  }

  private compileOutputs(tpl: YamlNode): Record<string, Value> {
    const out: Record<string, Value> = {};
    for (const [name, node] of entries(field(tpl, 'outputs'))) {
      const typeRef = str(field(node, 'type'));
      if (typeRef && !PRIMITIVES.has(typeRef) && !this.loader.resolve(this.unit, 'data', typeRef)) {
        this.report('error', 'E_TOSCA_UNKNOWN_TYPE', `output "${name}" has an unknown data type "${typeRef}"`, this.at(field(node, 'type')), didYouMean(typeRef, [...PRIMITIVES, ...this.loader.typeNames(this.unit, 'data')]));
      }
      const v = field(node, 'value');
      out[name] = this.functions.evaluate(this.value(v !== undefined ? v : node), {}, this.at(node));
    }
    return out;
  }
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
    return out;
  }
  return over === undefined ? base : over;
}

const EMPTY_MAP: Readonly<Record<string, never>> = Object.freeze({});
const EMPTY_LIST: readonly never[] = Object.freeze([]);

function isEmptyRecord(r: object): boolean {
  for (const _ in r) return false;
  return true;
}

/**
 * What is the same for every template of a type (defaults nothing overrides): made once and shared,
 * frozen. A value holding a call (`$get_property: [SELF, ..]`) is evaluated per node: not shared.
 */
function sharedPerType<T extends object>(cache: Map<string, T>, key: string, make: () => T): T {
  const known = cache.get(key);
  if (known) return known;
  const made = make();
  if (containsCall(made as unknown as Value)) return made;
  cache.set(key, deepFreeze(made));
  return made;
}

/**
 * Frozen all the way down: what several templates share can never be changed through one of them
 * (a change would throw, not leak into every other node).
 */
function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

/** A copy of plain data, so templates never share a mutable value. */
function copyValue(v: Value): Value {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copyValue);
  const out: Record<string, Value> = {};
  for (const k of Object.keys(v)) out[k] = copyValue((v as Record<string, Value>)[k]!);
  return keepCallSite(v, out as Value);
}

export type { TypeSpec };
