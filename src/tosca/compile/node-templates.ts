/** One node template compiled: its type, properties, attributes, capabilities, interfaces, artifacts, then requirements. */
import type { CompiledNode, CompiledRequirement, Value } from '../model.js';
import type { GrammarChecker } from '../grammar/index.js';
import type { NodeTemplateEntry, Offset } from '../document/records.js';
import { NodeTemplateReader } from '../document/read-node-template.js';
import type { CompileContext, TypeChain } from './context.js';
import { Label, type PropertyDef } from '../values.js';
import { ArtifactCompiler } from './artifacts.js';
import { CapabilityCompiler } from './capabilities.js';
import { InterfaceCompiler } from './interfaces.js';
import type { RequirementCompiler } from './requirements.js';
import { EMPTY_LIST, EMPTY_MAP, isEmptyRecord } from './shared.js';
import { RESERVED_NAME, unsafe } from '../safe-name.js';

export class NodeCompiler {
  private readonly capabilities: CapabilityCompiler;
  private readonly interfaces: InterfaceCompiler;
  private readonly artifacts: ArtifactCompiler;
  private readonly reader: NodeTemplateReader;
  /** Where each template that writes `directives` writes them (substitution's problems point there). */
  readonly directivesAt = new Map<string, Offset>();
  /** Per type name as templates write it, once resolved: its chain and definitions (no lookups per node). */
  private readonly byRef = new Map<string, NodeTypeInfo>();
  /** `node "name" (type)`, as messages about the template being compiled name it: set for each template. */
  private readonly whose = new Label((name, type) => `node "${name}" (${type})`);

  constructor(
    private readonly ctx: CompileContext,
    private readonly requirements: RequirementCompiler,
    grammar: GrammarChecker | undefined,
  ) {
    this.reader = new NodeTemplateReader(ctx.unit, grammar);
    this.capabilities = new CapabilityCompiler(ctx);
    this.interfaces = new InterfaceCompiler(ctx);
    this.artifacts = new ArtifactCompiler(ctx);
  }

  /** A type name resolved, or reported (at every template that names it) when unknown. */
  private typeOf(ref: string, at: Offset): NodeTypeInfo | undefined {
    const tr = this.ctx.typeChain('node', ref, at);
    if (!tr) return undefined;
    const info: NodeTypeInfo = { tr, properties: this.ctx.checker.definitions('node', tr.type, 'properties') };
    this.byRef.set(ref, info);
    return info;
  }

  compile(entry: NodeTemplateEntry): void {
    const ctx = this.ctx;
    const loc = ctx.loc(entry.at);
    if (entry.name === RESERVED_NAME) {
      // Not compiled: stored under this name, it would become the prototype of the nodes' record.
      const d = unsafe('node template', entry.name, loc);
      ctx.report('error', d.code, d.message, loc, d.hint);
      return;
    }
    // Read in the same pass as the grammar checks it; nothing more when it is not even a map.
    const t = this.reader.read(entry, loc);
    if (!t) return;
    if (t.directivesAt !== undefined) this.directivesAt.set(t.name, t.directivesAt);
    const ref = t.type;
    if (!ref) {
      // A body the YAML library refused reads as empty: its YAML error is the problem, not a type.
      if (lateErrorFrom(ctx, loc.line)) return;
      ctx.report('error', 'E_TOSCA_MISSING_TYPE', `node template "${t.name}" has no type`, loc);
      return;
    }
    const info = this.byRef.get(ref) ?? this.typeOf(ref, t.typeAt);
    if (!info) return;
    const tr = info.tr;
    const whose = this.whose.set(t.name, ref);
    const properties = ctx.assigned(info.properties, t.properties?.list, whose, t.properties ? t.properties.at : loc);
    const attributes = ctx.assigned((info.attributes ??= ctx.checker.definitions('node', tr.type, 'attributes')), t.attributes, whose, loc, ctx.unit, true);
    const capabilities = this.capabilities.compile(t.name, tr, t.capabilities, loc, whose);
    // Empty parts are one shared frozen value: 100,000 nodes need not carry 100,000 empty objects.
    const metadata = t.metadata ?? (EMPTY_MAP as Record<string, string>);
    const directives = t.directives ?? (EMPTY_LIST as unknown as string[]);
    const someAttributes = attributes === undefined || isEmptyRecord(attributes) ? (EMPTY_MAP as Record<string, Value>) : attributes;
    // Evaluation writes only a value holding a call, so an empty record is never written to.
    const someProperties = properties === undefined || isEmptyRecord(properties) ? (EMPTY_MAP as Record<string, Value>) : properties;
    const interfaces = this.interfaces.compile(tr.types, t.interfaces, t.name);
    const artifacts = this.artifacts.compile(tr.types, t.artifacts);
    const requirements = EMPTY_LIST as unknown as CompiledRequirement[];
    const description = t.description;
    // Two plain literals rather than a spread for the optional description: a compact object each.
    const compiled: CompiledNode = description
      ? { name: t.name, type: tr.type, types: tr.types, description, metadata, directives, properties: someProperties, attributes: someAttributes, capabilities, requirements, interfaces, artifacts, source: loc }
      : { name: t.name, type: tr.type, types: tr.types, metadata, directives, properties: someProperties, attributes: someAttributes, capabilities, requirements, interfaces, artifacts, source: loc };
    if (t.nodeFilterAt !== undefined) ctx.report('warning', 'W_TOSCA_NODE_FILTER', `node filters are kept but not acted on (node "${t.name}")`, ctx.loc(t.nodeFilterAt));
    ctx.nodes[t.name] = compiled;
    ctx.nodeList.push(compiled);
    compiled.requirements = this.requirements.compile(t, loc, tr.types);
  }
}

interface NodeTypeInfo {
  tr: TypeChain;
  properties: Map<string, PropertyDef>;
  attributes?: Map<string, PropertyDef>;
}

/** Whether a YAML error was found late (in a body read on demand) at or after `line`. Its own function: a closure in `compile` would allocate a context per node. */
function lateErrorFrom(ctx: CompileContext, line: number): boolean {
  return ctx.unit.src.late?.some((d) => d.severity === 'error' && d.line >= line) ?? false;
}
