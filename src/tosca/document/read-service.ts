/**
 * A service template (`service_template`, or 1.x `topology_template`) read into a `ServiceTemplate`
 * as the grammar walks it: the walk hands each of its keys to `ServiceTemplateReader.keyword`.
 * Node template bodies are read one at a time as the compiler reaches them (`readNodeTemplate`),
 * so a large service is never held twice.
 */
import type { Pair, YAMLMap } from 'yaml';
import type { Value } from '../model.js';
import type { Unit } from '../loader.js';
import { entries, field, isMap, isScalar, seqItems, str, toJS, type YamlNode } from '../yaml-source.js';
import type { GroupTemplate, NodeTemplateEntry, OutputDefinition, ParameterDefinition, PolicyTemplate, RelationshipTemplate, ServiceTemplate } from './records.js';
import { offsetOf } from './offsets.js';
import { lightKey, scalarKey } from '../yaml-fast.js';
import { readOptionalAssignments, readValue } from './read-values.js';
import { readPropertyDefinition, readSubstitutionMappings } from './read-definitions.js';
import { emptyWorkflow, readTriggers, WorkflowReader } from './read-workflows.js';

export function emptyServiceTemplate(unit: Unit): ServiceTemplate {
  return { unit, metadata: {}, inputs: [], nodeTemplates: [], relationshipTemplates: new Map(), groups: [], policies: [], outputs: [], workflows: [], workflowsValue: {} };
}

/** One per service template written in a file; a key written twice counts once, the first. */
export class ServiceTemplateReader {
  private readonly seen = new Set<string>();
  readonly rec: ServiceTemplate;
  /** Whether the grammar walk handed over its keys. */
  entered = false;
  readonly visit = (key: string, v: YamlNode | null, pair: Pair): void => this.keyword(key, v, pair);
  /** Workflow definitions (maps) met under `workflows`, waiting for the grammar walk to enter them. */
  private readonly pendingWorkflows = new Map<YamlNode, WorkflowReader>();

  constructor(private readonly unit: Unit) {
    this.rec = emptyServiceTemplate(unit);
  }

  private keyword(key: string, node: YamlNode | null, pair: Pair): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const unit = this.unit;
    const rec = this.rec;
    switch (key) {
      case 'inputs':
        rec.inputs = entries(node).map(([name, def, p]): ParameterDefinition => {
          const definition = readPropertyDefinition(name, def, offsetOf(p), unit);
          return { name, at: offsetOf(p), definition, ...(definition.defaultAt !== undefined ? { defaultAt: definition.defaultAt } : {}), ...(definition.description ? { description: definition.description } : {}) };
        });
        return;
      case 'node_templates':
        readNodeTemplates(rec, node);
        return;
      case 'relationship_templates':
        rec.relationshipTemplates = new Map(entries(node).map(([name, n]): [string, RelationshipTemplate] => {
          const type = str(field(n, 'type'));
          const properties = readOptionalAssignments(n, 'properties', unit);
          return [name, { name, at: offsetOf(n), ...(type !== undefined ? { type } : {}), ...(properties ? { properties } : {}) }];
        }));
        return;
      case 'groups':
        rec.groups = entries(node).map(([name, n, p]): GroupTemplate => ({ ...this.typed(name, n, p), members: names(field(n, 'members')) }));
        return;
      case 'policies':
        rec.policies = policyEntries(node).map(([name, n, p]): PolicyTemplate => ({ ...this.typed(name, n, p), targets: names(field(n, 'targets')), triggers: readTriggers(field(n, 'triggers')) }));
        return;
      case 'outputs':
        rec.outputs = entries(node).map(([name, n]): OutputDefinition => {
          const type = str(field(n, 'type'));
          const v = field(n, 'value');
          const definition = type !== undefined && v !== undefined ? readPropertyDefinition(name, n, offsetOf(n), unit) : undefined;
          return { name, ...(type !== undefined ? { type } : {}), typeAt: offsetOf(field(n, 'type')), ...(definition ? { definition } : {}), value: readValue(v !== undefined ? v : n, unit), valueAt: offsetOf(v ?? n), at: offsetOf(n) };
        });
        return;
      case 'substitution_mappings':
        rec.substitution = { at: offsetOf(pair), ...(node ? { mappings: readSubstitutionMappings(node, unit), value: (toJS(unit.src, node) ?? {}) as Record<string, Value> } : {}) };
        return;
      case 'workflows':
        rec.workflowsValue = (toJS(unit.src, node) ?? {}) as Record<string, Value>;
        rec.workflows = entries(node).map(([name, n, p]) => {
          const wf = emptyWorkflow(name, offsetOf(p));
          // The first definition of a node counts (an alias may name one twice).
          if (isMap(n) && !this.pendingWorkflows.has(n)) this.pendingWorkflows.set(n, new WorkflowReader(wf, unit));
          return wf;
        });
        if (node) rec.workflowsAt = offsetOf(pair);
        return;
    }
  }

  /** The grammar walk entering a workflow definition of this service: the reader of its keys. */
  enterWorkflow(node: YamlNode): ((key: string, v: YamlNode | null) => void) | undefined {
    const reader = this.pendingWorkflows.get(node);
    if (!reader || reader.entered) return undefined;
    reader.entered = true;
    return reader.visit;
  }

  /** Workflows the walk did not enter (a grammar without them, e.g. 1.0): read all the same. */
  finishWorkflows(): void {
    for (const [node, reader] of this.pendingWorkflows) {
      if (!reader.entered) for (const [k, v] of entries(node)) reader.visit(k, v);
    }
    this.pendingWorkflows.clear();
  }

  private typed(name: string, node: YamlNode | null, pair: Pair) {
    const type = str(field(node, 'type'));
    const properties = readOptionalAssignments(node, 'properties', this.unit);
    return { name, at: offsetOf(pair), ...(type !== undefined ? { type } : {}), typeAt: offsetOf(field(node, 'type') ?? pair), ...(properties ? { properties } : {}) };
  }
}

