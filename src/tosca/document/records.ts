/**
 * The normalized model: a service template as typed records, the same whichever TOSCA version
 * wrote it. Readers (`read-*.ts`) make them from YAML through the version's grammar; the compiler's
 * entity steps (`../compile/`) read only these. Positions are offsets into the record's file:
 * line and column are worked out only when a message needs them.
 */
import type { Value } from '../model.js';
import type { Family, Unit } from '../loader.js';
import type { RequirementDefinition } from './read-definitions.js';
import type { YamlNode } from '../yaml-source.js';

/** Where something starts in its file (0 when it was not written in one, e.g. made by `copy`). */
export type Offset = number;

/** A property or attribute assignment (long notation `{ value, description }` unwrapped). */
export interface Assignment {
  name: string;
  value: Value;
  /** The `name:` pair. */
  at: Offset;
}

/** Assignments as written, and where their map's key is (a missing required one is reported there). */
export interface Assignments {
  list: Assignment[];
  at: Offset;
}

export interface CapabilityAssignment {
  name: string;
  at: Offset;
  /** Undefined when not written; empty when written empty. */
  properties?: Assignment[];
  attributes?: Assignment[];
}

export interface RelationshipAssignment {
  /** The relationship type or relationship template named (short form, or `type:`). */
  type?: string;
  at: Offset;
  /** Undefined when the assignment gives no `properties:` at all. */
  properties?: Assignment[];
}

export interface NodeFilterRecord {
  /** As written (plain data): evaluated by requirements/node-filter.ts. */
  filter: unknown;
  at: Offset;
}

export interface RequirementAssignment {
  name: string;
  /** The `name:` pair. */
  at: Offset;
  /** The assignment's value (where "names X, which is neither" points). */
  valueAt: Offset;
  /** Where the target is named: `node:` when written, else the value. */
  targetAt: Offset;
  /** A node template or node type name. */
  node?: string;
  capability?: string;
  relationship?: RelationshipAssignment;
  nodeFilter?: NodeFilterRecord;
}

export interface OperationRecord {
  name: string;
  /** The operation's `name:` pair, where a problem with it is reported. */
  at: Offset;
  /** The primary artifact as written (a path relative to the declaring file, or a URL). */
  implementation?: string;
  dependencies: string[];
  timeout?: number;
  /** Input values; null for an input definition with no default. */
  inputs: Array<[string, Value]>;
  outputs: Array<[string, string[]]>;
  description?: string;
}

/** An interface definition (in a node type) or assignment (in a node template). */
export interface InterfaceRecord {
  name: string;
  at: Offset;
  type?: string;
  inputs: Array<[string, Value]>;
  operations: OperationRecord[];
  unit: Unit;
}

/** An artifact definition (in a node type) or assignment (in a node template). */
export interface ArtifactRecord {
  name: string;
  file?: string;
  type?: string;
  typeAt: Offset;
  repository?: string;
  deployPath?: string;
  properties: Array<[string, Value]>;
  unit: Unit;
}

export interface NodeTemplate {
  name: string;
  /** The `name:` pair. */
  at: Offset;
  type?: string;
  typeAt: Offset;
  description?: string;
  metadata?: Record<string, string>;
  directives?: string[];
  /** The `directives` value (where a substitution problem points). */
  directivesAt?: Offset;
  properties?: Assignments;
  attributes?: Assignment[];
  capabilities?: CapabilityAssignment[];
  requirements: RequirementAssignment[];
  interfaces?: InterfaceRecord[];
  artifacts?: ArtifactRecord[];
  /** Where a template-level `node_filter` is (Kaidu keeps it with a warning). */
  nodeFilterAt?: Offset;
}

/**
 * A node template before its body is read: the name, where it is, its YAML (read on demand, see
 * `readNodeTemplate`) and its type name (which requirement matching asks of every template).
 */
export interface NodeTemplateEntry {
  name: string;
  at: Offset;
  /** As written. */
  own: YamlNode | null;
  /** With `copy` applied (the same as `own` when it copies nothing). */
  node: YamlNode | null;
  /** `copy` (TOSCA 2.0 §8.3.1) when written as a name: the template copied, and where the name is. */
  copy?: { name: string; at: Offset };
}

export interface ParameterDefinition {
  name: string;
  at: Offset;
  /** The definition, read as type definitions' properties are (`ValueChecker.propertyDef`). */
  definition: PropertyDefinitionRecord;
  defaultAt?: Offset;
  description?: string;
}

export interface OutputDefinition {
  name: string;
  type?: string;
  typeAt: Offset;
  /** With a `type` and a `value`: the definition, read as an input's is, so the value is checked against it. */
  definition?: PropertyDefinitionRecord;
  value: Value;
  valueAt: Offset;
  at: Offset;
}

