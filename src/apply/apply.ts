import type { Logger } from 'pino';
import { KaiduError, isKaiduError } from '../errors/kaidu-error.js';
import type { CommandRunner, Delegate, DelegateContext, DesiredNode, ExitEvent } from '../delegates/types.js';
import { servedPorts } from './served-ports.js';
import { hostedOnOf } from './hosted-on.js';
import type { Action, Plan } from '../plan/model.js';
import { desiredFingerprint, needsOf } from '../plan/plan.js';
import { hasUnknown, nodeStateOf, resolveNode, stateKey } from '../plan/resolve.js';
import { edgesFrom } from '../topology/build.js';
import { STATE_SCHEMA, type NodeState, type PlainValue, type ServiceState, type StateSnapshot } from '../state/model.js';
import type { NodeInstance, Topology } from '../topology/model.js';
import type { ProgressEvent } from './progress.js';

/** How apply finds the delegate for a node (the registry in delegates/ implements it). */
export interface DelegateSelector {
  select(node: { types: readonly string[]; interfaces?: DesiredNode['interfaces'] }): Delegate | undefined;
  byName(name: string): Delegate | undefined;
}

export interface ApplyOptions {
  plan: Plan;
  host: string;
  topology: Topology;
  /** State of every host at the planned revision: other hosts' attributes resolve values here. */
  snapshot: StateSnapshot;
  revision: string;
  delegates: DelegateSelector;
  runner: CommandRunner;
  dataDir: string;
  /** Folders besides the data dir that no node may write into or delete (the hub's git directory). */
  protectedPaths?: readonly string[];
  readRepoFile(path: string): Promise<Buffer | undefined>;
  logger: Logger;
  fileIds?: Record<string, string>;
  /** Aborting stops new actions; running ones finish (SIGTERM: finish the current action). */
  signal?: AbortSignal;
  /** At most this many actions of a wave at once. */
  concurrency?: number;
  actionTimeoutMs?: number;
  onProgress?: (e: ProgressEvent) => void;
  /** Called with this host's whole state after every action, so a crash loses nothing. */
  persist?: (states: Record<string, ServiceState>) => Promise<void>;
  onExit?: (e: ExitEvent) => void;
  now?: () => Date;
}

export type ActionOutcome = 'done' | 'failed' | 'skipped' | 'unchanged' | 'waiting' | 'cancelled';

export interface ActionResult {
  node: string;
  kind: Action['kind'];
  outcome: ActionOutcome;
  error?: string;
}

