/**
 * TOSCA Simple Profile in YAML 1.0, 1.1, 1.2 and 1.3 as data, written from the specifications'
 * grammar sections (1.3: §3.6 "definitions", §3.7 "type definitions", §3.8 "template-level
 * definitions", §3.9 "service template"; 1.2: §3.6–3.9; 1.0 and 1.1: §3.5–3.9). Each version is
 * the next one with what it lacked or had more, so every difference is one line here:
 *
 * | keyword                                                       | 1.0 | 1.1 | 1.2 | 1.3 |
 * |---------------------------------------------------------------|-----|-----|-----|-----|
 * | service template `namespace`                                  |     |     |  ✓  |  ✓  |
 * | `metadata` of types, node/relationship templates, groups,     |     |  ✓  |  ✓  |  ✓  |
 * | policies                                                      |     |     |     |     |
 * | group type `attributes`                                       |     |  ✓  |  ✓  |  ✓  |
 * | group type `requirements`, `capabilities`                     |     |  ✓  |  ✓  |     |
 * | group `attributes`                                            |     |     |     |  ✓  |
 * | group and group type `interfaces`                             |  ✓  |  ✓  |  ✓  |     |
 * | property/parameter definition `metadata`                      |     |     |  ✓  |  ✓  |
 * | attribute definition `metadata`                               |     |     |     |  ✓  |
 * | named imports (`- name: file`)                                |  ✓  |  ✓  |  ✓  |     |
 * | topology template `workflows`; policy (type) `triggers`       |     |  ✓  |  ✓  |  ✓  |
 * | substitution mappings `properties`, `interfaces`              |     |     |  ✓  |  ✓  |
 * | substitution mappings `attributes`, `substitution_filter`     |     |     |     |  ✓  |
 * | interface `operations:` / `notifications:` (else ops inline)  |     |     |     |  ✓  |
 * | operation `outputs`                                           |     |     |     |  ✓  |
 * | property/parameter `key_schema`, `external_schema`            |     |     |     |  ✓  |
 * | attribute `key_schema`; data type `key_schema`/`entry_schema` |     |     |     |  ✓  |
 * | artifact `artifact_version`, `checksum`, `checksum_algorithm` |     |     |     |  ✓  |
 * | requirement/capability assignment `occurrences`               |     |     |     |  ✓  |
 *
 * Values a type decides (property values, node filters, workflows, triggers) are `any` here:
 * the value checker and the compiler read them. docs/tosca-rules.md gives the sources, section
 * by section, of each version's differences.
 */
import { amend, constraintList, countRange, any, boolean, entity, keyedList, keywords, listOf, mapOf, oneOf, oneOfValues, scalar, string, stringMap, deferred, type Entity, type Grammar, type Shape } from './shape.js';
import { workflowEntities1 } from './workflows.js';

const STATUS: Shape = oneOfValues('supported', 'unsupported', 'experimental', 'deprecated');

/** Keywords every type definition has (§3.7.1). */
const typeCommon = { derived_from: string, version: scalar, metadata: stringMap, description: scalar };
const props = mapOf(entity('propertyDefinition'));
const attrs = mapOf(entity('attributeDefinition'));
const schema = entity('schemaDefinition');
const values = mapOf(any);
const names = listOf(string);

