/**
 * From a service template to a `CompiledService`: types resolved, values coerced and validated,
 * requirements resolved to targets, functions evaluated (or kept when they need discovered state).
 * Every problem is a diagnostic; nothing here throws on a user's input.
 */
import type { Diagnostic } from './diagnostic.js';
import type { CompileResult, CompiledNode, CompiledService, SourceReader, Value } from './model.js';
import { Loader, ParseCache, unreadable, type Unit } from './loader.js';
import { ValueChecker, type TypeSpec } from './values.js';
import { releaseNode } from './yaml-fast.js';
import { checkGrammar } from './grammar/check-units.js';
import { unsafeNameDiagnostics } from './safe-name.js';
import { FunctionEvaluator } from './functions/evaluate.js';
import { interfaceTypeOperations } from './functions/operations.js';
import { checkTriggerValues, checkWorkflowValues } from './functions/workflow-values.js';
import type { UntypedProblem } from './functions/untyped-values.js';
import { field } from './yaml-source.js';
import { RequirementChecks } from './requirements/check.js';
import { NodeFilters } from './requirements/filters.js';
import { CompileContext } from './compile/context.js';
import { compileInputs } from './compile/inputs.js';
import { checkClauseOperands } from './compile/clause-operands.js';
import { applyCopies } from './compile/templates.js';
import { RequirementCompiler } from './compile/requirements.js';
import { NodeCompiler } from './compile/node-templates.js';
import { compileOutputs } from './compile/outputs.js';
import { compileGroups, compilePolicies } from './compile/groups.js';
import { compileSubstitution } from './compile/substitution.js';
import { checkWorkflows } from './compile/workflows.js';
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
    const compiler = new ServiceCompiler(entryPath, reader, options, { stack: [entryPath], budget: { left: SUBSTITUTIONS_MAX, nodes: SUBSTITUTED_NODES_MAX } });
    const result = await compiler.run();
    result.diagnostics.push(...unsafeNameDiagnostics(entryPath, result, compiler.compiledNodes));
    return result;
  } catch (err) {
    // A file the reader could not read is the input's problem, not a bug (exit 1, not 70).
    if (unreadable(err)) return { typesOnly: false, diagnostics: [{ severity: 'error', code: 'E_TOSCA_READ', message: err.message, file: entryPath, line: 1, column: 1 }] };
    // A bug of ours must still come out as a diagnostic, never as a stack trace to the user.
    return {
      typesOnly: false,
      diagnostics: [{ severity: 'error', code: 'E_TOSCA_INTERNAL', message: `internal compiler error: ${(err as Error).message}`, file: entryPath, line: 1, column: 1, hint: 'this is a Kaidu bug; please report it with the template' }],
    };
  }
}

/** A compile inside another: a service substituting a node, read with the outer compile's loader. */
interface Nesting {
  stack: readonly string[];
  budget: SubstitutionBudget;
  /** Set for a substituting service: the outer loader, its file, and its inputs from the node's properties. */
  inner?: { loader: Loader; unit: Unit; inputs: Record<string, Value>; wired: readonly WiredRequirement[] };
}

class ServiceCompiler {
  private readonly diagnostics: Diagnostic[] = [];
  /** The service's nodes in the order they were compiled, when no substitution replaced any. */
  compiledNodes: readonly CompiledNode[] | undefined;

  constructor(
    private readonly entryPath: string,
    private readonly reader: SourceReader,
    private readonly options: CompileOptions,
    private readonly nesting: Nesting,
  ) {}