export interface ApplyResult {
  /** The host's new state, per service; a service with no nodes left maps to null (remove its file). */
  states: Record<string, ServiceState | null>;
  results: ActionResult[];
  ok: boolean;
  cancelled: boolean;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/** Last lines of a long error (stderr tails are already in delegate errors). */
function errorText(err: unknown): string {
  const msg = isKaiduError(err) ? err.message : err instanceof Error ? err.message : String(err);
  const lines = msg.split('\n');
  return lines.length > 25 ? [lines[0], '…', ...lines.slice(-20)].join('\n') : msg;
}

/**
 * Runs one host's share of a plan through the delegates, wave by wave. Independent branches go on
 * when an action fails; what depends on a failed action is skipped. The result is the host's new
 * state: written by the caller, atomically, in one commit.
 */
export async function applyPlan(opts: ApplyOptions): Promise<ApplyResult> {
  const now = opts.now ?? (() => new Date());
  const hostPlan = opts.plan.hosts.find((h) => h.host === opts.host);
  if (!hostPlan) throw new KaiduError('E_PLAN_INVALID', `the plan has nothing for host "${opts.host}"`, { hint: `it covers: ${opts.plan.hosts.map((h) => h.host).join(', ') || 'no host'}` });

  // Working copy of the snapshot: this host's part changes as actions finish, so later waves
  // resolve the attributes earlier waves discovered.
  const snapshot: StateSnapshot = structuredClone(opts.snapshot);
  const mine = (snapshot[opts.host] ??= {});
  const serviceState = (service: string): ServiceState =>
    (mine[service] ??= { schema: STATE_SCHEMA, host: opts.host, service, revision: opts.revision, updatedAt: now().toISOString(), nodes: {} });

  const results: ActionResult[] = [];
  const failed = new Set<string>();
  const total = hostPlan.waves.flat().filter((a) => a.kind !== 'noop' && a.kind !== 'wait').length;
  let done = 0;
  let cancelled = false;
  // Checkpoints are chained so that concurrent actions never write an older state over a newer one.
  let chain: Promise<void> = Promise.resolve();
  const persist = () => {
    const copy = Object.fromEntries(Object.entries(mine).map(([k, v]) => [k, structuredClone(v)]));
    chain = chain.then(() => opts.persist?.(copy)).catch((err: unknown) => opts.logger.error({ err: errorText(err) }, 'cannot save the apply journal'));
    return chain;
  };

  for (const wave of hostPlan.waves) {
    const queue = [...wave];
    const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, queue.length)) }, async () => {
      for (let action = queue.shift(); action; action = queue.shift()) {
        if (action.kind === 'noop') {
          results.push({ node: action.node, kind: action.kind, outcome: 'unchanged' });
          continue;
        }
        if (action.kind === 'wait') {
          results.push({ node: action.node, kind: action.kind, outcome: 'waiting' });
          const svc = serviceState(action.service);
          svc.nodes[action.key] ??= { type: action.type, fingerprint: '', status: 'pending', properties: {}, attributes: {}, revision: opts.revision, appliedAt: now().toISOString(), error: action.reason };
          continue;
        }
        if (opts.signal?.aborted) {
          cancelled = true;
          results.push({ node: action.node, kind: action.kind, outcome: 'cancelled' });
          continue;
        }
        const blocker = action.dependsOn.find((d) => failed.has(d));
        if (blocker) {
          failed.add(action.node);
          const reason = `${blocker}, which it needs, failed`;
          results.push({ node: action.node, kind: action.kind, outcome: 'skipped', error: reason });
          opts.onProgress?.({ type: 'skipped', action, done: ++done, total, reason });
          const svc = serviceState(action.service);
          const prev = svc.nodes[action.key];
          if (prev) prev.error = `skipped: ${reason}`;
          else if (action.kind === 'create') svc.nodes[action.key] = { type: action.type, fingerprint: '', status: 'pending', properties: {}, attributes: {}, revision: opts.revision, appliedAt: now().toISOString(), error: `skipped: ${reason}` };
          continue;
        }
        opts.onProgress?.({ type: 'start', action, done, total });
        const started = Date.now();
        try {
          await runAction(action, opts, snapshot, serviceState, now, persist);
          results.push({ node: action.node, kind: action.kind, outcome: 'done' });
          opts.onProgress?.({ type: 'done', action, done: ++done, total, durationMs: Date.now() - started });
        } catch (err) {
          failed.add(action.node);
          const message = errorText(err);
          results.push({ node: action.node, kind: action.kind, outcome: 'failed', error: message });
          opts.onProgress?.({ type: 'failed', action, done: ++done, total, durationMs: Date.now() - started, error: message.split('\n')[0]! });
          opts.logger.error({ node: action.node, kind: action.kind, err: message }, 'action failed');
          const svc = serviceState(action.service);
          const prev = svc.nodes[action.key];
          svc.nodes[action.key] = {
            ...(prev ?? { type: action.type, fingerprint: '', properties: {}, attributes: {} }),
            status: 'failed',
            error: message,
            revision: opts.revision,
            appliedAt: now().toISOString(),
          } as NodeState;
        }
        await persist();
      }
    });
    await Promise.all(workers);
  }

  const states: Record<string, ServiceState | null> = {};
  for (const [service, st] of Object.entries(mine)) {
    st.revision = opts.revision;
    st.updatedAt = now().toISOString();
    states[service] = Object.keys(st.nodes).length > 0 ? st : null;
  }
  return { states, results, ok: results.every((r) => r.outcome !== 'failed' && r.outcome !== 'skipped' && r.outcome !== 'cancelled'), cancelled };
}

