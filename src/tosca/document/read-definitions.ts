/**
 * Definitions inside type definitions (and a service's inputs), as records: property, attribute,
 * parameter, schema, capability and requirement definitions, imports and repositories. What a type
 * declares itself, not yet merged along its chain.
 */
import type { Unit } from '../loader.js';
import { entries, field, isMap, seqItems, str, toJS, type YamlNode } from '../yaml-source.js';
import type { CapabilityDefinitionRecord, ImportRecord, MappingEntry, NodeFilterRecord, Offset, PropertyDefinitionRecord, RepositoryRecord, SchemaRecord, SubstitutionMappings } from './records.js';
import { offsetOf, preorderOffsets } from './offsets.js';
import { readValue, readValues } from './read-values.js';
import type { Keyword } from './read-interfaces.js';

export interface RequirementDefinition {
  name: string;
  /** The definition's value. */
  at: Offset;
  /** The `name:` pair. */
  pairAt: Offset;
  map: boolean;
  /** A capability type or (with `node`) a capability name. */
  capability?: string;
  node?: string;
  relationship?: string;
  /** `occurrences` (2.0 `count_range`) as written: [min, max] when well formed. */
  occurrences?: unknown;
  nodeFilter?: NodeFilterRecord;
  unit: Unit;
}

/** A requirement definition's keywords into its record (made with name, at, pairAt and map); `node` is its value. */
export function requirementDefinitionInto(out: RequirementDefinition, node: YamlNode | null, keyword: Keyword, unit: Unit): void {
  const capability = str(node) ?? str(keyword('capability'));
  const target = str(keyword('node'));
  const relationship = str(keyword('relationship')) ?? str(field(keyword('relationship'), 'type'));
  const occurrences = keyword('occurrences') ?? keyword('count_range');
  const filter = keyword('node_filter');
  // Set in this order whichever way it is read: one shape for every record.
  if (capability !== undefined) out.capability = capability;
  if (target !== undefined) out.node = target;
  if (relationship !== undefined) out.relationship = relationship;
  if (occurrences !== undefined) out.occurrences = toJS(unit.src, occurrences);
  if (filter !== undefined) out.nodeFilter = { filter: toJS(unit.src, filter), at: offsetOf(filter) };
  out.unit = unit;
}

/** A schema (or the type part of a property definition); keywords present when written. */
function schemaInto(out: SchemaRecord, node: YamlNode | null | undefined, keyword: Keyword, unit: Unit): void {
  const simple = str(node);
  if (simple !== undefined) {
    // A bare type name; an empty one names nothing (and a scalar has no keywords).
    if (simple) {
      out.type = simple;
      out.short = true;
    }
    return;
  }
  const type = str(keyword('type'));
  if (type !== undefined) out.type = type;
  const entry = keyword('entry_schema');
  if (entry !== undefined) out.entry = readSchema(entry, unit);
  const key = keyword('key_schema');
  if (key !== undefined) out.key = readSchema(key, unit);
  const validation = keyword('validation');
  if (validation !== undefined) {
    out.validation = toJS(unit.src, validation);
    out.validationAt = preorderOffsets(validation);
  }
  const constraints = keyword('constraints');
  if (constraints !== undefined) {
    out.constraints = toJS(unit.src, constraints);
    out.constraintsAt = preorderOffsets(constraints);
  }
}

export function readSchema(node: YamlNode | null | undefined, unit: Unit): SchemaRecord {
  const out: SchemaRecord = {};
  schemaInto(out, node, (k) => field(node, k), unit);
  return out;
}

export function readPropertyDefinition(name: string, node: YamlNode | null, at: Offset, unit: Unit): PropertyDefinitionRecord {
  const out: PropertyDefinitionRecord = { name, at, map: isMap(node) };
  propertyDefinitionInto(out, node, (k) => field(node, k), unit);
  return out;
}