function v13(): Record<string, Entity> {
  return {
    file: {
      title: 'service template',
      keywords: keywords({
        tosca_definitions_version: [string, 'required'],
        namespace: string,
        metadata: stringMap,
        description: scalar,
        dsl_definitions: any,
        repositories: mapOf(entity('repository')),
        imports: listOf(entity('import')),
        artifact_types: mapOf(entity('artifactType')),
        data_types: mapOf(entity('dataType')),
        capability_types: mapOf(entity('capabilityType')),
        interface_types: mapOf(entity('interfaceType')),
        relationship_types: mapOf(entity('relationshipType')),
        node_types: mapOf(entity('nodeType')),
        group_types: mapOf(entity('groupType')),
        policy_types: mapOf(entity('policyType')),
        topology_template: entity('topologyTemplate'),
      }),
    },
    repository: { title: 'repository', short: string, keywords: keywords({ description: scalar, url: [string, 'required'], credential: any }) },
    import: { title: 'import', short: string, keywords: keywords({ file: [string, 'required'], repository: string, namespace_uri: string, namespace_prefix: string }) },
    topologyTemplate: {
      title: 'topology template',
      keywords: keywords({
        description: scalar,
        inputs: mapOf(entity('parameterDefinition')),
        node_templates: deferred(mapOf(entity('nodeTemplate'))),
        relationship_templates: mapOf(entity('relationshipTemplate')),
        groups: mapOf(entity('group')),
        policies: keyedList(entity('policy')),
        outputs: mapOf(entity('parameterDefinition')),
        substitution_mappings: entity('substitutionMappings'),
        workflows: mapOf(any),
      }),
    },
    nodeTemplate: {
      title: 'node template',
      keywords: keywords({
        type: string,
        description: scalar,
        metadata: stringMap,
        directives: names,
        properties: values,
        attributes: values,
        requirements: keyedList(entity('requirementAssignment')),
        capabilities: mapOf(entity('capabilityAssignment')),
        interfaces: mapOf(entity('interfaceAssignment')),
        artifacts: mapOf(entity('artifactAssignment')),
        node_filter: entity('nodeFilter'),
        copy: string,
      }),
    },
    requirementAssignment: {
      title: 'requirement assignment',
      short: string,
      keywords: keywords({ capability: string, node: string, relationship: oneOf(string, entity('relationshipAssignment')), node_filter: entity('nodeFilter'), occurrences: countRange }),
    },
    // §3.6.5: property filters (`- name: clause` or `- name: [ clauses ]`, checked when evaluated)
    // and capability filters by capability name or type. A misspelt keyword here emptied the filter.
    nodeFilter: { title: 'node filter', keywords: keywords({ properties: keyedList(any), capabilities: keyedList(entity('capabilityFilter')) }) },
    capabilityFilter: { title: 'capability filter', keywords: keywords({ properties: keyedList(any) }) },
    relationshipAssignment: { title: 'relationship assignment', keywords: keywords({ type: string, properties: values, interfaces: mapOf(entity('interfaceAssignment')) }) },
    capabilityAssignment: { title: 'capability assignment', keywords: keywords({ properties: values, attributes: values, occurrences: countRange }) },
    interfaceAssignment: {
      title: 'interface assignment',
      keywords: keywords({ inputs: values, operations: mapOf(entity('operationAssignment')), notifications: mapOf(entity('notificationAssignment')) }),
    },
    operationAssignment: { title: 'operation assignment', short: string, keywords: keywords({ description: scalar, implementation: entity('implementation'), inputs: values, outputs: values }) },
    notificationAssignment: { title: 'notification assignment', short: string, keywords: keywords({ description: scalar, implementation: entity('implementation'), inputs: values, outputs: values }) },
    implementation: {
      title: 'operation implementation',
      short: string,
      keywords: keywords({ primary: oneOf(string, entity('artifactDefinition')), dependencies: listOf(oneOf(string, entity('artifactDefinition'))), timeout: scalar, operation_host: string }),
    },
    // In a node template an artifact may refine the type's: then it needs no `file`.
    artifactAssignment: {
      title: 'artifact',
      short: string,
      keywords: keywords({ type: string, file: string, repository: string, description: scalar, deploy_path: string, artifact_version: scalar, checksum: scalar, checksum_algorithm: scalar, properties: values }),
    },
    artifactDefinition: {
      title: 'artifact definition',
      short: string,
      keywords: keywords({ type: string, file: [string, 'required'], repository: string, description: scalar, deploy_path: string, artifact_version: scalar, checksum: scalar, checksum_algorithm: scalar, properties: values }),
    },
    propertyDefinition: {
      title: 'property definition',
      keywords: keywords({ type: string, description: scalar, required: boolean, default: any, status: STATUS, constraints: constraintList, key_schema: schema, entry_schema: schema, external_schema: string, metadata: stringMap }),
    },
    // `required` on attributes: not in §3.6.12, but the normative profile Kaidu ships writes it (tosca_id, ip_address).
    attributeDefinition: {
      title: 'attribute definition',
      keywords: keywords({ type: string, description: scalar, required: boolean, default: any, status: STATUS, key_schema: schema, entry_schema: schema, metadata: stringMap }),
    },
    parameterDefinition: {
      title: 'parameter definition',
      keywords: keywords({ type: string, description: scalar, value: any, required: boolean, default: any, status: STATUS, constraints: constraintList, key_schema: schema, entry_schema: schema, external_schema: string, metadata: stringMap }),
    },
    schemaDefinition: { title: 'schema definition', short: string, keywords: keywords({ type: [string, 'required'], description: scalar, constraints: constraintList, key_schema: schema, entry_schema: schema }) },
    nodeType: {
      title: 'node type',
      keywords: keywords({
        ...typeCommon,
        properties: props,
        attributes: attrs,
        requirements: keyedList(entity('requirementDefinition')),
        capabilities: mapOf(entity('capabilityDefinition')),
        interfaces: mapOf(entity('interfaceDefinition')),
        artifacts: mapOf(entity('artifactDefinition')),
      }),
    },
    dataType: { title: 'data type', keywords: keywords({ ...typeCommon, constraints: constraintList, properties: props, key_schema: schema, entry_schema: schema }) },
    capabilityType: { title: 'capability type', keywords: keywords({ ...typeCommon, properties: props, attributes: attrs, valid_source_types: names }) },
    interfaceType: {
      title: 'interface type',
      // The normative types list their operations directly (1.3 §5.8), as 1.0–1.2 did; a
      // misspelt keyword (`notifcations:`) is still reported, not taken for an operation.
      other: entity('operationDefinition'),
      keywordTypos: true,
      keywords: keywords({ ...typeCommon, inputs: props, operations: mapOf(entity('operationDefinition')), notifications: mapOf(entity('notificationDefinition')) }),
    },
    relationshipType: { title: 'relationship type', keywords: keywords({ ...typeCommon, properties: props, attributes: attrs, interfaces: mapOf(entity('interfaceDefinition')), valid_target_types: names }) },
    artifactType: { title: 'artifact type', keywords: keywords({ ...typeCommon, mime_type: scalar, file_ext: listOf(scalar), properties: props }) },
    // 1.3 §3.7.11.2 grammar: the common type keys, properties, attributes, members. Requirements,
    // capabilities and interfaces of 1.1–1.2 group types are gone (Puccini still reads the first two).
    groupType: { title: 'group type', keywords: keywords({ ...typeCommon, properties: props, attributes: attrs, members: names }) },
    policyType: { title: 'policy type', keywords: keywords({ ...typeCommon, properties: props, targets: names, triggers: mapOf(any) }) },
    capabilityDefinition: {
      title: 'capability definition',
      short: string,
      // `properties` here refine the type's definitions or give values (tools write both).
      keywords: keywords({ type: string, description: scalar, properties: values, attributes: values, valid_source_types: names, occurrences: countRange }),
    },
    requirementDefinition: {
      title: 'requirement definition',
      short: string,
      keywords: keywords({ capability: string, node: string, relationship: oneOf(string, entity('relationshipDefinition')), occurrences: countRange, node_filter: entity('nodeFilter'), description: scalar }),
    },
    relationshipDefinition: { title: 'relationship definition', short: string, keywords: keywords({ type: [string, 'required'], description: scalar, properties: values, interfaces: mapOf(entity('interfaceDefinition')) }) },
    interfaceDefinition: {
      title: 'interface definition',
      keywords: keywords({ type: string, description: scalar, inputs: values, operations: mapOf(entity('operationDefinition')), notifications: mapOf(entity('notificationDefinition')) }),
    },
    operationDefinition: { title: 'operation definition', short: string, keywords: keywords({ description: scalar, implementation: entity('implementation'), inputs: values, outputs: values }) },
    notificationDefinition: { title: 'notification definition', short: string, keywords: keywords({ description: scalar, implementation: entity('implementation'), outputs: values }) },
    relationshipTemplate: {
      title: 'relationship template',
      keywords: keywords({ type: [string, 'required'], description: scalar, metadata: stringMap, properties: values, attributes: values, interfaces: mapOf(entity('interfaceAssignment')), copy: string }),
    },
    group: { title: 'group', keywords: keywords({ type: [string, 'required'], description: scalar, metadata: stringMap, properties: values, attributes: values, members: names }) },
    policy: { title: 'policy', keywords: keywords({ type: [string, 'required'], description: scalar, metadata: stringMap, properties: values, targets: names, triggers: mapOf(any) }) },
    substitutionMappings: {
      title: 'substitution mappings',
      keywords: keywords({ node_type: [string, 'required'], substitution_filter: any, properties: values, attributes: values, capabilities: values, requirements: values, interfaces: values }),
    },
  };
}

