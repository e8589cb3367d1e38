import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { KaiduErrorCode } from '../errors/kaidu-error.js';
import type { EventLogger, RepoEvent } from './event.js';
import { checkRelay, DEFAULT_RELAY_MAX_AGE_MS, type RelayEnvelope } from './relay-message.js';
import { verifyGitea, verifyGithub, verifyToken } from './signature.js';
import { stateHostOfRef } from './state-ref.js';

export type WebhookProvider = 'github' | 'gitlab' | 'gitea' | 'generic';

/** One secret per provider; a provider without one is refused (404), never accepted unsigned. */
export type WebhookSecrets = Partial<Record<WebhookProvider, string>>;

/** A git object id: SHA-1, or SHA-256 for repositories in that format. */
const OBJECT_ID = '^([0-9a-f]{40}|[0-9a-f]{64})$';

export interface WebhookOptions {
  /** The deployed branch (`main`); pushes to other refs are answered but start nothing. */
  branch: string;
  /** Other refs whose pushes start a pass too (the hosts' state branches, `refs/heads/kaidu/state/<host>`). */
  alsoRefs?: (ref: string) => boolean;
  secrets: WebhookSecrets;
  onEvent: (e: RepoEvent) => void;
  /** Bytes; default 1 MiB. Larger bodies get 413. */
  bodyLimit?: number;
  logger?: EventLogger;
  /** How many recent delivery ids are remembered for de-duplication; default 1,000. */
  deliveryMemory?: number;
  /** `POST /hooks/relay`: events other agents pass on along the relay tree (absent: 404). */
  relay?: RelayRouteOptions;
}

/** A copy of an event another agent relayed, once its signature, envelope and age are checked. */
export interface RelayedEvent {
  envelope: RelayEnvelope;
  event: RepoEvent;
}

export interface RelayRouteOptions {
  /** The HMAC key (the webhook secret); without one every relayed copy is refused. */
  secret?: string;
  /** Takes a checked copy: new (the sender gets 202), already seen (200), or one that came round in a loop (409). */
  accept: (m: RelayedEvent) => 'accepted' | 'duplicate' | 'loop';
  /** A copy refused before `accept` (bad signature, shape or age), for metrics. */
  refused?: (code: string) => void;
  maxAgeMs?: number;
  now?: () => number;
}

/** `POST /hooks/relay`: what a push said, as the entry point received it. */
const relayBodySchema = {
  type: 'object',
  required: ['ref'],
  properties: {
    ref: { type: 'string', minLength: 1, maxLength: 1024 },
    after: { type: 'string', pattern: OBJECT_ID },
    before: { type: 'string', pattern: OBJECT_ID },
    source: { type: 'string', enum: ['github', 'gitlab', 'gitea', 'generic', 'hook'] },
  },
} as const;

const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** A relayed body holds a ref and two ids: anything bigger is not one. */
const RELAY_BODY_LIMIT = 16 * 1024;

/**
 * Recently seen delivery ids, least recently seen dropped first: a webhook the sender redelivers
 * (a timeout on its side, a manual "redeliver") starts no second pass.
 */
class DeliveryLog {
  private readonly seen = new Set<string>();
  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    if (!this.seen.has(id)) return false;
    // Refresh: a Set iterates in insertion order, so re-adding makes the id the most recent.
    this.seen.delete(id);
    this.seen.add(id);
    return true;
  }

  add(id: string): void {
    this.seen.add(id);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.values().next().value!);
  }
}

/** What a push says, once parsed; the schemas below guarantee the types. */
interface PushBody {
  ref?: string;
  after?: string;
  before?: unknown;
  repository?: { full_name?: unknown; path_with_namespace?: unknown };
}


const providerPushSchema = {
  type: 'object',
  required: ['ref', 'after'],
  properties: {
    ref: { type: 'string', minLength: 1 },
    after: { type: 'string', pattern: OBJECT_ID },
    before: { type: 'string' },
  },
} as const;

/** `POST /hooks/generic`: both fields optional (the ref defaults to the branch). */
const genericBodySchema = {
  type: 'object',
  properties: {
    ref: { type: 'string', minLength: 1 },
    after: { type: 'string', pattern: '^[0-9a-f]{4,64}$' },
    before: { type: 'string', pattern: OBJECT_ID },
  },
} as const;

const errorReply = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' }, code: { type: 'string' } },
} as const;