/** The keywords of a property, attribute, parameter or input definition into its record (made with name, at and map). */
export function propertyDefinitionInto(out: PropertyDefinitionRecord, node: YamlNode | null, keyword: Keyword, unit: Unit): void {
  schemaInto(out, node, keyword, unit);
  const req = keyword('required');
  if (req !== undefined) out.required = toJS(unit.src, req) !== false;
  const def = keyword('default');
  if (def !== undefined) {
    out.default = readValue(def, unit);
    out.defaultAt = offsetOf(def);
  }
  const val = keyword('value');
  if (val !== undefined) out.value = readValue(val, unit);
  const description = str(keyword('description'));
  if (description) out.description = description;
}

/** A capability definition's keywords into its record (made with name, at, pairAt and map); `def` is its value. */
export function capabilityDefinitionInto(out: CapabilityDefinitionRecord, def: YamlNode | null, keyword: Keyword, unit: Unit): void {
  const type = str(def) ?? str(keyword('type'));
  if (type !== undefined) out.type = type;
  out.properties = readValues(keyword('properties'), unit);
  out.validSourceTypes = names(keyword('valid_source_types') ?? keyword('valid_source_node_types'));
}

/** The strings of a list (what is not a string is left out). */
export function names(node: YamlNode | null | undefined): string[] {
  return seqItems(node)
    .map((s) => str(s))
    .filter((s): s is string => !!s);
}

/** Keywords of an import: a 1.0–1.2 named import (`- name: file`) is a single key that is none of them. */
const IMPORT_KEYWORDS = new Set(['file', 'url', 'profile', 'repository', 'namespace', 'namespace_prefix', 'namespace_uri', 'description', 'metadata']);

export function readImport(item: YamlNode, versionText: string): ImportRecord {
  // 1.0–1.2 name an import: `- name: file` or `- name: { file: ... }`; the name itself is not used.
  if (/^tosca_simple_yaml_1_[012]$/.test(versionText)) {
    const named = entries(item);
    if (named.length === 1 && !IMPORT_KEYWORDS.has(named[0]![0]) && named[0]![1]) item = named[0]![1];
  }
  const file = str(item) ?? str(field(item, 'file')) ?? str(field(item, 'url'));
  const profile = str(field(item, 'profile'));
  const namespace = str(field(item, 'namespace')) ?? str(field(item, 'namespace_prefix'));
  return { at: offsetOf(item), ...(file !== undefined ? { file } : {}), ...(profile !== undefined ? { profile } : {}), ...(namespace !== undefined ? { namespace } : {}) };
}

export function readRepositories(node: YamlNode | null | undefined): RepositoryRecord[] {
  return entries(node).map(([name, def, pair]) => {
    const url = str(def) ?? str(field(def, 'url'));
    return { name, at: offsetOf(pair), ...(url !== undefined ? { url } : {}) };
  });
}

function mappingEntries(node: YamlNode | null | undefined): MappingEntry[] {
  return entries(node).map(([name, v, pair]): MappingEntry => {
    const single = str(v);
    return {
      name,
      at: offsetOf(pair),
      valueAt: offsetOf(v),
      ...(single !== undefined ? { single } : {}),
      items: seqItems(v).map((i) => str(i)),
      entries: entries(v).map(([, x, p]): [string | undefined, Offset] => [str(x), offsetOf(p)]),
    };
  });
}

/** `substitution_mappings` (when not empty). */
export function readSubstitutionMappings(node: YamlNode, unit: Unit): SubstitutionMappings {
  const typeNode = field(node, 'node_type');
  const nodeType = str(typeNode);
  const filter = field(node, 'substitution_filter');
  return {
    at: offsetOf(node),
    ...(nodeType !== undefined ? { nodeType } : {}),
    nodeTypeAt: offsetOf(typeNode ?? node),
    ...(filter !== undefined ? { filter: { value: toJS(unit.src, filter) } } : {}),
    properties: mappingEntries(field(node, 'properties')),
    attributes: mappingEntries(field(node, 'attributes')),
    capabilities: mappingEntries(field(node, 'capabilities')),
    requirements: mappingEntries(field(node, 'requirements')),
    interfaces: mappingEntries(field(node, 'interfaces')),
  };
}
