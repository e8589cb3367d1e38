/**
 * The normalized model: a service template as typed records, the same whichever TOSCA version
 * wrote it. Readers (`read-*.ts`) make them from YAML through the version's grammar; the compiler's
 * entity steps (`../compile/`) read only these. Positions are offsets into the record's file:
 * line and column are worked out only when a message needs them.
 */
import type { Value } from '../model.js';
import type { Unit } from '../loader.js';
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
}

export interface ParameterDefinition {
  name: string;
  at: Offset;
  /** The definition itself: read by `ValueChecker.propertyDef` as type definitions' properties are. */
  definition: YamlNode | null;
  defaultAt?: Offset;
  description?: string;
}

export interface OutputDefinition {
  name: string;
  type?: string;
  typeAt: Offset;
  value: Value;
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
}

export interface ServiceTemplate {
  unit: Unit;
  description?: string;
  metadata: Record<string, string>;
  inputs: ParameterDefinition[];
  nodeTemplates: NodeTemplateEntry[];
  relationshipTemplates: Map<string, RelationshipTemplate>;
  groups: GroupTemplate[];
  policies: PolicyTemplate[];
  outputs: OutputDefinition[];
  /** `substitution_mappings` when the key is written (even empty); `node` is the mapping as written. */
  substitution?: { node: YamlNode | null; at: Offset; value?: Record<string, Value> };
  /** Kept as data; `workflowsAt` is set when any are written. */
  workflows: Record<string, Value>;
  workflowNames: string[];
  workflowsAt?: Offset;
}