async function runAction(
  action: Action,
  opts: ApplyOptions,
  snapshot: StateSnapshot,
  serviceState: (service: string) => ServiceState,
  now: () => Date,
  persist: () => Promise<void>,
): Promise<void> {
  const svc = serviceState(action.service);
  const previous = svc.nodes[action.key];
  const controller = new AbortController();
  const timeoutMs = opts.actionTimeoutMs ?? DEFAULT_TIMEOUT_MS;

  if (action.kind === 'delete') {
    const delegate = (previous?.delegate && opts.delegates.byName(previous.delegate)) || opts.delegates.select({ types: action.types });
    if (previous) {
      svc.nodes[action.key] = { ...previous, status: 'deleting' };
      await persist();
    }
    if (delegate) {
      const node = deletedNode(action, previous);
      await withTimeout(delegate.delete(context(opts, node, previous, controller.signal, snapshot)), timeoutMs, controller, action);
    }
    delete svc.nodes[action.key];
    return;
  }

  const instance = opts.topology.nodes[action.node];
  if (!instance) throw new KaiduError('E_PLAN_STALE', `node ${action.node} is in the plan but not in the templates`);
  // Resolve again: earlier waves may have discovered what this node reads.
  const resolved = resolveNode(instance, opts.topology, snapshot);
  const unknown = Object.entries(resolved.display).filter(([, v]) => hasUnknown(v));
  const unknownEnv = Object.entries(resolved.env).filter(([, v]) => hasUnknown(v));
  if (unknown.length > 0 || unknownEnv.length > 0) {
    throw new KaiduError('E_DELEGATE', `values still unknown: ${[...unknown, ...unknownEnv].map(([k]) => k).join(', ')} (needs ${resolved.unknown.join(', ') || 'a node that is not running'})`);
  }
  const fp = desiredFingerprint(instance, resolved, opts.fileIds);
  // A container joins the pod its `pod` requirement names (the pod was created in an earlier wave).
  if (instance.template.types.includes('kaidu:Container')) {
    const podEdge = edgesFrom(opts.topology, instance.id).find((e) => e.requirement === 'pod');
    const pod = podEdge ? opts.topology.nodes[podEdge.target] : undefined;
    const podName = pod ? nodeStateOf(snapshot, pod)?.attributes.pod_name : undefined;
    if (typeof podName === 'string') resolved.display = { ...resolved.display, pod: podName };
  }
  const node: DesiredNode = {
    id: instance.id,
    service: instance.service,
    key: stateKey(instance),
    name: instance.name,
    host: opts.host,
    type: instance.template.type,
    types: instance.template.types,
    properties: resolved.display,
    env: resolved.env,
    interfaces: instance.template.interfaces,
    artifacts: instance.template.artifacts,
    fingerprint: fp,
  };
  const ports = servedPorts(instance, opts.topology, snapshot);
  if (ports.length) node.ports = ports;
  const hostedOn = hostedOnOf(instance, opts.topology, snapshot);
  if (hostedOn) node.hostedOn = hostedOn;
  const delegate = opts.delegates.select({ types: node.types, interfaces: node.interfaces });
  if (!delegate) throw new KaiduError('E_DELEGATE_UNKNOWN', `no delegate can apply ${node.type}`, { hint: 'use a kaidu: type, add Standard interface scripts, or a plugin in kaidu.yaml' });
  svc.nodes[action.key] = {
    ...(previous ?? { attributes: {} }),
    type: node.type,
    fingerprint: previous?.fingerprint ?? '',
    status: 'creating',
    properties: previous?.properties ?? {},
    revision: previous?.revision ?? opts.revision,
    appliedAt: previous?.appliedAt ?? now().toISOString(),
    delegate: delegate.name,
  } as NodeState;
  await persist();
  const ctx = context(opts, node, previous, controller.signal, snapshot);
  // An interrupted create is finished by create (which adopts what it finds), not by a restart.
  const useUpdate = action.kind === 'update' && previous && previous.status !== 'pending' && previous.status !== 'creating';
  const result = await withTimeout(useUpdate ? delegate.update(ctx) : delegate.create(ctx), timeoutMs, controller, action);
  const dependsOn = needsOf(instance, opts.topology, resolved)
    .map((id) => opts.topology.nodes[id])
    .filter((n): n is NodeInstance => !!n && n.service === instance.service && n.host === opts.host)
    .map((n) => stateKey(n));
  const state: NodeState = {
    type: node.type,
    fingerprint: fp,
    status: result.status ?? 'running',
    properties: resolved.display,
    attributes: result.attributes as Record<string, PlainValue>,
    revision: opts.revision,
    appliedAt: now().toISOString(),
    delegate: delegate.name,
    ...(Object.keys(resolved.env).length ? { env: resolved.env } : {}),
    ...(dependsOn.length ? { dependsOn } : {}),
  };
  svc.nodes[action.key] = state;
}

function deletedNode(action: Action, previous: NodeState | undefined): DesiredNode {
  const [service, rest] = [action.service, action.key];
  return {
    id: action.node,
    service,
    key: rest,
    name: rest.replace(/#\d+$/, ''),
    host: action.host,
    type: action.type,
    types: action.types,
    properties: previous?.properties ?? {},
    env: previous?.env ?? {},
    interfaces: {},
    artifacts: {},
    fingerprint: previous?.fingerprint ?? '',
  };
}

function context(opts: ApplyOptions, node: DesiredNode, previous: NodeState | undefined, signal: AbortSignal, snapshot: StateSnapshot): DelegateContext {
  const reserved = new Set<number>();
  for (const svc of Object.values(snapshot[opts.host] ?? {})) {
    for (const [key, n] of Object.entries(svc.nodes)) {
      if (svc.service === node.service && key === node.key) continue;
      const port = n.attributes.port;
      if (typeof port === 'number') reserved.add(port);
    }
  }
  return {
    node,
    ...(previous ? { previous } : {}),
    host: opts.host,
    dataDir: opts.dataDir,
    ...(opts.protectedPaths ? { protectedPaths: opts.protectedPaths } : {}),
    readRepoFile: opts.readRepoFile,
    reservedPorts: reserved,
    runner: opts.runner,
    signal,
    logger: opts.logger.child({ node: node.id }),
    ...(opts.onExit ? { onExit: opts.onExit } : {}),
  };
}

async function withTimeout<T>(work: Promise<T>, ms: number, controller: AbortController, action: Action): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new KaiduError('E_DELEGATE_TIMEOUT', `${action.kind} of ${action.node} did not finish within ${Math.round(ms / 1000)}s`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

