import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RepoEvent } from './event.js';
import { verifyGitea, verifyGithub, verifyToken } from './signature.js';

export interface WebhookOptions {
  branch: string;
  secrets: { github?: string; gitlab?: string; gitea?: string; generic?: string };
  onEvent: (e: RepoEvent) => void;
  /** Bytes; default 1 MiB. Larger bodies get 413. */
  bodyLimit?: number;
  logger?: Logger;
}

/** Recently seen delivery ids, oldest dropped first: a redelivered webhook starts no second pass. */
class DeliveryLog {
  private readonly seen = new Map<string, true>();
  constructor(private readonly capacity = 1000) {}
  /** True the first time an id is seen. */
  add(id: string | undefined): boolean {
    if (!id) return true;
    if (this.seen.has(id)) return false;
    this.seen.set(id, true);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }
}

type Provider = 'github' | 'gitlab' | 'gitea' | 'generic';

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The JSON payload: raw JSON, or GitHub's form encoding (`payload=<json>`). */
function parsePayload(req: FastifyRequest, raw: Buffer): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let text = raw.toString('utf8');
  if ((header(req, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) return { ok: false, error: 'form-encoded body without a "payload" field' };
    text = payload;
  }
  if (text.trim() === '') return { ok: false, error: 'empty body' };
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: 'the body must be a JSON object' };
    return { ok: true, value: value as Record<string, unknown> };
  } catch (err) {
    return { ok: false, error: `malformed JSON: ${(err as Error).message}` };
  }
}

const genericBodySchema = {
  type: 'object',
  properties: {
    ref: { type: 'string', minLength: 1 },
    after: { type: 'string', pattern: '^[0-9a-f]{4,64}$' },
  },
  additionalProperties: true,
} as const;

/**
 * Webhook routes as a fastify plugin. Signatures are checked over the raw body bytes before
 * anything is parsed; an unconfigured provider is refused (never accepted unsigned).
 */