function v12(): Record<string, Entity> {
  const e = v13();
  // 1.3 added notifications, operation outputs, key/external schemas, artifact versions and
  // checksums, schemas on data types, attribute and filter mappings, and assignment occurrences.
  // Before 1.3 an interface lists its operations directly (1.2 §3.6.5, §3.7.5): there is no
  // `operations:` keyword, so an entry named so is an operation, and its body is checked as one.
  const oldInterface = (x: Entity, op: string): Entity => amend(x, { operations: null, notifications: null }, { other: entity(op), keywordTypos: true });
  const noVersioning = { artifact_version: null, checksum: null, checksum_algorithm: null };
  return {
    ...e,
    // 1.0–1.2 name an import: `- name: file` or `- name: { file: ... }` (3.5.8 of 1.2).
    import: { ...e.import!, other: oneOf(string, entity('namedImport')) },
    namedImport: e.import!,
    interfaceAssignment: oldInterface(e.interfaceAssignment!, 'operationAssignment'),
    interfaceDefinition: oldInterface(e.interfaceDefinition!, 'operationDefinition'),
    interfaceType: amend(e.interfaceType!, { operations: null, notifications: null }),
    operationAssignment: amend(e.operationAssignment!, { outputs: null }),
    operationDefinition: amend(e.operationDefinition!, { outputs: null }),
    propertyDefinition: amend(e.propertyDefinition!, { key_schema: null, external_schema: null }),
    parameterDefinition: amend(e.parameterDefinition!, { key_schema: null, external_schema: null }),
    // Metadata of attribute definitions came with 1.3 (of property definitions with 1.2: Puccini).
    attributeDefinition: amend(e.attributeDefinition!, { key_schema: null, metadata: null }),
    dataType: amend(e.dataType!, { key_schema: null, entry_schema: null }),
    artifactAssignment: amend(e.artifactAssignment!, noVersioning),
    artifactDefinition: amend(e.artifactDefinition!, noVersioning),
    capabilityAssignment: amend(e.capabilityAssignment!, { occurrences: null }),
    requirementAssignment: amend(e.requirementAssignment!, { occurrences: null }),
    substitutionMappings: amend(e.substitutionMappings!, { substitution_filter: null, attributes: null }),
    // Groups have the lifecycle interfaces until 1.3, and no attributes before it (1.2 §3.8.5:
    // type, description, metadata, properties, members, interfaces); group types have
    // requirements and capabilities too (1.2 §3.7.11).
    group: amend(e.group!, { attributes: null, interfaces: mapOf(entity('interfaceAssignment')) }),
    groupType: amend(e.groupType!, {
      requirements: keyedList(entity('requirementDefinition')),
      capabilities: mapOf(entity('capabilityDefinition')),
      interfaces: mapOf(entity('interfaceDefinition')),
    }),
  };
}

