/**
 * The compiler's output: a normalized, validated service. Nothing downstream reads raw YAML.
 * Everything here is plain JSON data (so a plan can embed it and a cache can store it), except
 * that a value may contain a deferred `FunctionCall`.
 */
import type { Diagnostic, SourceLocation } from './diagnostic.js';
import type { PrebuiltRecords } from './document/prebuilt-records.js';

/**
 * A function call kept for later evaluation: `$get_attribute` (needs discovered state) and
 * custom functions declared in `functions:`. Other standard functions are evaluated at compile
 * time when all their arguments are known, and kept as calls when an argument is deferred.
 * The key `$fn` cannot collide with user data: a user's literal `$fn` key is written `$$fn`.
 */
export interface FunctionCall {
  $fn: string;
  args: Value[];
}

export type Value = null | boolean | number | string | Value[] | { [key: string]: Value } | FunctionCall;

export function isFunctionCall(v: unknown): v is FunctionCall {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as { $fn?: unknown }).$fn === 'string' &&
    Array.isArray((v as { args?: unknown }).args)
  );
}

/**
 * Canonical type names: TOSCA 1.3 normative types by their full dotted name
 * (`tosca.nodes.Compute`), the TOSCA 2.0 simple profile as `tosca:Compute`, the Kaidu profile as
 * `kaidu:Process`, and a user's own types by the name they were declared with (prefixed with the
 * import namespace when imported under one, e.g. `acme:Server`).
 * `types` always lists the whole derivation chain, most-derived first, so `types.includes('kaidu:Process')`
 * answers "is this a Process?".
 */
export interface TypeRef {
  type: string;
  types: string[];
}

export interface CompiledOperation {
  /** Path of the implementation artifact relative to the repository root, if it is a file. */
  implementation?: string;
  /** Other artifacts the implementation needs (repository-relative paths). */
  dependencies: string[];
  /** Seconds. */
  timeout?: number;
  inputs: Record<string, Value>;
  /** 2.0 `outputs`: output name → attribute path, e.g. ["SELF", "address"]. */
  outputs: Record<string, string[]>;
  description?: string;
}

export interface CompiledInterface extends TypeRef {
  inputs: Record<string, Value>;
  operations: Record<string, CompiledOperation>;
}

export interface CompiledArtifact extends TypeRef {
  /** Repository-relative path (resolved against the file that declared it) or URL. */
  file: string;
  repository?: string;
  deployPath?: string;
  properties: Record<string, Value>;
}

export interface CompiledCapability extends TypeRef {
  properties: Record<string, Value>;
  attributes: Record<string, Value>;
}

export interface CompiledRelationship extends TypeRef {
  /** Name of the relationship template when the requirement named one. */
  template?: string;
  properties: Record<string, Value>;
  attributes: Record<string, Value>;
  interfaces: Record<string, CompiledInterface>;
}

export interface CompiledRequirement {
  /** Requirement name as declared, e.g. `host`, `dependency`, `database`. */
  name: string;
  /** The node template it resolved to; undefined only for an optional, unfulfilled requirement. */
  target?: string;
  /** Capability name on the target. */
  capability?: string;
  relationship: CompiledRelationship;
  source: SourceLocation;
}

export interface CompiledNode extends TypeRef {
  name: string;
  description?: string;
  metadata: Record<string, string>;
  directives: string[];
  properties: Record<string, Value>;
  attributes: Record<string, Value>;
  capabilities: Record<string, CompiledCapability>;
  requirements: CompiledRequirement[];
  interfaces: Record<string, CompiledInterface>;
  artifacts: Record<string, CompiledArtifact>;
  source: SourceLocation;
}

export interface CompiledGroup extends TypeRef {
  name: string;
  members: string[];
  properties: Record<string, Value>;
  source: SourceLocation;
}

export interface CompiledPolicy extends TypeRef {
  name: string;
  /** Node template or group names. */
  targets: string[];
  properties: Record<string, Value>;
  source: SourceLocation;
}

export interface CompiledInput {
  type: string;
  description?: string;
  required: boolean;
  value?: Value;
}

export interface CompiledService {
  /** Service name: the template file's name without `.yaml` (`services/web.yaml` → `web`). */
  name: string;
  /** Repository-relative path of the service template file. */
  file: string;
  /** `tosca_2_0` or `tosca_simple_yaml_1_3` etc., as written. */
  toscaVersion: string;
  description?: string;
  metadata: Record<string, string>;
  inputs: Record<string, CompiledInput>;
  outputs: Record<string, Value>;
  /** In declaration order. */
  nodes: Record<string, CompiledNode>;
  groups: Record<string, CompiledGroup>;
  policies: CompiledPolicy[];
  /** Kept as written (normalized to JSON); Kaidu does not run TOSCA workflows yet. */
  workflows: Record<string, Value>;
  substitution?: Record<string, Value>;
}

export interface CompileResult {
  /** Present whenever the template could be parsed far enough, even with errors. */
  service?: CompiledService;
  /** True when the file declares types only (no service_template / topology_template). */
  typesOnly: boolean;
  diagnostics: Diagnostic[];
}

/** A file as the compiler sees it. `id` identifies the content (a git blob id or a content hash). */
export interface SourceFile {
  path: string;
  text: string;
  id: string;
}

/**
 * How the compiler reads. Core modules do no I/O of their own: a working tree, a git tree at a
 * revision, or an in-memory map all implement this. Paths are POSIX and relative to the root.
 */
export interface SourceReader {
  readFile(path: string): Promise<SourceFile | undefined>;
  listDir(path: string): Promise<{ name: string; kind: 'file' | 'dir' }[]>;
  /** The content id of a file without reading it (cheap for git trees); optional. */
  fileId?(path: string): Promise<string | undefined>;
  /** Whether the path is a symbolic link or lies in a linked folder (artifacts never are); optional. */
  isSymlink?(path: string): Promise<boolean>;
  /** For Kaidu's own profiles: their readings made at build time, used when a file's text matches (optional). */
  prebuilt?: PrebuiltRecords;
}