const replySchemas = {
  200: { type: 'object', properties: { ok: { type: 'boolean' }, pong: { type: 'boolean' }, duplicate: { type: 'boolean' } } },
  202: {
    type: 'object',
    required: ['accepted'],
    properties: {
      accepted: { type: 'boolean' },
      after: { type: 'string' },
      /** Why nothing starts: `branch` (another ref) or `event` (not a push). */
      reason: { type: 'string', enum: ['branch', 'event'] },
      duplicate: { type: 'boolean' },
      ref: { type: 'string' },
      event: { type: 'string' },
    },
  },
  '4xx': errorReply,
  '5xx': errorReply,
} as const;

/** How one provider authenticates and names its events. */
interface HookSpec {
  provider: WebhookProvider;
  /** A shared token, checked before the body is read. */
  token?: (req: FastifyRequest) => string | undefined;
  /** An HMAC, checked over the raw body bytes. */
  signature?: (body: Buffer, secret: string, req: FastifyRequest) => boolean;
  /** Named in the 401 message. */
  credential: string;
  /** The header naming the event kind (absent: every request is a push). */
  eventHeader?: string;
  pushEvent?: string;
  pingEvent?: string;
  deliveryHeader: string;
  body: typeof providerPushSchema | typeof genericBodySchema;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const HOOKS: readonly HookSpec[] = [
  {
    provider: 'github',
    signature: (body, secret, req) => verifyGithub(body, secret, header(req, 'x-hub-signature-256')),
    credential: 'X-Hub-Signature-256',
    eventHeader: 'x-github-event',
    pushEvent: 'push',
    pingEvent: 'ping',
    deliveryHeader: 'x-github-delivery',
    body: providerPushSchema,
  },
  {
    provider: 'gitlab',
    token: (req) => header(req, 'x-gitlab-token'),
    credential: 'X-Gitlab-Token',
    eventHeader: 'x-gitlab-event',
    pushEvent: 'Push Hook',
    deliveryHeader: 'x-gitlab-event-uuid',
    body: providerPushSchema,
  },
  {
    provider: 'gitea',
    signature: (body, secret, req) => verifyGitea(body, secret, header(req, 'x-gitea-signature')),
    credential: 'X-Gitea-Signature',
    eventHeader: 'x-gitea-event',
    pushEvent: 'push',
    deliveryHeader: 'x-gitea-delivery',
    body: providerPushSchema,
  },
  {
    provider: 'generic',
    token: (req) => /^Bearer\s+(\S+)\s*$/i.exec(header(req, 'authorization') ?? '')?.[1],
    credential: 'Authorization: Bearer token',
    deliveryHeader: 'x-request-id',
    body: genericBodySchema,
  },
];

type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

/**
 * Media types a push payload may come in: JSON (`application/json`, `application/*+json`), or a
 * form (GitHub's `payload=<json>`). No content type at all is taken as JSON (`curl` without `-H`).
 * Anything else (text/plain, XML, multipart, octet-stream) is not a push payload, signed or not.
 */
function acceptedMediaType(contentType: string | undefined): boolean {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return mediaType === '' || mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType) || mediaType === 'application/x-www-form-urlencoded';
}

/** The JSON payload in a raw body: plain JSON, or GitHub's form encoding (`payload=<json>`). */
function parsePayload(contentType: string | undefined, raw: Buffer, allowEmpty: boolean): Parsed {
  let text = raw.toString('utf8');
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/x-www-form-urlencoded') {
    const payload = new URLSearchParams(text).get('payload');
    // `curl -d '{...}'` labels plain JSON as a form: take it as what it is.
    if (payload !== null) text = payload;
    else if (!text.trimStart().startsWith('{')) return { ok: false, error: 'a form-encoded body needs a "payload" field holding the JSON (or send application/json)' };
  }
  if (text.trim() === '') return allowEmpty ? { ok: true, value: {} } : { ok: false, error: 'the body is empty: expected a JSON push payload' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `malformed JSON: ${(err as Error).message}` };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: 'the body must be a JSON object' };
  return { ok: true, value: value as Record<string, unknown> };
}

function rawBody(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  return Buffer.alloc(0);
}

function fail(reply: FastifyReply, status: number, code: KaiduErrorCode, error: string): FastifyReply {
  return reply.code(status).send({ error, code });
}