export async function webhookRoutes(app: FastifyInstance, opts: WebhookOptions): Promise<void> {
  const deliveries = new DeliveryLog();
  const limit = opts.bodyLimit ?? 1024 * 1024;
  const branchRef = `refs/heads/${opts.branch}`;

  // Keep the raw bytes: an HMAC over re-serialized JSON would not match the sender's.
  for (const type of ['application/json', 'application/x-www-form-urlencoded', 'text/plain']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: limit }, (_req, body, done) => done(null, body));
  }

  const accept = (provider: Provider, reply: FastifyReply, payload: Record<string, unknown>, deliveryId: string | undefined) => {
    const ref = typeof payload.ref === 'string' ? payload.ref : provider === 'generic' ? branchRef : undefined;
    if (!ref) return reply.code(400).send({ error: 'the payload has no "ref"' });
    const normalized = ref.startsWith('refs/') ? ref : `refs/heads/${ref}`;
    if (normalized !== branchRef) return reply.code(202).send({ accepted: false, reason: `ref ${ref} is not ${branchRef}` });
    const after = typeof payload.after === 'string' ? payload.after : undefined;
    if (!deliveries.add(deliveryId ? `${provider}:${deliveryId}` : undefined)) return reply.code(200).send({ duplicate: true });
    opts.onEvent({ source: provider, ref: normalized, ...(after ? { after } : {}), ...(deliveryId ? { deliveryId } : {}), receivedAt: new Date().toISOString() });
    opts.logger?.info({ provider, after, deliveryId }, 'webhook accepted');
    return reply.code(202).send({ accepted: true, ...(after ? { after } : {}) });
  };

  const refuseUnconfigured = (provider: Provider, reply: FastifyReply) =>
    reply.code(404).send({ error: `${provider} webhooks are not configured on this agent (no secret)` });
  const raw = (req: FastifyRequest): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

  app.post('/hooks/github', { bodyLimit: limit }, async (req, reply) => {
    const secret = opts.secrets.github;
    if (!secret) return refuseUnconfigured('github', reply);
    const body = raw(req);
    if (!verifyGithub(body, secret, header(req, 'x-hub-signature-256'))) return reply.code(401).send({ error: 'missing or wrong X-Hub-Signature-256' });
    const event = header(req, 'x-github-event');
    if (event === 'ping') return reply.code(200).send({ ok: true, pong: true });
    if (event !== 'push') return reply.code(202).send({ accepted: false, reason: `event ${event ?? '(none)'} is ignored` });
    const parsed = parsePayload(req, body);
    if (!parsed.ok) return reply.code(400).send({ error: parsed.error });
    return accept('github', reply, parsed.value, header(req, 'x-github-delivery'));
  });

  app.post('/hooks/gitlab', { bodyLimit: limit }, async (req, reply) => {
    const secret = opts.secrets.gitlab;
    if (!secret) return refuseUnconfigured('gitlab', reply);
    if (!verifyToken(header(req, 'x-gitlab-token'), secret)) return reply.code(401).send({ error: 'missing or wrong X-Gitlab-Token' });
    const event = header(req, 'x-gitlab-event');
    if (event !== 'Push Hook') return reply.code(202).send({ accepted: false, reason: `event ${event ?? '(none)'} is ignored` });
    const parsed = parsePayload(req, raw(req));
    if (!parsed.ok) return reply.code(400).send({ error: parsed.error });
    return accept('gitlab', reply, parsed.value, header(req, 'x-gitlab-event-uuid'));
  });

  app.post('/hooks/gitea', { bodyLimit: limit }, async (req, reply) => {
    const secret = opts.secrets.gitea;
    if (!secret) return refuseUnconfigured('gitea', reply);
    const body = raw(req);
    if (!verifyGitea(body, secret, header(req, 'x-gitea-signature'))) return reply.code(401).send({ error: 'missing or wrong X-Gitea-Signature' });
    const event = header(req, 'x-gitea-event');
    if (event !== 'push') return reply.code(202).send({ accepted: false, reason: `event ${event ?? '(none)'} is ignored` });
    const parsed = parsePayload(req, body);
    if (!parsed.ok) return reply.code(400).send({ error: parsed.error });
    return accept('gitea', reply, parsed.value, header(req, 'x-gitea-delivery'));
  });

  app.post('/hooks/generic', { bodyLimit: limit }, async (req, reply) => {
    const secret = opts.secrets.generic;
    if (!secret) return refuseUnconfigured('generic', reply);
    const auth = header(req, 'authorization') ?? '';
    if (!auth.startsWith('Bearer ') || !verifyToken(auth.slice(7), secret)) return reply.code(401).send({ error: 'missing or wrong bearer token' });
    const body = raw(req);
    const parsed = body.length === 0 ? { ok: true as const, value: {} } : parsePayload(req, body);
    if (!parsed.ok) return reply.code(400).send({ error: parsed.error });
    const problems = validateGeneric(parsed.value);
    if (problems) return reply.code(400).send({ error: problems });
    return accept('generic', reply, parsed.value, header(req, 'x-request-id'));
  });
}
// fastify's plugin encapsulation would hide the content-type parsers from the parent: that is wanted.

/** The generic body's shape (kept beside the schema it documents). */
function validateGeneric(body: Record<string, unknown>): string | undefined {
  const props = genericBodySchema.properties;
  if (body.ref !== undefined && (typeof body.ref !== 'string' || body.ref.length < props.ref.minLength)) return 'body.ref must be a non-empty string';
  if (body.after !== undefined && (typeof body.after !== 'string' || !new RegExp(props.after.pattern).test(body.after))) return 'body.after must be a commit id (hex)';
  return undefined;
}

/** A fastify instance with only the webhook routes (tests, or an agent without other routes). */
export async function buildWebhookApp(opts: WebhookOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(webhookRoutes, opts);
  return app;
}
