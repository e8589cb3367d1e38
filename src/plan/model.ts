/**
 * A plan is a value: computed from (topology, state, host?), saved as JSON, rendered as text,
 * JSON or Markdown, and applied later. Renderers only read it.
 */
import type { Diagnostic } from '../tosca/diagnostic.js';
import type { NodeStatus, PlainValue } from '../state/model.js';
import type { Value } from '../tosca/model.js';

export const PLAN_SCHEMA = 'kaidu/plan/v1';

export type ActionKind = 'create' | 'update' | 'delete' | 'noop' | 'wait';

/** One property's change: `old` absent for an added property, `new` absent for a removed one. */
export interface PropertyChange {
  path: string;
  old?: PlainValue;
  new?: PlainValue;
}

export interface Action {
  kind: ActionKind;
  /** Instance id, `service/node` or `service/node#i`. */
  node: string;
  service: string;
  /** Key of the node in the service's state file (`node` or `node#i`). */
  key: string;
  host: string;
  type: string;
  types: string[];
  /** Why this action, in words a reviewer understands. */
  reason: string;
  changes: PropertyChange[];
  /** Instance ids this action must wait for (same host: earlier waves; other hosts: their state). */
  dependsOn: string[];
  /** For `wait`: the remote nodes (id @ host) not yet running. */
  waitingFor?: string[];
  /** Deletes, and updates that replace something (restart, recreate), are destructive. */
  destructive: boolean;
  /** The desired, resolved configuration (absent for delete): what apply hands the delegate. */
  desired?: DesiredConfig;
  /** Status recorded in state before this plan. */
  currentStatus?: NodeStatus;
}

export interface DesiredConfig {
  /** Fingerprint as far as known at plan time; apply recomputes it once every value is known. */
  fingerprint: string;
  /** Resolved properties; a value that needs a node applied earlier in this plan stays a call. */
  properties: Record<string, Value>;
  env: Record<string, string>;
}

/** Shown in place of a value that only exists once an earlier action of the plan has run. */
export const KNOWN_AFTER_APPLY = '(known after apply)';

export interface HostPlan {
  host: string;
  /** Actions grouped in waves: every action of wave i may start once waves < i are done. */
  waves: Action[][];
  summary: Record<ActionKind, number>;
}

export interface Plan {
  schema: typeof PLAN_SCHEMA;
  /** Revision of the templates and state planned from (a commit oid, or `working-tree`). */
  revision: string;
  /** For PR plans: the revision the diff is against. */
  baseRevision?: string;
  /** For PR plans: how much state was recorded at baseRevision (the state planned against). */
  baseState?: { hosts: number; nodes: number };
  /** Hosts planned, sorted by name. */
  hosts: HostPlan[];
  /** Compile diagnostics: a plan with errors has no actions for the affected services. */
  diagnostics: Diagnostic[];
  summary: Record<ActionKind, number>;
  /** Digest of the compiled templates and state planned from: a saved plan is stale when it differs. */
  sourceDigest?: string;
  /** Where each instance lands (instance id → host), for review. */
  placement: Record<string, string>;
}

export function emptySummary(): Record<ActionKind, number> {
  return { create: 0, update: 0, delete: 0, noop: 0, wait: 0 };
}

export function hasChanges(plan: Plan): boolean {
  const s = plan.summary;
  return s.create + s.update + s.delete + s.wait > 0;
}