/**
 * Webhook routes as a fastify plugin (register it: its body parsers and error handler stay inside).
 * Authentication comes first: a shared token before the body is read, an HMAC over the raw body
 * bytes before anything is parsed. Then the event kind (ping, other events), then the payload is
 * parsed and validated against the route's schema, then de-duplication and the branch.
 */
export async function webhookRoutes(app: FastifyInstance, opts: WebhookOptions): Promise<void> {
  const deliveries = new DeliveryLog(opts.deliveryMemory ?? 1000);
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const branchRef = `refs/heads/${opts.branch}`;
  const log = opts.logger;

  // Keep the raw bytes of every body: an HMAC over re-serialized JSON would not match the sender's.
  for (const type of ['application/json', 'application/x-www-form-urlencoded', 'text/plain', '*']) {
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  }

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return fail(reply, 400, 'E_WEBHOOK_PAYLOAD', err.message);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return fail(reply, 413, 'E_WEBHOOK_PAYLOAD', `the body is larger than the limit of ${bodyLimit} bytes`);
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log?.error({ err: err.message, url: req.url }, 'webhook handler failed');
    return reply.code(status).send({ error: status === 500 ? 'internal error' : err.message });
  });

  for (const spec of HOOKS) {
    const { provider } = spec;
    const secret = opts.secrets[provider];
    const unauthorized = (req: FastifyRequest, reply: FastifyReply) => {
      log?.warn({ provider, ip: req.ip }, 'webhook refused: bad credentials');
      return fail(reply, 401, 'E_WEBHOOK_SIGNATURE', `missing or wrong ${spec.credential}`);
    };

    app.post<{ Body: PushBody }>(
      `/hooks/${provider}`,
      {
        bodyLimit,
        schema: {
          ...(spec.eventHeader ? { headers: { type: 'object', required: [spec.eventHeader], properties: { [spec.eventHeader]: { type: 'string' } } } } : {}),
          body: spec.body,
          response: replySchemas,
        },
        onRequest: async (req, reply) => {
          if (!secret) return fail(reply, 404, 'E_CONFIG', `${provider} webhooks are not enabled on this agent: it was started without a ${provider} secret`);
          if (spec.token && !verifyToken(spec.token(req), secret)) return unauthorized(req, reply);
          return undefined;
        },
        preValidation: async (req, reply) => {
          const raw = rawBody(req.body);
          if (spec.signature && !spec.signature(raw, secret!, req)) return unauthorized(req, reply);
          // Checked once the sender is known to hold the secret, before anything reads the body.
          const contentType = header(req, 'content-type');
          if (!acceptedMediaType(contentType)) {
            log?.warn({ provider, contentType }, 'webhook refused: unsupported content type');
            return fail(reply, 415, 'E_WEBHOOK_PAYLOAD', `unsupported content type "${contentType}": send application/json${spec.signature ? ' (or a form with a "payload" field)' : ''}`);
          }
          const kind = spec.eventHeader ? header(req, spec.eventHeader) : undefined;
          // A missing kind falls through to the header schema, which names it.
          if (kind !== undefined && kind !== spec.pushEvent) {
            if (kind === spec.pingEvent) return reply.code(200).send({ ok: true, pong: true });
            log?.debug({ provider, event: kind }, 'webhook event ignored');
            return reply.code(202).send({ accepted: false, reason: 'event', event: kind });
          }
          const parsed = parsePayload(contentType, raw, provider === 'generic');
          if (!parsed.ok) return fail(reply, 400, 'E_WEBHOOK_PAYLOAD', parsed.error);
          req.body = parsed.value;
          return undefined;
        },
      },
      async (req, reply) => {
        const body = req.body;
        const deliveryId = header(req, spec.deliveryHeader);
        const key = deliveryId ? `${provider}:${deliveryId}` : undefined;
        if (key && deliveries.has(key)) {
          log?.debug({ provider, deliveryId }, 'webhook delivery already seen');
          return reply.code(200).send({ duplicate: true });
        }
        const given = body.ref ?? branchRef;
        const ref = given.startsWith('refs/') ? given : `refs/heads/${given}`;
        // A host's state branch is news too, for the hosts that depend on it (the receiver decides).
        if (ref !== branchRef && !stateHostOfRef(ref) && !opts.alsoRefs?.(ref)) {
          if (key) deliveries.add(key);
          return reply.code(202).send({ accepted: false, reason: 'branch', ref });
        }
        // Not in the schemas (informational only): taken when they are strings.
        const before = typeof body.before === 'string' ? body.before : undefined;
        const repository = [body.repository?.full_name, body.repository?.path_with_namespace].find((v) => typeof v === 'string');
        opts.onEvent({
          source: provider,
          ref,
          ...(body.after ? { after: body.after } : {}),
          ...(deliveryId ? { deliveryId } : {}),
          receivedAt: new Date().toISOString(),
          ...(before || repository ? { detail: { ...(before ? { before } : {}), ...(repository ? { repository } : {}) } } : {}),
        });
        // Remembered only once the event is out: if onEvent threw, a redelivery may try again.
        if (key) deliveries.add(key);
        log?.info({ provider, after: body.after, deliveryId }, 'webhook accepted');
        return reply.code(202).send({ accepted: true, ...(body.after ? { after: body.after } : {}) });
      },
    );
  }
  if (opts.relay) relayRoute(app, opts.relay, branchRef, log);
}