function v11(): Record<string, Entity> {
  const e = v12();
  // 1.2 added the service template's namespace, property and interface mappings, and metadata
  // of property (and so parameter) definitions (1.2 §3.6.9; 1.1 §3.5.8 has none).
  return {
    ...e,
    file: amend(e.file!, { namespace: null }),
    substitutionMappings: amend(e.substitutionMappings!, { properties: null, interfaces: null }),
    propertyDefinition: amend(e.propertyDefinition!, { metadata: null }),
    parameterDefinition: amend(e.parameterDefinition!, { metadata: null }),
  };
}

function v10(): Record<string, Entity> {
  const e = v11();
  // 1.1 added imperative workflows and event-condition-action policies (triggers), `metadata`
  // of types and templates (1.1 §3.6.1 for types; 1.0 §3.6.1 has derived_from, version and
  // description only, §3.7.3–3.7.6 none), and the group
  // type's attributes, requirements and capabilities (1.0 §3.6.10: properties, members,
  // interfaces). The 1.0 service template has `metadata` (§3.9.3.2), in which template_name,
  // template_author and template_version are keys (§3.9.3.3–3.9.3.5); top-level `template_name`
  // and `tosca_default_namespace` were drafts' (csd01–csd03), not the standard's.
  const noMetadata = (x: Entity, more: Record<string, null> = {}): Entity => amend(x, { metadata: null, ...more });
  const out: Record<string, Entity> = {
    ...e,
    topologyTemplate: amend(e.topologyTemplate!, { workflows: null }),
    policy: noMetadata(e.policy!, { triggers: null }),
    policyType: noMetadata(e.policyType!, { triggers: null }),
    groupType: noMetadata(e.groupType!, { attributes: null, requirements: null, capabilities: null }),
    group: noMetadata(e.group!),
  };
  for (const name of ['nodeType', 'dataType', 'capabilityType', 'interfaceType', 'relationshipType', 'artifactType', 'nodeTemplate', 'relationshipTemplate']) {
    out[name] = noMetadata(out[name]!);
  }
  return out;
}

