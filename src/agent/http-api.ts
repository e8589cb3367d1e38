import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { verifyToken, webhookRoutes } from '../events/index.js';
import { hostOfStateBranch } from '../git/state-refs.js';
import type { Agent } from './agent.js';
import { EventRelay } from './relay.js';
import { AgentFleetView } from '../ui/agent-view.js';
import { ApiToken, requireApiToken } from '../ui/api-token.js';
import { registerUiRoutes } from '../ui/routes.js';

export interface HttpApiOptions {
  agent: Agent;
  branch: string;
  logger: Logger;
  secrets: { github?: string; gitlab?: string; gitea?: string; generic?: string };
  /** Bearer token for `POST /sync`; without one the route is refused. */
  syncToken?: string;
  /** Bearer token for `/status`, `/metrics` and the fleet page; without one they are open. */
  apiToken?: string;
}

/** The agent's HTTP surface: health, readiness, status, metrics, manual sync, and the webhooks. */
export async function buildHttpApi(opts: HttpApiOptions): Promise<FastifyInstance> {
  // Request lines only at debug level: webhooks can be frequent.
  const app = Fastify({ loggerInstance: opts.logger.child({ component: 'http' }, { level: opts.logger.level === 'debug' || opts.logger.level === 'trace' ? opts.logger.level : 'warn' }) as FastifyBaseLogger, bodyLimit: 1024 * 1024 }) as unknown as FastifyInstance;
  const { agent } = opts;

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async (_req, reply) => {
    const s = agent.status();
    if (!s.ready) return reply.code(503).send({ ready: false, reason: s.lastPass ? `the last pass failed: ${s.lastPass.error ?? s.lastPass.result}` : 'catch-up pass not finished' });
    return { ready: true, hubReachable: s.hubReachable };
  });

  const apiToken = opts.apiToken ? new ApiToken(opts.apiToken) : undefined;
  app.get('/status', { onRequest: requireApiToken(apiToken) }, async () => agent.status());

  app.get('/metrics', { onRequest: requireApiToken(apiToken) }, async (_req, reply) => {
    reply.header('content-type', agent.metrics.registry.contentType);
    return agent.metrics.registry.metrics();
  });

  app.post('/sync', async (req, reply) => {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!opts.syncToken) return reply.code(403).send({ error: 'POST /sync is disabled: start the agent with a sync token (--token-file)' });
    if (!given || !verifyToken(given, opts.syncToken)) return reply.code(401).send({ error: 'missing or wrong bearer token' });
    agent.trigger({ source: 'sync', receivedAt: new Date().toISOString() });
    return reply.code(202).send({ accepted: true });
  });

  const fleet = new AgentFleetView(agent);
  registerUiRoutes(app, { view: fleet, ...(apiToken ? { token: apiToken } : {}) });
  app.addHook('onClose', () => fleet.close());

  // Every webhook goes through the relay: it wakes only the hosts a state push concerns, and passes events on along the fleet's tree.
  const relaySecret = opts.secrets.generic ?? opts.secrets.github;
  const relay = new EventRelay({ self: agent.status().host, ...(relaySecret ? { secret: relaySecret } : {}), compiled: () => agent.latestCompile(), trigger: (e) => agent.trigger(e), logger: opts.logger, metrics: agent.metrics });
  const unsubscribe = agent.onPassEnd(() => relay.compiledChanged());
  app.addHook('onClose', async () => {
    unsubscribe();
    relay.close();
  });
  await app.register(webhookRoutes, {
    branch: opts.branch,
    // Another host's state commit may be what this one waits for (the pass reads only the branches it needs).
    alsoRefs: (ref) => hostOfStateBranch(ref) !== undefined,
    secrets: opts.secrets,
    onEvent: (e) => relay.fromSource(e),
    logger: opts.logger,
    relay: { ...(relaySecret ? { secret: relaySecret } : {}), accept: (m) => relay.fromRelay(m), refused: () => relay.refused() },
  });
  return app;
}