export interface RelationshipTemplate {
  name: string;
  type?: string;
  /** The template's value. */
  at: Offset;
  properties?: Assignment[];
}

export interface GroupTemplate {
  name: string;
  at: Offset;
  type?: string;
  typeAt: Offset;
  members: string[];
  properties?: Assignment[];
}

export interface PolicyTemplate {
  name: string;
  at: Offset;
  type?: string;
  typeAt: Offset;
  targets: string[];
  properties?: Assignment[];
  /** `triggers` as written (1.1–1.3 and 2.0). */
  triggers: TriggerRecord[];
}

/** A name written in a workflow or trigger, and where it is written (where a wrong one is reported). */
export interface NameRef {
  name: string;
  at: Offset;
}

/**
 * One workflow activity (1.3 §3.6.23): `delegate` and `inline` name a workflow, `set_state` a node
 * state, `call_operation` an `<interface>.<operation>`; short or long notation, `name` is what it names.
 */
export interface WorkflowActivityRecord {
  kind: 'delegate' | 'set_state' | 'call_operation' | 'inline';
  /** Undefined when the activity names nothing readable (the grammar reports its shape). */
  name?: NameRef;
}

/** A workflow step (1.3 §3.6.27, 2.0 the same). */
export interface WorkflowStepRecord {
  name: string;
  /** The `name:` pair. */
  at: Offset;
  /** A node template or a group of the service. */
  target?: NameRef;
  /** A requirement of the target node template: the step acts on that relationship. */
  targetRelationship?: NameRef;
  operationHost?: NameRef;
  /** As written (plain data). */
  filter?: unknown;
  activities: WorkflowActivityRecord[];
  /** Step names of the same workflow. */
  onSuccess: NameRef[];
  onFailure: NameRef[];
}

/** A workflow precondition (1.3 §3.6.26). */
export interface WorkflowPreconditionRecord {
  at: Offset;
  target?: NameRef;
  targetRelationship?: NameRef;
  /** As written (plain data). */
  condition?: unknown;
}

/** An imperative workflow of a service template (1.3 §3.7.7; 2.0 service template `workflows`). */
export interface WorkflowRecord {
  name: string;
  /** The `name:` pair. */
  at: Offset;
  description?: string;
  inputs: PropertyDefinitionRecord[];
  preconditions: WorkflowPreconditionRecord[];
  steps: WorkflowStepRecord[];
}

/** A policy trigger (1.3 §3.6.22): what its event filter names, and its action's activities. */
export interface TriggerRecord {
  name: string;
  at: Offset;
  /** The event's name (short notation, or the long notation's `type`). */
  event?: string;
  /** `target_filter` (an event filter, 1.3 §3.6.21): a node template or node type, and a requirement or capability of it. */
  targetFilter?: { node?: NameRef; requirement?: NameRef; capability?: NameRef };
  action: WorkflowActivityRecord[];
}

export interface ServiceTemplate {
  unit: Unit;
  description?: string;
  metadata: Record<string, string>;
  inputs: ParameterDefinition[];
  nodeTemplates: NodeTemplateEntry[];
  /**
   * Set when no two node templates share a name (the fast reader refuses a map that writes a key
   * twice, and every name was a string key): then no table is needed to find the last of a name.
   */
  nodeTemplateNamesDistinct?: true;
  relationshipTemplates: Map<string, RelationshipTemplate>;
  groups: GroupTemplate[];
  policies: PolicyTemplate[];
  outputs: OutputDefinition[];
  /** `substitution_mappings` when the key is written (even empty); `mappings` when it is not empty. */
  substitution?: { mappings?: SubstitutionMappings; at: Offset; value?: Record<string, Value> };
  /** Read as the grammar walks them (`read-workflows.ts`); `workflowsAt` is set when any are written. */
  workflows: WorkflowRecord[];
  /** The workflows as written (plain data): what the compiled graph keeps of them. */
  workflowsValue: Record<string, Value>;
  workflowsAt?: Offset;
}

/**
 * A type (`entry_schema`, `key_schema`) as a definition gives it: the short notation (a bare type
 * name) or `type:` with its own schemas and clauses. A keyword is present here when it was written.
 */
export interface SchemaRecord {
  type?: string;
  /** Written as a bare type name: nothing else applies. */
  short?: true;
  entry?: SchemaRecord;
  key?: SchemaRecord;
  /** As written (plain data); present when the keyword is written, even empty. */
  validation?: unknown;
  constraints?: unknown;
  /** Where each node of `validation` / `constraints` is (`preorderOffsets`), for a bad operand's own place. */
  validationAt?: Offset[];
  constraintsAt?: Offset[];
}

