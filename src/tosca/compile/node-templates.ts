/** One node template compiled: its type, properties, attributes, capabilities, interfaces, artifacts, then requirements. */
import type { CompiledNode, CompiledRequirement, Value } from '../model.js';
import type { GrammarChecker } from '../grammar/index.js';
import { field, pairOf, seqItems, str } from '../yaml-source.js';
import type { CompileContext } from './context.js';
import type { RawTemplate } from './templates.js';
import { ArtifactCompiler } from './artifacts.js';
import { CapabilityCompiler } from './capabilities.js';
import { InterfaceCompiler } from './interfaces.js';
import type { RequirementCompiler } from './requirements.js';
import { EMPTY_LIST, EMPTY_MAP, isEmptyRecord } from './shared.js';

export class NodeCompiler {
  private readonly capabilities: CapabilityCompiler;
  private readonly interfaces: InterfaceCompiler;
  private readonly artifacts: ArtifactCompiler;

  constructor(
    private readonly ctx: CompileContext,
    private readonly requirements: RequirementCompiler,
    private readonly grammar: GrammarChecker | undefined,
  ) {
    this.capabilities = new CapabilityCompiler(ctx);
    this.interfaces = new InterfaceCompiler(ctx);
    this.artifacts = new ArtifactCompiler(ctx);
  }

  compile(t: RawTemplate): void {
    const ctx = this.ctx;
    if (this.grammar && !this.grammar.checkEntity(t.own, 'nodeTemplate', `node template "${t.name}"`, t.loc)) return;
    const typeNode = field(t.node, 'type');
    const ref = str(typeNode);
    if (!ref) {
      ctx.report('error', 'E_TOSCA_MISSING_TYPE', `node template "${t.name}" has no type`, t.loc);
      return;
    }
    const tr = ctx.typeChain('node', ref, ctx.at(typeNode));
    if (!tr) return;
    const whose = `node "${t.name}" (${ref})`;
    const propsNode = field(t.node, 'properties');
    const properties = ctx.assignProperties(ctx.checker.definitions('node', tr.type, 'properties'), propsNode, whose, propsNode ? ctx.at(pairOf(t.node, 'properties') ?? propsNode) : t.loc);
    const attributes = ctx.assignProperties(ctx.checker.definitions('node', tr.type, 'attributes'), field(t.node, 'attributes'), whose, t.loc, ctx.unit, true);
    const capabilities = this.capabilities.compile(t.name, tr, field(t.node, 'capabilities'), t.loc, whose);

    const description = str(field(t.node, 'description'));
    const metadata = field(t.node, 'metadata');
    const directives = field(t.node, 'directives');
    // Empty parts are one shared frozen value: 100,000 nodes need not carry 100,000 empty objects.
    const parts = {
      metadata: metadata === undefined || metadata === null ? (EMPTY_MAP as Record<string, string>) : ctx.stringMap(metadata),
      directives: directives === undefined || directives === null ? (EMPTY_LIST as unknown as string[]) : seqItems(directives).map((d) => str(d) ?? '').filter(Boolean),
      attributes: isEmptyRecord(attributes) ? (EMPTY_MAP as Record<string, Value>) : attributes,
      interfaces: this.interfaces.compile(tr.types, field(t.node, 'interfaces'), t.name),
      artifacts: this.artifacts.compile(tr.types, field(t.node, 'artifacts')),
    };
    // Two plain literals rather than a spread for the optional description: a compact object each.
    const compiled: CompiledNode = description
      ? { name: t.name, type: tr.type, types: tr.types, description, metadata: parts.metadata, directives: parts.directives, properties, attributes: parts.attributes, capabilities, requirements: EMPTY_LIST as unknown as CompiledRequirement[], interfaces: parts.interfaces, artifacts: parts.artifacts, source: t.loc }
      : { name: t.name, type: tr.type, types: tr.types, metadata: parts.metadata, directives: parts.directives, properties, attributes: parts.attributes, capabilities, requirements: EMPTY_LIST as unknown as CompiledRequirement[], interfaces: parts.interfaces, artifacts: parts.artifacts, source: t.loc };
    if (field(t.node, 'node_filter')) ctx.report('warning', 'W_TOSCA_NODE_FILTER', `node filters are kept but not acted on (node "${t.name}")`, ctx.at(pairOf(t.node, 'node_filter')));
    ctx.nodes[t.name] = compiled;
    ctx.nodeList.push(compiled);
    compiled.requirements = this.requirements.compile(t, tr.types);
  }
}