/**
 * Every template of `node_templates`, from the pairs directly (no entry tuple per template), and
 * whether their names are known to differ: the fast reader gives up on a key written twice, so
 * the names of its pairs differ when every key is a string (its `1` and `"1"` differ as keys but
 * are one name).
 */
function readNodeTemplates(rec: ServiceTemplate, node: YamlNode | null): void {
  if (!isMap(node)) {
    rec.nodeTemplates = [];
    return;
  }
  const items = (node as YAMLMap).items as Pair[];
  const out = new Array<NodeTemplateEntry>(items.length);
  let distinct = true;
  for (let i = 0; i < items.length; i++) {
    const p = items[i]!;
    const k = lightKey(p);
    let name: string;
    if (typeof k === 'string') name = k;
    else {
      distinct = false;
      name = scalarKey(p) ?? String(p.key);
    }
    out[i] = nodeTemplateEntry(name, (p.value as YamlNode | null) ?? null, p);
  }
  rec.nodeTemplates = out;
  if (distinct) rec.nodeTemplateNamesDistinct = true;
}

/**
 * A node template as the service's walk meets it: its body is read later (`NodeTemplateReader`),
 * but `copy` is read now, since the templates it names are merged before any body is read.
 */
function nodeTemplateEntry(name: string, n: YamlNode | null, p: Pair): NodeTemplateEntry {
  const entry: NodeTemplateEntry = { name, at: offsetOf(p), own: n, node: n };
  const copy = field(n, 'copy');
  // Only a name: any other value is the grammar's to refuse (`copy` must be a string).
  if (isScalar(copy) && typeof copy.value === 'string' && copy.value) entry.copy = { name: copy.value, at: offsetOf(copy) };
  return entry;
}

/** 2.0 and 1.x write policies as a list of single-key maps; a map is read too. */
function policyEntries(p: YamlNode | null | undefined): Array<[string, YamlNode | null, Pair]> {
  return seqItems(p).length ? seqItems(p).flatMap((i) => entries(i)) : entries(p);
}

function names(node: YamlNode | null | undefined): string[] {
  return seqItems(node).map((m) => str(m) ?? '').filter(Boolean);
}
