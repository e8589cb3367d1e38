/**
 * The compiled graph every later step consumes: node instances placed on hosts, and the
 * relationships between them. Built from one or more `CompiledService`s by `buildTopology`.
 */
import type { Diagnostic } from '../tosca/diagnostic.js';
import type { CompiledNode, CompiledRelationship, CompiledService } from '../tosca/model.js';

/** How Kaidu treats a relationship when ordering and wiring work. */
export type EdgeKind = 'host' | 'depends' | 'connects' | 'attaches';

export interface NodeInstance {
  /** `service/node`, or `service/node#i` for the i-th instance of a `kaidu:Spread` node. */
  id: string;
  service: string;
  /** Node template name. */
  name: string;
  /** Instance index for spread nodes (0-based); absent otherwise. */
  index?: number;
  template: CompiledNode;
  /** The host this instance runs on; undefined when it could not be placed (see diagnostics). */
  host?: string;
  /** True for `kaidu:Host` nodes themselves: they describe a machine and are never applied. */
  isHost: boolean;
}

export interface TopologyEdge {
  /** Instance id of the node holding the requirement. */
  source: string;
  /** Instance id of the node the requirement resolved to. */
  target: string;
  requirement: string;
  kind: EdgeKind;
  relationship: CompiledRelationship;
}

export interface HostInfo {
  /** The machine's name as agents know it (`--host`): the Host's `name` property, else its template name. */
  name: string;
  /** Instance id of the `kaidu:Host` node. */
  node: string;
  labels: Record<string, string>;
  address?: string;
}

export interface Topology {
  services: Record<string, CompiledService>;
  hosts: Record<string, HostInfo>;
  /** Keyed by instance id, in a deterministic order (service, then declaration order). */
  nodes: Record<string, NodeInstance>;
  edges: TopologyEdge[];
  diagnostics: Diagnostic[];
}
