/**
 * A fleet of in-process "agents" for relay tests and the relay bench: each is a real fastify
 * server on 127.0.0.1 with the real webhook routes and a real EventRelay; what would start a pass
 * is recorded instead. The topology is compiled by the real compiler from generated templates.
 */
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { EventRelay, type CompiledFleetSource } from '../../src/agent/relay.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import type { RepoEvent } from '../../src/events/event.js';
import { buildRelayTree, type RelayTree } from '../../src/events/relay-tree.js';
import { buildWebhookApp } from '../../src/events/webhooks.js';
import { loadRepository } from '../../src/repository/load.js';
import { parseSettings } from '../../src/repository/settings.js';
import { memoryReader } from './memory-reader.js';

export const hostName = (i: number) => `h${String(i).padStart(4, '0')}`;

/** Templates with `n` hosts, one Directory on each, and `deps`: [dependent, dependency] host indexes. */
export function fleetTemplates(n: number, deps: [number, number][] = []): Record<string, string> {
  const lines = ['tosca_definitions_version: tosca_2_0', 'service_template:', '  node_templates:'];
  for (let i = 0; i < n; i++) lines.push(`    ${hostName(i)}:`, '      type: kaidu:Host');
  for (let i = 0; i < n; i++) {
    lines.push(`    d${i}:`, '      type: kaidu:Directory', '      properties:', `        path: /tmp/kaidu-relay-test/d${i}`, '      requirements:', `        - host: ${hostName(i)}`);
    for (const [from, to] of deps) if (from === i) lines.push(`        - dependency: d${to}`);
  }
  return { 'kaidu.yaml': 'branch: main\n', 'services/fleet.yaml': lines.join('\n') + '\n' };
}

export interface FleetMember {
  host: string;
  app: FastifyInstance;
  relay: EventRelay;
  metrics: AgentMetrics;
  /** What would have started a pass here. */
  events: RepoEvent[];
  url: string;
  port: number;
}

export interface RelayFleet {
  members: Map<string, FleetMember>;
  secret: string;
  /** The tree the relays use (built from the same hosts and roots). */
  tree: RelayTree;
  /** Resolves when `count` hosts have had at least one event (rejects after `timeoutMs`). */
  reached(count: number, timeoutMs?: number): Promise<void>;
  /** Every relay has sent, retried or given up every copy. */
  settle(): Promise<void>;
  stop(host: string): Promise<void>;
  restart(host: string): Promise<void>;
  close(): Promise<void>;
}

export interface RelayFleetOptions {
  n: number;
  roots?: string[];
  deps?: [number, number][];
  /** Extra EventRelay options (retries, clock). */
  relay?: { attempts?: number; retry?: { baseMs: number; maxMs: number }; concurrency?: number };
  fanout?: number;
}

export async function startRelayFleet(opts: RelayFleetOptions): Promise<RelayFleet> {
  const secret = `relay-secret-${Math.random().toString(36).slice(2)}`;
  const logger = pino({ level: process.env.KAIDU_TEST_LOG ?? 'silent' });
  const repo = await loadRepository(memoryReader(fleetTemplates(opts.n, opts.deps)), { profiles: profilesReader() });
  if (repo.diagnostics.some((d) => d.severity === 'error')) throw new Error(JSON.stringify(repo.diagnostics));
  const members = new Map<string, FleetMember>();
  let compiled: CompiledFleetSource | undefined;
  let waiters: (() => void)[] = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };

  const build = async (host: string, port: number): Promise<FleetMember> => {
    const metrics = new AgentMetrics(false);
    const events: RepoEvent[] = [];
    const relay = new EventRelay({
      self: host,
      secret,
      compiled: () => compiled,
      trigger: (e) => {
        events.push(e);
        wake();
      },
      logger: logger.child({ host }),
      metrics,
      ...opts.relay,
    });
    const app = await buildWebhookApp({
      branch: 'main',
      secrets: { generic: secret },
      onEvent: (e) => relay.fromSource(e),
      relay: { secret, accept: (m) => relay.fromRelay(m), refused: () => relay.refused() },
    });
    await app.listen({ host: '127.0.0.1', port });
    const address = app.server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    return { host, app, relay, metrics, events, url: `http://127.0.0.1:${bound}`, port: bound };
  };

  for (const host of Object.keys(repo.topology.hosts).sort()) members.set(host, await build(host, 0));
  const fleetYaml = [
    'branch: main',
    'fleet:',
    ...(opts.fanout ? [`  fanout: ${opts.fanout}`] : []),
    ...(opts.roots ? [`  roots: [${opts.roots.join(', ')}]`] : []),
    '  hosts:',
    ...[...members.values()].map((m) => `    ${m.host}: { url: "${m.url}" }`),
  ].join('\n');
  const { settings, diagnostics } = parseSettings(fleetYaml);
  if (diagnostics.length > 0) throw new Error(JSON.stringify(diagnostics));
  compiled = { revision: 'r1', topology: repo.topology, settings };

  return {
    members,
    secret,
    tree: buildRelayTree([...members.keys()], opts.roots ?? [], opts.fanout ? { fanout: opts.fanout } : {}),
    async reached(count, timeoutMs = 120_000) {
      const deadline = setTimeout(() => wake(), timeoutMs);
      const started = Date.now();
      try {
        while ([...members.values()].filter((m) => m.events.length > 0).length < count) {
          if (Date.now() - started > timeoutMs) throw new Error(`only ${[...members.values()].filter((m) => m.events.length > 0).length} of ${count} hosts reached`);
          await new Promise<void>((r) => waiters.push(r));
        }
      } finally {
        clearTimeout(deadline);
      }
    },
    async settle() {
      // One relay delivering makes another busy: done when, at one instant, none is.
      for (;;) {
        await Promise.all([...members.values()].map((m) => m.relay.idle()));
        if (![...members.values()].some((m) => m.relay.busy)) return;
      }
    },
    async stop(host) {
      await members.get(host)!.app.close();
    },
    async restart(host) {
      const old = members.get(host)!;
      old.relay.close();
      const fresh = await build(host, old.port);
      fresh.events.push(...old.events);
      members.set(host, fresh);
    },
    async close() {
      waiters = [];
      for (const m of members.values()) {
        m.relay.close();
        await m.app.close().catch(() => undefined);
      }
    },
  };
}
