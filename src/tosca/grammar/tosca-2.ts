/**
 * TOSCA 2.0 as data, written from the specification's grammar (§6 TOSCA file, §7 service
 * template, §8 nodes and relationships, §9 data types, §10 interfaces, §11 artifacts, §12
 * policies and groups, §15 substitution). Where the specification is silent, Puccini's readings
 * are followed: its 2.0 examples still write 1.3's `constraints`, `occurrences` and
 * `operation_host`, and user-defined scalars with `data_type`, `units`, `prefixes`.
 */
import { any, boolean, constraintList, countRange, nodeFilterClause, validationClause, deferred, entity, keyedList, keywords, listOf, mapOf, oneOf, scalar, string, type Entity, type Grammar } from './shape.js';
import { workflowEntities2 } from './workflows.js';

// 2.0 metadata values may be any YAML, as Puccini reads them (its examples nest maps).
const metadata = mapOf(any);
const typeCommon = { derived_from: string, version: scalar, metadata, description: scalar };
const props = mapOf(entity('propertyDefinition'));
const attrs = mapOf(entity('attributeDefinition'));
const schema = entity('schemaDefinition');
const values = mapOf(any);
const names = listOf(string);
const constraints = constraintList;

const entities = (): Record<string, Entity> => ({
  file: {
    title: 'TOSCA file',
    keywords: keywords({
      tosca_definitions_version: [string, 'required'],
      description: scalar,
      metadata,
      dsl_definitions: any,
      artifact_types: mapOf(entity('artifactType')),
      data_types: mapOf(entity('dataType')),
      capability_types: mapOf(entity('capabilityType')),
      interface_types: mapOf(entity('interfaceType')),
      relationship_types: mapOf(entity('relationshipType')),
      node_types: mapOf(entity('nodeType')),
      group_types: mapOf(entity('groupType')),
      policy_types: mapOf(entity('policyType')),
      repositories: mapOf(entity('repository')),
      functions: mapOf(any),
      profile: string,
      imports: listOf(entity('import')),
      service_template: entity('serviceTemplate'),
    }),
  },
  repository: { title: 'repository', short: string, keywords: keywords({ description: scalar, metadata, url: [string, 'required'] }) },
  // `file` and `namespace_prefix` are 1.x spellings other tools still write in 2.0 files.
  import: { title: 'import', short: string, keywords: keywords({ url: string, file: string, profile: string, repository: string, namespace: string, namespace_prefix: string, description: scalar, metadata }) },
  serviceTemplate: {
    title: 'service template',
    keywords: keywords({
      description: scalar,
      metadata,
      inputs: mapOf(entity('parameterDefinition')),
      outputs: mapOf(entity('parameterDefinition')),
      node_templates: deferred(mapOf(entity('nodeTemplate'))),
      relationship_templates: mapOf(entity('relationshipTemplate')),
      groups: mapOf(entity('group')),
      policies: keyedList(entity('policy')),
      substitution_mappings: entity('substitutionMappings'),
      workflows: mapOf(entity('workflowDefinition')),
    }),
  },
  nodeTemplate: {
    title: 'node template',
    keywords: keywords({
      type: string,
      description: scalar,
      metadata,
      directives: names,
      properties: values,
      attributes: values,
      requirements: keyedList(entity('requirementAssignment')),
      capabilities: mapOf(entity('capabilityAssignment')),
      interfaces: mapOf(entity('interfaceAssignment')),
      artifacts: mapOf(entity('artifactAssignment')),
      count: scalar,
      node_filter: nodeFilterClause,
      copy: string,
    }),
  },
  requirementAssignment: {
    title: 'requirement assignment',
    short: string,
    keywords: keywords({
      // A template name, a node type, or [template, index] (§8.7.3).
      node: oneOf(string, listOf(any)),
      capability: string,
      relationship: oneOf(string, entity('relationshipAssignment')),
      allocation: values,
      count: scalar,
      node_filter: nodeFilterClause,
      directives: names,
      optional: boolean,
      description: scalar,
      metadata,
    }),
  },
  // The 1.x node filter form (1.3 §3.6.5), which 2.0 files still write (Puccini's 2.0 examples do).
  nodeFilter: { title: 'node filter', keywords: keywords({ properties: keyedList(any), capabilities: keyedList(entity('capabilityFilter')) }) },
  capabilityFilter: { title: 'capability filter', keywords: keywords({ properties: keyedList(any) }) },
  relationshipAssignment: { title: 'relationship assignment', keywords: keywords({ type: string, properties: values, attributes: values, interfaces: mapOf(entity('interfaceAssignment')) }) },
  capabilityAssignment: { title: 'capability assignment', keywords: keywords({ properties: values, attributes: values, directives: names }) },
  interfaceAssignment: { title: 'interface assignment', keywords: keywords({ inputs: values, operations: mapOf(entity('operationAssignment')), notifications: mapOf(entity('notificationAssignment')) }) },
  operationAssignment: { title: 'operation assignment', short: string, keywords: keywords({ description: scalar, implementation: entity('implementation'), inputs: values, outputs: values }) },
  notificationAssignment: { title: 'notification assignment', short: string, keywords: keywords({ description: scalar, implementation: entity('implementation'), inputs: values, outputs: values }) },
  implementation: {
    title: 'operation implementation',
    short: string,
    keywords: keywords({ primary: oneOf(string, entity('artifactDefinition')), dependencies: listOf(oneOf(string, entity('artifactDefinition'))), timeout: scalar, operation_host: string }),
  },
  // In a node template an artifact may refine the type's (§11.3): then it needs no `file`.
  artifactAssignment: {
    title: 'artifact',
    short: string,
    keywords: keywords({ type: string, file: string, repository: string, description: scalar, metadata, deploy_path: string, artifact_version: scalar, checksum: scalar, checksum_algorithm: scalar, properties: values }),
  },
  artifactDefinition: {
    title: 'artifact definition',
    short: string,
    keywords: keywords({ type: string, file: [string, 'required'], repository: string, description: scalar, metadata, deploy_path: string, artifact_version: scalar, checksum: scalar, checksum_algorithm: scalar, properties: values }),
  },
  propertyDefinition: {
    title: 'property definition',
    keywords: keywords({ type: string, description: scalar, metadata, required: boolean, default: any, value: any, validation: validationClause, constraints, key_schema: schema, entry_schema: schema }),
  },
  // `required` on attributes: the simple profile's own definitions write it (tosca_id, ip_address).
  attributeDefinition: {
    title: 'attribute definition',
    keywords: keywords({ type: string, description: scalar, metadata, required: boolean, default: any, validation: validationClause, constraints, key_schema: schema, entry_schema: schema }),
  },
  parameterDefinition: {
    title: 'parameter definition',
    keywords: keywords({ type: string, description: scalar, metadata, value: any, mapping: any, required: boolean, default: any, validation: validationClause, constraints, key_schema: schema, entry_schema: schema }),
  },
  schemaDefinition: { title: 'schema definition', short: string, keywords: keywords({ type: [string, 'required'], description: scalar, validation: validationClause, constraints, key_schema: schema, entry_schema: schema }) },
  nodeType: {
    title: 'node type',
    keywords: keywords({
      ...typeCommon,
      properties: props,
      attributes: attrs,
      capabilities: mapOf(entity('capabilityDefinition')),
      requirements: keyedList(entity('requirementDefinition')),
      interfaces: mapOf(entity('interfaceDefinition')),
      artifacts: mapOf(entity('artifactDefinition')),
    }),
  },
  dataType: {
    title: 'data type',
    keywords: keywords({ ...typeCommon, validation: validationClause, constraints, properties: props, key_schema: schema, entry_schema: schema, data_type: string, units: values, canonical_unit: scalar, prefixes: values }),
  },
  capabilityType: { title: 'capability type', keywords: keywords({ ...typeCommon, properties: props, attributes: attrs, valid_source_node_types: names, valid_relationship_types: names }) },
  interfaceType: { title: 'interface type', keywords: keywords({ ...typeCommon, inputs: props, operations: mapOf(entity('operationDefinition')), notifications: mapOf(entity('notificationDefinition')) }) },
  relationshipType: {
    title: 'relationship type',
    keywords: keywords({ ...typeCommon, properties: props, attributes: attrs, interfaces: mapOf(entity('interfaceDefinition')), valid_capability_types: names, valid_target_node_types: names, valid_source_node_types: names }),
  },
  artifactType: { title: 'artifact type', keywords: keywords({ ...typeCommon, mime_type: scalar, file_ext: listOf(scalar), properties: props }) },
  groupType: { title: 'group type', keywords: keywords({ ...typeCommon, properties: props, attributes: attrs, members: names }) },
  policyType: { title: 'policy type', keywords: keywords({ ...typeCommon, properties: props, targets: names, triggers: mapOf(entity('triggerDefinition')) }) },
  capabilityDefinition: {
    title: 'capability definition',
    short: string,
    keywords: keywords({ type: string, description: scalar, metadata, properties: values, attributes: values, valid_source_node_types: names, valid_relationship_types: names, occurrences: countRange }),
  },
  requirementDefinition: {
    title: 'requirement definition',
    short: string,
    keywords: keywords({ description: scalar, metadata, capability: string, node: string, relationship: oneOf(string, entity('relationshipDefinition')), node_filter: nodeFilterClause, count_range: countRange, occurrences: countRange }),
  },
  relationshipDefinition: {
    title: 'relationship definition',
    short: string,
    keywords: keywords({ type: [string, 'required'], description: scalar, metadata, properties: values, attributes: values, interfaces: mapOf(entity('interfaceDefinition')) }),
  },
  interfaceDefinition: {
    title: 'interface definition',
    keywords: keywords({ type: string, description: scalar, inputs: values, operations: mapOf(entity('operationDefinition')), notifications: mapOf(entity('notificationDefinition')) }),
  },
  operationDefinition: { title: 'operation definition', short: string, keywords: keywords({ description: scalar, implementation: entity('implementation'), inputs: values, outputs: values }) },
  notificationDefinition: { title: 'notification definition', short: string, keywords: keywords({ description: scalar, implementation: entity('implementation'), outputs: values }) },
  relationshipTemplate: {
    title: 'relationship template',
    keywords: keywords({ type: string, description: scalar, metadata, properties: values, attributes: values, interfaces: mapOf(entity('interfaceAssignment')), copy: string }),
  },
  group: { title: 'group', keywords: keywords({ type: [string, 'required'], description: scalar, metadata, properties: values, attributes: values, members: names }) },
  policy: { title: 'policy', keywords: keywords({ type: [string, 'required'], description: scalar, metadata, properties: values, targets: names, triggers: mapOf(entity('triggerDefinition')) }) },
  ...workflowEntities2(metadata),
  substitutionMappings: {
    title: 'substitution mappings',
    keywords: keywords({ node_type: [string, 'required'], substitution_filter: any, properties: values, attributes: values, capabilities: values, requirements: values, interfaces: values }),
  },
});

/** Built when first asked for (grammar/index.ts). */
export const tosca20 = (): Grammar => ({ version: 'tosca_2_0', root: 'file', entities: entities() });
