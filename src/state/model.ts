/** Instance state as agents record it in `state/<host>/<service>.yaml` (schema `kaidu/state/v1`). */

export const STATE_SCHEMA = 'kaidu/state/v1';

export type NodeStatus = 'pending' | 'creating' | 'running' | 'failed' | 'stopped' | 'deleting';

export const NODE_STATUSES: readonly NodeStatus[] = ['pending', 'creating', 'running', 'failed', 'stopped', 'deleting'];

/** Plain JSON: what state files can hold (no deferred function calls). */
export type PlainValue = null | boolean | number | string | PlainValue[] | { [key: string]: PlainValue };

export interface NodeState {
  /** Most-derived type name of the node, e.g. `kaidu:Process`. */
  type: string;
  /** Fingerprint of the resolved desired configuration that was applied. */
  fingerprint: string;
  status: NodeStatus;
  /** The resolved desired properties that were applied (so a plan can show old → new). */
  properties: Record<string, PlainValue>;
  /** Environment injected by `ConnectsTo` when it was applied. */
  env?: Record<string, string>;
  /** What the delegate discovered: pid, port, address, container id, ... */
  attributes: Record<string, PlainValue>;
  /** Git revision of the templates this node was last applied from. */
  revision: string;
  /** ISO-8601 time of the last apply of this node. */
  appliedAt: string;
  /** The last error, with the tail of stderr, when status is `failed`. */
  error?: string;
  /** The delegate that made it (`process`, `port`, ...), so a delete reaches the same one. */
  delegate?: string;
  /** Keys of nodes of the same service this node needed: deletes run in the reverse order. */
  dependsOn?: string[];
}

export interface ServiceState {
  schema: typeof STATE_SCHEMA;
  host: string;
  service: string;
  /** Revision of the last pass that wrote this file. */
  revision: string;
  updatedAt: string;
  /** Keyed by node template name, or `name#i` for spread instances. */
  nodes: Record<string, NodeState>;
}

/** All state the planner sees: host → service → state. */
export type StateSnapshot = Record<string, Record<string, ServiceState>>;