/** A property, attribute, parameter or input definition. */
export interface PropertyDefinitionRecord extends SchemaRecord {
  name: string;
  /** The `name:` pair. */
  at: Offset;
  /** The definition is a map (the grammar's shape): only then can it lack a `type`. */
  map: boolean;
  /** `required` as written: false only when written `false`. */
  required?: boolean;
  /** Present when `default:` is written (null when written empty). */
  default?: Value;
  defaultAt?: Offset;
  value?: Value;
  description?: string;
}

/** A capability definition of a node type. */
export interface CapabilityDefinitionRecord {
  name: string;
  /** The definition's value (the short notation's type name, or the map). */
  at: Offset;
  /** The `name:` pair. */
  pairAt: Offset;
  map: boolean;
  /** The capability type named (short notation, or `type:`). */
  type?: string;
  /** Values the node type gives the capability's properties (tools write values here). */
  properties: Array<[string, Value]>;
  /** `valid_source_types` (or 2.0 `valid_source_node_types`) as written. */
  validSourceTypes: string[];
}

/** What an import names: a file (or url), or a profile; diagnostics point at `at`. */
export interface ImportRecord {
  at: Offset;
  file?: string;
  profile?: string;
  namespace?: string;
}

export interface RepositoryRecord {
  name: string;
  at: Offset;
  url?: string;
}

/** The `valid_*` lists a capability or relationship type may write. */
export type TypeListKey = 'valid_source_types' | 'valid_source_node_types' | 'valid_target_types' | 'valid_capability_types' | 'valid_target_node_types';

/** A type definition of any family: what it declares itself (merged along its chain by the compiler). */
export interface TypeRecord {
  family: Family;
  name: string;
  /** The `name:` pair. */
  at: Offset;
  /** The definition's value. */
  valueAt: Offset;
  derivedFrom?: string;
  derivedFromAt?: Offset;
  properties: PropertyDefinitionRecord[];
  attributes: PropertyDefinitionRecord[];
  /** Interface types' `inputs`. */
  inputs: PropertyDefinitionRecord[];
  capabilities: CapabilityDefinitionRecord[];
  requirements: RequirementDefinition[];
  interfaces: InterfaceRecord[];
  artifacts: ArtifactRecord[];
  /** Interface types: the operations declared (2.0 and 1.3 under `operations:`, 1.0–1.2 as the type's own keys). */
  operations: string[];
  /** Data types (present when written). */
  validation?: unknown;
  constraints?: unknown;
  validationAt?: Offset[];
  constraintsAt?: Offset[];
  entry?: SchemaRecord;
  key?: SchemaRecord;
  /** User-defined scalars: `units` and `prefixes` ({} when not written). */
  units: Record<string, number>;
  prefixes: Record<string, number>;
  /** Present when written: the names listed (strings only). */
  lists: Partial<Record<TypeListKey, string[]>>;
}

/** What is read of a file before its grammar walk (`read-header.ts`). */
export interface FileHeader {
  /** `tosca_definitions_version` as written ('' when missing or not a single value). */
  version: string;
  /** Its value, or the document when the key is missing or empty. */
  versionAt: Offset;
  /** Names declared under `functions:` (without `$`). */
  functions: string[];
}

/** A TOSCA file read through its version's grammar: what the loader and the compiler use of it. */
export interface FileRecord extends FileHeader {
  imports: ImportRecord[];
  repositories: RepositoryRecord[];
  types: Record<Family, TypeRecord[]>;
  /** `service_template` (or 1.x `topology_template`) when written and not empty. */
  service?: ServiceTemplate;
  /** Where the service template is (what "no such node" points at when nothing better is known). */
  serviceAt?: Offset;
}

/** One entry of a substitution mapping (`name: [ node, name ]`, `name: [ input ]`, or a map of operations to workflows). */
export interface MappingEntry {
  name: string;
  /** The `name:` pair. */
  at: Offset;
  /** The entry's value. */
  valueAt: Offset;
  /** The value when it is one string. */
  single?: string;
  /** The items of a list value (undefined for an item that is not a string). */
  items: Array<string | undefined>;
  /** A map value's entries: the string each gives (undefined if none), and where its pair is. */
  entries: Array<[string | undefined, Offset]>;
}

/** `substitution_mappings` (2.0 §15, 1.3 §3.8.13) as written. */
export interface SubstitutionMappings {
  /** The mapping itself. */
  at: Offset;
  nodeType?: string;
  /** `node_type`'s value, or the mapping when it has none. */
  nodeTypeAt: Offset;
  /** `substitution_filter` as written (plain data), when written. */
  filter?: { value: unknown };
  properties: MappingEntry[];
  attributes: MappingEntry[];
  capabilities: MappingEntry[];
  requirements: MappingEntry[];
  interfaces: MappingEntry[];
}