  async run(): Promise<CompileResult> {
    const inner = this.nesting.inner;
    let loader: Loader;
    let unit: Unit | undefined;
    if (inner) {
      loader = inner.loader;
      unit = inner.unit;
    } else {
      const cache = this.options.cache ?? new ParseCache();
      loader = new Loader(this.reader, this.options.profiles, cache);
      await loader.init();
      await loader.implicitScopes();
      unit = await loader.load({ reader: 'repo', path: this.entryPath }, '', undefined, true);
    }
    const diagnostics = this.diagnostics;
    const finish = (r: Omit<CompileResult, 'diagnostics'>): CompileResult => {
      // The loader's problems are the outermost compile's to report.
      const own = inner ? [] : [...loader.diagnostics, ...loader.lateDiagnostics()].filter((d) => !d.file.startsWith('profiles/') || d.severity === 'error');
      const all = [...own, ...diagnostics];
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
      diagnostics.push({ severity: 'error', code: 'E_TOSCA_NOT_FOUND', message: `no such file: ${this.entryPath}`, file: this.entryPath, line: 1, column: 1 });
      return finish({ typesOnly: false });
    }
    const ctx = new CompileContext(loader, new ValueChecker(loader), unit, this.entryPath, diagnostics);
    // Every declared type must have a valid chain, used or not.
    for (const t of [...loader.types.values()]) loader.chain(t.family, t.canonical);
    // The outer compile has checked the definitions an inner (substituting) one shares.
    if (!inner) checkClauseOperands(ctx);
    const root = unit.src.root;
    if (!root) return finish({ typesOnly: false });
    let grammar: GrammarChecker | undefined;
    if (!inner) grammar = checkGrammar(loader, unit, (d) => diagnostics.push(d));
    else {
      // Its file was checked by the outer compile; its node templates are checked as they are read.
      const g = grammarFor(unit.versionText);
      if (g) {
        grammar = new GrammarChecker(g, unit.src, (code, message, at, hint) => diagnostics.push({ severity: 'error', code, message, file: at.file, line: at.line, column: at.column, ...(hint ? { hint } : {}) }));
        grammar.functions = unit.functions;
      }
    }
    const model = unit.record.service;
    if (!model) return finish({ typesOnly: true });

    compileInputs(ctx, model, this.options.inputs ?? {}, inner?.inputs);
    const templates = applyCopies(ctx, model.nodeTemplates, model.nodeTemplateNamesDistinct);
    ctx.templateNames = templates.list.map((t) => t.name);
    const requirements = new RequirementCompiler(ctx, templates, model.relationshipTemplates);
    const c = ctx;
    requirements.filters = new NodeFilters({
      nodes: c.nodes,
      capabilitiesNamed: (node, nameOrType) => {
        if (node.capabilities[nameOrType]) return [nameOrType];
        const type = loader.resolve(unit, 'capability', nameOrType);
        return type ? Object.keys(node.capabilities).filter((k) => node.capabilities[k]!.types.includes(type)) : [];
      },
      report: (severity, code, message, at, hint) => c.report(severity, code, message, at, hint),
    });
    requirements.targets = new RequirementChecks({
      loader,
      unit,
      capabilitiesOf: (types) => c.mergedDefs(types, 'capabilities'),
      templateTypes: (name) => requirements.templateTypes(name),
      relationshipProperties: (type) => c.checker.definitions('relationship', type, 'properties'),
      report: (code, message, at, hint) => c.report('error', code, message, at, hint),
    });
    const nodes = new NodeCompiler(ctx, requirements, grammar);
    for (const t of templates.list) {
      nodes.compile(t);
      releaseNode(t.node); // its YAML is not needed any more (read again if it is)
    }
    // The substituted node's requirements fill the inner ones they are mapped to, before functions
    // are evaluated (HOST inside is the outer host).
    for (const w of inner?.wired ?? []) {
      const n = c.nodes[w.node];
      if (n) n.requirements = [...n.requirements.filter((r) => r.name !== w.requirement.name), w.requirement];
    }
    const functions = new FunctionEvaluator({
      nodes: c.nodes,
      templateNames: c.templateNames,
      inputs: c.inputs,
      declared: unit.functions,
      dollar: unit.version === 2,
      version: unit.versionText,
      definitions: (family, type, key) => c.checker.definitions(family, type, key),
      operations: (types) => interfaceTypeOperations(loader, types),
      report: (code, message, at, hint, severity = 'error') => c.report(severity, code, message, at, hint),
    });
    for (const n of ctx.nodeList) functions.evaluateNode(n);
    requirements.filters.apply();
    if (model.substitution?.mappings) compileSubstitution(ctx, model.substitution.mappings, model, requirements);

    const name = this.entryPath.split('/').pop()!.replace(/\.ya?ml$/, '');
    const service: CompiledService = {
      name,
      file: this.entryPath,
      toscaVersion: unit.versionText,
      ...(model.description ? { description: model.description } : {}),
      metadata: model.metadata,
      inputs: ctx.inputs,
      outputs: compileOutputs(ctx, model, functions),
      nodes: ctx.nodes,
      groups: compileGroups(ctx, model),
      policies: compilePolicies(ctx, model),
      workflows: model.workflowsValue,
      ...(model.substitution?.value ? { substitution: model.substitution.value } : {}),
    };
    checkWorkflows(ctx, model, { requirementsOf: (types) => requirements.definitions(types) });
    if (model.workflowsAt !== undefined) ctx.report('warning', 'W_TOSCA_WORKFLOWS', 'workflows are kept in the graph but Kaidu does not run them', ctx.loc(model.workflowsAt));
    const hasTriggers = model.policies.some((p) => p.triggers.length);
    if (model.workflowsAt !== undefined || hasTriggers) {
      // Workflow and trigger values, never evaluated, are still checked for misspelt calls.
      const topology = field(root, 'service_template') ?? field(root, 'topology_template');
      const problem: UntypedProblem = (code, message, at, hint) => ctx.report('error', code, message, at, hint);
      if (model.workflowsAt !== undefined) checkWorkflowValues(field(topology, 'workflows'), unit, problem);
      if (hasTriggers) checkTriggerValues(field(topology, 'policies'), unit, problem);
    }
    // Only a template that writes `directives` can ask for substitution: without one, the 100,000
    // nodes of a big service are not listed again to find none.
    if (nodes.directivesAt.size > 0) await substituteNodes({
      loader,
      service,
      stack: this.nesting.stack,
      budget: this.nesting.budget,
      directivesAt: (name) => {
        const at = nodes.directivesAt.get(name);
        return at !== undefined ? ctx.loc(at) : (ctx.nodes[name]?.source ?? ctx.loc(unit.record.serviceAt ?? 0));
      },
      compile: (cand, inputs, wired, stack) => this.compileSubstitute(loader, cand, inputs, wired, stack),
      report: (message, at, hint) => ctx.report('error', 'E_TOSCA_SUBSTITUTE', message, at, hint),
      warn: (message, at, hint) => ctx.report('warning', 'W_TOSCA_SUBSTITUTED_OPERATIONS', message, at, hint),
    });
    else this.compiledNodes = ctx.nodeList;
    return finish({ service, typesOnly: false });
  }

  /** A service substituting one of this one's nodes: compiled with this loader (one type registry). */
  private async compileSubstitute(loader: Loader, cand: SubstitutionCandidate, inputs: Record<string, Value>, wired: readonly WiredRequirement[], stack: readonly string[]): Promise<CompileResult> {
    const nested = new ServiceCompiler(cand.unit.src.path, this.reader, this.options, { stack, budget: this.nesting.budget, inner: { loader, unit: cand.unit, inputs, wired } });
    const result = await nested.run();
    this.diagnostics.push(...result.diagnostics);
    return result;
  }
}

export type { TypeSpec };
