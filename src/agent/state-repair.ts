/**
 * A damaged state file of the agent's own host (hand-edited, truncated, merged badly) would
 * freeze its service: the planner leaves a service alone while its file cannot be read. The agent
 * is the only writer of its own files and can look at what actually runs, so it rebuilds the file
 * from observation instead: every node is inspected through its delegate.
 */
import type { Logger } from 'pino';
import type { DelegateSelector } from '../apply/index.js';
import type { CommandRunner, DelegateContext, DesiredNode, ExitEvent } from '../delegates/types.js';
import { desiredFingerprint } from '../plan/plan.js';
import { resolveNode, stateKey } from '../plan/resolve.js';
import { STATE_SCHEMA, type NodeState, type ServiceState, type StateSnapshot } from '../state/model.js';
import type { Diagnostic } from '../tosca/diagnostic.js';
import { nodesOnHost } from '../topology/lookup.js';
import type { Topology } from '../topology/model.js';

/** One damaged file the agent rebuilt: reported in `/status`, metrics, the log and the commit. */
export interface StateRepair {
  file: string;
  service: string;
  /** The first problem found in the file, `file:line:column CODE: message`. */
  error: string;
  at: string;
  /** Nodes recorded in the rebuilt file. */
  nodes: number;
}

export interface RepairOptions {
  host: string;
  service: string;
  revision: string;
  topology: Topology;
  snapshot: StateSnapshot;
  /** What this agent last knew of the service (in memory), when it knew anything. */
  known?: ServiceState;
  delegates: DelegateSelector;
  runner: CommandRunner;
  dataDir: string;
  logger: Logger;
  signal: AbortSignal;
  onExit?: (e: ExitEvent) => void;
  now?: () => Date;
}

/** `file:line:column CODE: message` of the first error about `file`. */
export function describeDamage(file: string, diagnostics: readonly Diagnostic[]): string {
  const d = diagnostics.find((x) => x.file === file && x.severity === 'error');
  return d ? `${d.file}:${d.line}:${d.column} ${d.code}: ${d.message}` : `${file}: unreadable`;
}

/** A node as a delegate sees it when only its state record is known (a node no longer in the templates). */
function fromRecord(host: string, service: string, key: string, n: NodeState): DesiredNode {
  return { id: `${service}/${key}`, service, key, name: key.replace(/#\d+$/, ''), host, type: n.type, types: [n.type], properties: n.properties, env: n.env ?? {}, interfaces: {}, artifacts: {}, fingerprint: n.fingerprint };
}

/**
 * The service's state as observed now. A node the agent knew keeps what it applied (fingerprint,
 * properties) with its status and attributes as inspected. A node it did not know is recorded only
 * when its delegate finds it, with no fingerprint (what runs was not proven to match the templates,
 * so the next plan updates it); a node the delegate does not find is left out (the plan creates it).
 * A node that cannot be inspected is recorded as failed with the reason, never as absent.
 */
export async function rebuildServiceState(o: RepairOptions): Promise<ServiceState> {
  const now = o.now ?? (() => new Date());
  const nodes: Record<string, NodeState> = {};
  const ctxFor = (node: DesiredNode, previous: NodeState | undefined): DelegateContext => ({
    node,
    ...(previous ? { previous } : {}),
    host: o.host,
    dataDir: o.dataDir,
    readRepoFile: async () => undefined,
    reservedPorts: new Set(),
    runner: o.runner,
    signal: o.signal,
    logger: o.logger.child({ node: node.id }),
    ...(o.onExit ? { onExit: o.onExit } : {}),
  });
  const targets: { key: string; node: DesiredNode; previous?: NodeState; delegateName?: string }[] = [];
  const desiredKeys = new Set<string>();
  for (const inst of nodesOnHost(o.topology, o.host)) {
    if (inst.service !== o.service) continue;
    const key = stateKey(inst);
    desiredKeys.add(key);
    const resolved = resolveNode(inst, o.topology, o.snapshot);
    const node: DesiredNode = {
      id: inst.id,
      service: inst.service,
      key,
      name: inst.name,
      host: o.host,
      type: inst.template.type,
      types: inst.template.types,
      properties: resolved.display,
      env: resolved.env,
      interfaces: inst.template.interfaces,
      artifacts: inst.template.artifacts,
      fingerprint: desiredFingerprint(inst, resolved),
    };
    const previous = o.known?.nodes[key];
    const selected = o.delegates.select({ types: node.types, interfaces: node.interfaces });
    targets.push({ key, node, ...(previous ? { previous } : {}), ...(selected ? { delegateName: selected.name } : {}) });
  }
  // Nodes the agent knew that the templates no longer name: kept, so the plan deletes them.
  for (const [key, previous] of Object.entries(o.known?.nodes ?? {})) {
    if (!desiredKeys.has(key)) targets.push({ key, node: fromRecord(o.host, o.service, key, previous), previous, ...(previous.delegate ? { delegateName: previous.delegate } : {}) });
  }

  for (const t of targets) {
    const name = t.previous?.delegate ?? t.delegateName;
    const delegate = name ? o.delegates.byName(name) : undefined;
    if (!delegate) {
      if (t.previous) nodes[t.key] = t.previous;
      continue;
    }
    const base = { type: t.node.type, revision: t.previous?.revision ?? o.revision, appliedAt: t.previous?.appliedAt ?? now().toISOString(), delegate: delegate.name };
    try {
      const seen = await delegate.inspect(ctxFor(t.node, t.previous));
      if (t.previous) {
        const { error: _error, ...rest } = t.previous;
        nodes[t.key] = { ...rest, status: seen.exists ? seen.status : 'stopped', attributes: { ...t.previous.attributes, ...seen.attributes }, ...(seen.exists || !t.previous.error ? {} : { error: t.previous.error }) };
      } else if (seen.exists) {
        nodes[t.key] = { ...base, fingerprint: '', status: seen.status, properties: {}, attributes: seen.attributes };
      }
    } catch (err) {
      const message = `could not be inspected while rebuilding its damaged state file: ${(err as Error).message}`;
      nodes[t.key] = { ...(t.previous ?? { ...base, fingerprint: '', properties: {}, attributes: {} }), status: 'failed', error: message };
    }
  }
  return { schema: STATE_SCHEMA, host: o.host, service: o.service, revision: o.revision, updatedAt: now().toISOString(), nodes };
}

/**
 * Every damaged file of this host rebuilt: the new states (null: nothing found or known, the file
 * is removed as apply removes an emptied service) and one report per file.
 */
export async function repairDamagedServices(
  o: Omit<RepairOptions, 'service' | 'known'> & { services: readonly string[]; fileOf: (service: string) => string; diagnostics: readonly Diagnostic[]; known: Readonly<Record<string, ServiceState>> },
): Promise<{ rebuilt: Record<string, ServiceState | null>; repairs: StateRepair[] }> {
  const now = o.now ?? (() => new Date());
  const rebuilt: Record<string, ServiceState | null> = {};
  const repairs: StateRepair[] = [];
  const { services, fileOf, diagnostics, known: knownStates, ...common } = o;
  for (const service of services) {
    const file = fileOf(service);
    const known = knownStates[service];
    const st = await rebuildServiceState({ ...common, service, ...(known ? { known } : {}) });
    const nodes = Object.keys(st.nodes).length;
    rebuilt[service] = nodes > 0 ? st : null;
    repairs.push({ file, service, error: describeDamage(file, diagnostics), at: now().toISOString(), nodes });
  }
  return { rebuilt, repairs };
}
