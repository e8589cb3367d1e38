/**
 * The contract between apply and the things that make nodes real on a host. One delegate per
 * workload kind, chosen by the node's most-derived type that has a delegate.
 */
import type { Logger } from 'pino';
import type { CompiledArtifact, CompiledInterface } from '../tosca/model.js';
import type { NodeState, NodeStatus, PlainValue } from '../state/model.js';
import type { ServedPort } from './readiness.js';

/** A node as apply hands it to a delegate: every value resolved, nothing deferred. */
export interface DesiredNode {
  /** Instance id, `service/node` or `service/node#i`. */
  id: string;
  service: string;
  /** Key in the service's state file: node name, or `name#i`. */
  key: string;
  name: string;
  host: string;
  type: string;
  types: string[];
  properties: Record<string, PlainValue>;
  /** Environment injected by `kaidu:ConnectsTo` relationships (e.g. `DB_HOST`, `DB_PORT`). */
  env: Record<string, string>;
  interfaces: Record<string, CompiledInterface>;
  artifacts: Record<string, CompiledArtifact>;
  fingerprint: string;
  /** Ports this node serves (see `servedPorts` in readiness.ts): it is ready when they accept connections. */
  ports?: ServedPort[];
  /** The workload this node runs inside (its `host` requirement names a Container, ...); absent on the machine itself. */
  hostedOn?: HostedOn;
}

/** A hosting node as its nested nodes see it: its type and what its state recorded. */
export interface HostedOn {
  /** Instance id of the hosting node. */
  node: string;
  type: string;
  types: string[];
  properties: Record<string, PlainValue>;
  attributes: Record<string, PlainValue>;
}

export interface CommandSpec {
  /** argv only: never a shell string built from user values. */
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Default: the runner's default (60 s). */
  timeoutMs?: number;
  input?: string;
  signal?: AbortSignal;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface CommandRunner {
  /** Runs the command; resolves with its result whatever the exit code (callers decide). */
  run(spec: CommandSpec): Promise<CommandResult>;
}

/** What the delegate reports after create/update; written into the node's state. */
export interface DelegateResult {
  attributes: Record<string, PlainValue>;
  /** Default `running`. */
  status?: NodeStatus;
}

export interface InspectResult {
  /** False when the thing is gone (process dead, container removed). */
  exists: boolean;
  status: NodeStatus;
  attributes: Record<string, PlainValue>;
}

/** Reported when something a delegate manages stops on its own (a process exits). */
export interface ExitEvent {
  nodeId: string;
  exitCode: number | null;
  signal: string | null;
  at: string;
}

export interface DelegateContext {
  node: DesiredNode;
  /** The node's state before this action, if any. */
  previous?: NodeState;
  host: string;
  /** The agent's data directory: logs go under `<dataDir>/logs`, runtime files under `<dataDir>/run`. */
  dataDir: string;
  /** Besides the data dir, folders no node may write into or delete (the hub's git directory). */
  protectedPaths?: readonly string[];
  /** Reads a repository file at the revision being applied (artifacts, config templates, scripts). */
  readRepoFile(path: string): Promise<Buffer | undefined>;
  /** Ports already held by other nodes on this host (from state), so none is handed out twice. */
  reservedPorts: ReadonlySet<number>;
  runner: CommandRunner;
  signal: AbortSignal;
  logger: Logger;
  /** Called when a managed thing stops by itself; the agent turns it into an event. */
  onExit?: (event: ExitEvent) => void;
}

export interface Delegate {
  /** Short name, e.g. `process`, `port`, `container`. */
  readonly name: string;
  /** Canonical type names this delegate handles (the most-derived match wins). */
  readonly handles: readonly string[];
  create(ctx: DelegateContext): Promise<DelegateResult>;
  update(ctx: DelegateContext): Promise<DelegateResult>;
  delete(ctx: DelegateContext): Promise<void>;
  /** Looks at the real thing (re-adoption, status). Must not change anything. */
  inspect(ctx: DelegateContext): Promise<InspectResult>;
}