/**
 * `POST /hooks/relay`: a copy of an event another agent passes on. The HMAC over the envelope
 * headers and the raw body comes first, then the envelope's shape and age, then the body; the
 * receiver (`accept`) decides whether it is new. It answers at once: relaying on and the pass
 * happen after the reply.
 */
function relayRoute(app: FastifyInstance, relay: RelayRouteOptions, branchRef: string, log: EventLogger | undefined): void {
  const now = relay.now ?? Date.now;
  const refuse = (reply: FastifyReply, status: number, code: KaiduErrorCode, error: string) => {
    relay.refused?.(code);
    log?.warn({ code, error }, 'relayed event refused');
    return fail(reply, status, code, error);
  };
  app.post<{ Body: { ref: string; after?: string; before?: string; source?: string } }>(
    '/hooks/relay',
    {
      bodyLimit: RELAY_BODY_LIMIT,
      // A body the schema refuses is counted like any refused copy (below), not left to the error handler.
      attachValidation: true,
      schema: { body: relayBodySchema, response: replySchemas },
      onRequest: async (_req, reply) => {
        if (!relay.secret) return fail(reply, 404, 'E_CONFIG', 'relayed events are not enabled on this agent: it was started without a webhook secret');
        return undefined;
      },
      preValidation: async (req, reply) => {
        const raw = rawBody(req.body);
        const checked = checkRelay(req.headers, raw, relay.secret!, now(), relay.maxAgeMs ?? DEFAULT_RELAY_MAX_AGE_MS);
        if (!checked.ok) return refuse(reply, checked.status, checked.code, checked.error);
        const parsed = parsePayload('application/json', raw, false);
        if (!parsed.ok) return refuse(reply, 400, 'E_WEBHOOK_PAYLOAD', parsed.error);
        req.body = parsed.value as { ref: string };
        (req as FastifyRequest & { relayEnvelope?: RelayEnvelope }).relayEnvelope = checked.envelope;
        return undefined;
      },
    },
    async (req, reply) => {
      if (req.validationError) return refuse(reply, 400, 'E_WEBHOOK_PAYLOAD', req.validationError.message);
      const envelope = (req as FastifyRequest & { relayEnvelope?: RelayEnvelope }).relayEnvelope!;
      const { ref, after, before, source } = req.body;
      if (ref !== branchRef && !stateHostOfRef(ref)) return reply.code(202).send({ accepted: false, reason: 'branch', ref });
      const event: RepoEvent = {
        source: 'relay',
        ref,
        ...(after ? { after } : {}),
        deliveryId: envelope.id,
        receivedAt: new Date().toISOString(),
        detail: { from: envelope.path[envelope.path.length - 1], hop: envelope.path.length, ...(source ? { origin: source } : {}), ...(before ? { before } : {}) },
      };
      const verdict = relay.accept({ envelope, event });
      if (verdict === 'duplicate') return reply.code(200).send({ duplicate: true });
      if (verdict === 'loop') {
        log?.warn({ path: envelope.path }, 'relayed event refused: it already passed through this host');
        return fail(reply, 409, 'E_RELAY_LOOP', 'the event already passed through this host');
      }
      return reply.code(202).send({ accepted: true, ...(after ? { after } : {}) });
    },
  );
}

/** A fastify instance with only the webhook routes (tests, or a process that serves nothing else). */
export async function buildWebhookApp(opts: WebhookOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(webhookRoutes, opts);
  return app;
}