/**
 * The functions of each 1.x version (1.0–1.2 §4, 1.3 §4.3–4.7): `join` came with 1.3. A document
 * that calls one its version does not have gets an error naming the version that has it.
 */
const FUNCTIONS_1_0 = ['get_input', 'get_property', 'get_attribute', 'get_operation_output', 'get_nodes_of_type', 'get_artifact', 'concat', 'token'];
const FUNCTIONS_1: Record<string, ReadonlySet<string>> = {
  tosca_simple_yaml_1_0: new Set(FUNCTIONS_1_0),
  tosca_simple_yaml_1_1: new Set(FUNCTIONS_1_0),
  tosca_simple_yaml_1_2: new Set(FUNCTIONS_1_0),
  tosca_simple_yaml_1_3: new Set([...FUNCTIONS_1_0, 'join']),
};

/** A standard 1.x function `fn` that this 1.x version lacks: the versions that have it; else undefined. */
export function functionOfOtherVersions(versionText: string, fn: string): string[] | undefined {
  const own = FUNCTIONS_1[versionText];
  if (!own || own.has(fn)) return undefined;
  const others = Object.keys(FUNCTIONS_1).filter((v) => FUNCTIONS_1[v]!.has(fn));
  return others.length ? others : undefined;
}

/**
 * The primitive types of each 1.x version (§3.2–3.3): 2.0's `bytes`, `nil` and `any` are not
 * among them, and `scalar-unit.bitrate` came with 1.3.
 */
const PRIMITIVES_1_0 = ['string', 'integer', 'float', 'boolean', 'timestamp', 'null', 'version', 'range', 'list', 'map', 'scalar-unit.size', 'scalar-unit.time', 'scalar-unit.frequency'];
const PRIMITIVES_1: Record<string, ReadonlySet<string>> = {
  tosca_simple_yaml_1_0: new Set(PRIMITIVES_1_0),
  tosca_simple_yaml_1_1: new Set(PRIMITIVES_1_0),
  tosca_simple_yaml_1_2: new Set(PRIMITIVES_1_0),
  tosca_simple_yaml_1_3: new Set([...PRIMITIVES_1_0, 'scalar-unit.bitrate']),
};

/** Whether a primitive type exists in this 1.x version (true for any other version). */
export function primitiveInVersion(versionText: string, type: string): boolean {
  return PRIMITIVES_1[versionText]?.has(type) ?? true;
}

// --- Workflows and triggers (grammar/workflows.ts) ---------------------------------------------
// Kept apart from the per-version tables above: the versions that have `workflows` and
// `triggers` (1.1–1.3) read their bodies through the entities of workflows.ts.

function withWorkflows(versionText: string, e: Record<string, Entity>): Record<string, Entity> {
  const out: Record<string, Entity> = { ...e, ...workflowEntities1(versionText, stringMap) };
  if (e.topologyTemplate!.keywords.workflows) out.topologyTemplate = amend(e.topologyTemplate!, { workflows: mapOf(entity('workflowDefinition')) });
  for (const name of ['policy', 'policyType']) if (e[name]!.keywords.triggers) out[name] = amend(e[name]!, { triggers: mapOf(entity('triggerDefinition')) });
  return out;
}

// Built when first asked for (grammar/index.ts): each older version is made from a newer one's
// tables, so building all four at start-up built 1.3's ten times.
export const tosca13 = (): Grammar => ({ version: 'tosca_simple_yaml_1_3', root: 'file', entities: withWorkflows('tosca_simple_yaml_1_3', v13()) });
export const tosca12 = (): Grammar => ({ version: 'tosca_simple_yaml_1_2', root: 'file', entities: withWorkflows('tosca_simple_yaml_1_2', v12()) });
export const tosca11 = (): Grammar => ({ version: 'tosca_simple_yaml_1_1', root: 'file', entities: withWorkflows('tosca_simple_yaml_1_1', v11()) });
export const tosca10 = (): Grammar => ({ version: 'tosca_simple_yaml_1_0', root: 'file', entities: withWorkflows('tosca_simple_yaml_1_0', v10()) });
