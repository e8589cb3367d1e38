/**
 * A service template (`service_template`, or 1.x `topology_template`) read into a `ServiceTemplate`.
 * Its shape was checked by the grammar walk of the file; node template bodies are read one at a
 * time as the compiler reaches them (`readNodeTemplate`), so a large service is never held twice.
 */
import type { Value } from '../model.js';
import type { Unit } from '../loader.js';
import { entries, field, pairOf, seqItems, str, toJS, type YamlNode } from '../yaml-source.js';
import type { GroupTemplate, OutputDefinition, ParameterDefinition, PolicyTemplate, RelationshipTemplate, ServiceTemplate } from './records.js';
import { offsetOf } from './offsets.js';
import { readOptionalAssignments, readStringMap, readValue } from './read-values.js';

export function readServiceTemplate(unit: Unit, root: YamlNode, tpl: YamlNode): ServiceTemplate {
  const description = str(field(root, 'description'));
  const substitution = field(tpl, 'substitution_mappings');
  const workflows = field(tpl, 'workflows');
  return {
    unit,
    ...(description ? { description } : {}),
    metadata: readStringMap(field(root, 'metadata'), unit),
    inputs: entries(field(tpl, 'inputs')).map(([name, node, pair]): ParameterDefinition => {
      const d = field(node, 'default');
      const text = str(field(node, 'description'));
      return { name, at: offsetOf(pair), definition: node, ...(d !== undefined ? { defaultAt: offsetOf(d) } : {}), ...(text ? { description: text } : {}) };
    }),
    nodeTemplates: entries(field(tpl, 'node_templates')).map(([name, node, pair]) => ({ name, at: offsetOf(pair), own: node, node })),
    relationshipTemplates: new Map(entries(field(tpl, 'relationship_templates')).map(([name, node]): [string, RelationshipTemplate] => {
      const type = str(field(node, 'type'));
      const properties = readOptionalAssignments(node, 'properties', unit);
      return [name, { name, at: offsetOf(node), ...(type !== undefined ? { type } : {}), ...(properties ? { properties } : {}) }];
    })),
    groups: entries(field(tpl, 'groups')).map(([name, node, pair]): GroupTemplate => ({
      ...typed(name, node, pair),
      members: names(field(node, 'members')),
    })),
    policies: policyEntries(field(tpl, 'policies')).map(([name, node, pair]): PolicyTemplate => ({
      ...typed(name, node, pair),
      targets: names(field(node, 'targets')),
    })),
    outputs: entries(field(tpl, 'outputs')).map(([name, node]): OutputDefinition => {
      const type = str(field(node, 'type'));
      const v = field(node, 'value');
      return { name, ...(type !== undefined ? { type } : {}), typeAt: offsetOf(field(node, 'type')), value: readValue(v !== undefined ? v : node, unit), at: offsetOf(node) };
    }),
    ...(substitution !== undefined ? { substitution: { node: substitution, at: offsetOf(pairOf(tpl, 'substitution_mappings')), ...(substitution ? { value: (toJS(unit.src, substitution) ?? {}) as Record<string, Value> } : {}) } } : {}),
    workflows: (toJS(unit.src, workflows) ?? {}) as Record<string, Value>,
    workflowNames: entries(workflows).map(([k]) => k),
    ...(workflows ? { workflowsAt: offsetOf(pairOf(tpl, 'workflows')) } : {}),
  };

  function typed(name: string, node: YamlNode | null, pair: unknown) {
    const type = str(field(node, 'type'));
    const properties = readOptionalAssignments(node, 'properties', unit);
    return { name, at: offsetOf(pair as YamlNode), ...(type !== undefined ? { type } : {}), typeAt: offsetOf(field(node, 'type') ?? (pair as YamlNode)), ...(properties ? { properties } : {}) };
  }
}

/** 2.0 and 1.x write policies as a list of single-key maps; a map is read too. */
function policyEntries(p: YamlNode | null | undefined): Array<[string, YamlNode | null, unknown]> {
  return seqItems(p).length ? seqItems(p).flatMap((i) => entries(i)) : entries(p);
}

function names(node: YamlNode | null | undefined): string[] {
  return seqItems(node).map((m) => str(m) ?? '').filter(Boolean);
}
