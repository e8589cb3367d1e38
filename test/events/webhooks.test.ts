import { createHmac } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildWebhookApp, signGithub, webhookRoutes, type RepoEvent, type WebhookOptions } from '../../src/events/index.js';

const SECRET = 's3cret';
const AFTER = 'a'.repeat(40);
const PUSH = JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: AFTER, repository: { full_name: 'acme/deploy' } });
const ALL = { github: SECRET, gitlab: SECRET, gitea: SECRET, generic: SECRET };

let apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
});

async function start(overrides: Partial<WebhookOptions> = {}) {
  const events: RepoEvent[] = [];
  const app = await buildWebhookApp({ branch: 'main', secrets: ALL, onEvent: (e) => events.push(e), ...overrides });
  apps.push(app);
  return { app, events };
}

function github(body: string | Buffer, headers: Record<string, string | undefined> = {}) {
  const all: Record<string, string | undefined> = { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signGithub(body, SECRET), ...headers };
  return { method: 'POST' as const, url: '/hooks/github', payload: body, headers: Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<string, string> };
}

const giteaSig = (body: string) => createHmac('sha256', SECRET).update(body).digest('hex');

describe('POST /hooks/github', () => {
  it('a good signature: 202 and one event with ref, after and delivery id', async () => {
    const { app, events } = await start();
    const res = await app.inject(github(PUSH, { 'x-github-delivery': 'd-1' }));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: true, after: AFTER });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ source: 'github', ref: 'refs/heads/main', after: AFTER, deliveryId: 'd-1', detail: { repository: 'acme/deploy' } });
    expect(Number.isNaN(Date.parse(events[0]!.receivedAt))).toBe(false);
  });

  it('verifies the raw bytes: whitespace and key order as sent, form-encoded payloads too', async () => {
    const { app, events } = await start();
    const spaced = `{\n  "after": "${AFTER}",\n  "ref": "refs/heads/main"\n}\n`;
    expect((await app.inject(github(spaced))).statusCode).toBe(202);
    const form = `payload=${encodeURIComponent(PUSH)}`;
    const res = await app.inject(github(form, { 'content-type': 'application/x-www-form-urlencoded' }));
    expect(res.statusCode).toBe(202);
    expect(events.map((e) => e.after)).toEqual([AFTER, AFTER]);
    // Signed over the JSON instead of the form body that was sent: refused.
    expect((await app.inject(github(form, { 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': signGithub(PUSH, SECRET) }))).statusCode).toBe(401);
  });

  it('bad, wrong-length and missing signatures: 401 and no event', async () => {
    const { app, events } = await start();
    const cases: Array<string | undefined> = [
      signGithub(PUSH, 'wrong secret'),
      'sha256=abc',
      'sha256=' + 'f'.repeat(200),
      signGithub(PUSH, SECRET).slice('sha256='.length),
      '',
      undefined,
    ];
    for (const sig of cases) {
      const res = await app.inject(github(PUSH, { 'x-hub-signature-256': sig }));
      expect(res.statusCode, String(sig)).toBe(401);
      expect(res.json()).toEqual({ error: 'missing or wrong X-Hub-Signature-256', code: 'E_WEBHOOK_SIGNATURE' });
    }
    // A body changed after signing.
    expect((await app.inject({ ...github(PUSH), payload: PUSH.replace('main', 'main ') })).statusCode).toBe(401);
    // A ping is answered only once signed.
    expect((await app.inject(github('{}', { 'x-github-event': 'ping', 'x-hub-signature-256': 'sha256=00' }))).statusCode).toBe(401);
    expect(events).toHaveLength(0);
  });

  it('ping: 200 pong; other event kinds: 202 ignored; other branches: 202 and no event', async () => {
    const { app, events } = await start();
    const ping = await app.inject(github(JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 }), { 'x-github-event': 'ping' }));
    expect(ping.statusCode).toBe(200);
    expect(ping.json()).toEqual({ ok: true, pong: true });
    const issues = await app.inject(github(JSON.stringify({ action: 'opened' }), { 'x-github-event': 'issues' }));
    expect(issues.statusCode).toBe(202);
    expect(issues.json()).toEqual({ accepted: false, reason: 'event', event: 'issues' });
    const dev = await app.inject(github(JSON.stringify({ ref: 'refs/heads/dev', after: 'b'.repeat(40) })));
    expect(dev.statusCode).toBe(202);
    expect(dev.json()).toEqual({ accepted: false, reason: 'branch', ref: 'refs/heads/dev' });
    const tag = await app.inject(github(JSON.stringify({ ref: 'refs/tags/main', after: 'b'.repeat(40) })));
    expect(tag.json()).toMatchObject({ accepted: false, reason: 'branch' });
    expect(events).toHaveLength(0);
  });

  it('a repeated delivery id gives one event; the memory is bounded and least-recent first', async () => {
    const { app, events } = await start({ deliveryMemory: 2 });
    const send = (id: string) => app.inject(github(PUSH, { 'x-github-delivery': id }));
    expect((await send('d1')).statusCode).toBe(202);
    const again = await send('d1');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ duplicate: true });
    expect(events).toHaveLength(1);
    await send('d2');
    await send('d1'); // seen again: now the most recent
    await send('d3'); // forgets d2, the least recent
    expect((await send('d1')).json()).toEqual({ duplicate: true });
    expect((await send('d2')).statusCode).toBe(202);
    expect(events.map((e) => e.deliveryId)).toEqual(['d1', 'd2', 'd3', 'd2']);
    // Without a delivery id nothing is de-duplicated.
    await app.inject(github(PUSH));
    await app.inject(github(PUSH));
    expect(events).toHaveLength(6);
  });

  it('a delivery whose event handler failed is not remembered: the redelivery is accepted', async () => {
    let fail = true;
    const events: RepoEvent[] = [];
    const { app } = await start({
      onEvent: (e) => {
        if (fail) throw new Error('consumer down');
        events.push(e);
      },
    });
    const first = await app.inject(github(PUSH, { 'x-github-delivery': 'x1' }));
    expect(first.statusCode).toBe(500);
    expect(first.json()).toEqual({ error: 'internal error' });
    fail = false;
    expect((await app.inject(github(PUSH, { 'x-github-delivery': 'x1' }))).statusCode).toBe(202);
    expect(events).toHaveLength(1);
  });

  it('a body over the limit: 413 and no event', async () => {
    const { app, events } = await start({ bodyLimit: 1000 });
    const big = JSON.stringify({ ref: 'refs/heads/main', after: AFTER, pad: 'x'.repeat(2000) });
    const res = await app.inject(github(big));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: 'the body is larger than the limit of 1000 bytes', code: 'E_WEBHOOK_PAYLOAD' });
    expect((await app.inject(github(PUSH))).statusCode).toBe(202);
    expect(events).toHaveLength(1);
  });

  it('malformed JSON and missing or wrong fields: 400 naming what is wrong', async () => {
    const { app, events } = await start();
    const expect400 = async (req: ReturnType<typeof github>, message: RegExp) => {
      const res = await app.inject(req);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().code).toBe('E_WEBHOOK_PAYLOAD');
      expect(res.json().error).toMatch(message);
    };
    await expect400(github('{"ref": '), /malformed JSON/);
    await expect400(github(''), /body is empty/);
    await expect400(github('[1,2]'), /must be a JSON object/);
    await expect400(github(JSON.stringify({ ref: 'refs/heads/main' })), /must have required property 'after'/);
    await expect400(github(JSON.stringify({ after: AFTER })), /must have required property 'ref'/);
    await expect400(github(JSON.stringify({ ref: 'refs/heads/main', after: 'not-a-commit' })), /body\/after must match pattern/);
    await expect400(github('ref=main', { 'content-type': 'application/x-www-form-urlencoded' }), /"payload" field/);
    await expect400(github(PUSH, { 'x-github-event': undefined }), /headers must have required property 'x-github-event'/);
    expect(events).toHaveLength(0);
  });

  it('accepts JSON with a charset, without a content type, and SHA-256 object ids', async () => {
    const { app, events } = await start();
    expect((await app.inject(github(PUSH, { 'content-type': 'application/json; charset=utf-8' }))).statusCode).toBe(202);
    expect((await app.inject(github(PUSH, { 'content-type': undefined }))).statusCode).toBe(202);
    const sha256 = JSON.stringify({ ref: 'refs/heads/main', after: 'c'.repeat(64) });
    expect((await app.inject(github(sha256))).statusCode).toBe(202);
    expect(events.map((e) => e.after)).toEqual([AFTER, AFTER, 'c'.repeat(64)]);
  });
});

describe('POST /hooks/gitlab', () => {
  const gitlab = (app: FastifyInstance, headers: Record<string, string>, body = PUSH) =>
    app.inject({ method: 'POST', url: '/hooks/gitlab', payload: body, headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', ...headers } });

  it('the right token: 202 and an event; a wrong or missing one: 401', async () => {
    const { app, events } = await start();
    const ok = await gitlab(app, { 'x-gitlab-token': SECRET, 'x-gitlab-event-uuid': 'u1' });
    expect(ok.statusCode).toBe(202);
    expect(events).toEqual([expect.objectContaining({ source: 'gitlab', ref: 'refs/heads/main', after: AFTER, deliveryId: 'u1' })]);
    expect((await gitlab(app, { 'x-gitlab-token': 'wrong' })).statusCode).toBe(401);
    expect((await gitlab(app, { 'x-gitlab-token': SECRET + 'x' })).statusCode).toBe(401);
    expect((await gitlab(app, {})).json()).toEqual({ error: 'missing or wrong X-Gitlab-Token', code: 'E_WEBHOOK_SIGNATURE' });
    expect(events).toHaveLength(1);
  });

  it('de-duplicates by X-Gitlab-Event-UUID, ignores other events, validates the payload', async () => {
    const { app, events } = await start();
    await gitlab(app, { 'x-gitlab-token': SECRET, 'x-gitlab-event-uuid': 'u1' });
    expect((await gitlab(app, { 'x-gitlab-token': SECRET, 'x-gitlab-event-uuid': 'u1' })).json()).toEqual({ duplicate: true });
    expect((await gitlab(app, { 'x-gitlab-token': SECRET, 'x-gitlab-event': 'Tag Push Hook' })).json()).toMatchObject({ accepted: false, reason: 'event' });
    const noAfter = await gitlab(app, { 'x-gitlab-token': SECRET }, JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main' }));
    expect(noAfter.statusCode).toBe(400);
    expect(noAfter.json().error).toMatch(/'after'/);
    expect(events).toHaveLength(1);
  });
});

describe('POST /hooks/gitea', () => {
  const gitea = (app: FastifyInstance, sig: string | undefined, body = PUSH, extra: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/hooks/gitea', payload: body, headers: { 'content-type': 'application/json', 'x-gitea-event': 'push', ...(sig === undefined ? {} : { 'x-gitea-signature': sig }), ...extra } });

  it('a good signature: 202 and an event; bad, short or missing: 401', async () => {
    const { app, events } = await start();
    expect((await gitea(app, giteaSig(PUSH), PUSH, { 'x-gitea-delivery': 'g1' })).statusCode).toBe(202);
    expect(events).toEqual([expect.objectContaining({ source: 'gitea', after: AFTER, deliveryId: 'g1' })]);
    expect((await gitea(app, createHmac('sha256', 'nope').update(PUSH).digest('hex'))).statusCode).toBe(401);
    expect((await gitea(app, '00')).statusCode).toBe(401);
    expect((await gitea(app, undefined)).statusCode).toBe(401);
    expect((await gitea(app, giteaSig(PUSH), PUSH, { 'x-gitea-delivery': 'g1' })).json()).toEqual({ duplicate: true });
    expect(events).toHaveLength(1);
  });
});

describe('POST /hooks/generic', () => {
  const generic = (app: FastifyInstance, auth: string | undefined, body?: string, contentType = 'application/json') =>
    app.inject({
      method: 'POST',
      url: '/hooks/generic',
      ...(body === undefined ? {} : { payload: body }),
      headers: { ...(body === undefined ? {} : { 'content-type': contentType }), ...(auth === undefined ? {} : { authorization: auth }) },
    });

  it('the right bearer token: 202; ref defaults to the branch, after is optional', async () => {
    const { app, events } = await start();
    expect((await generic(app, `Bearer ${SECRET}`)).json()).toEqual({ accepted: true });
    expect((await generic(app, `bearer ${SECRET}`, JSON.stringify({ ref: 'main', after: 'abc1234' }))).json()).toEqual({ accepted: true, after: 'abc1234' });
    expect((await generic(app, `Bearer ${SECRET}`, JSON.stringify({ ref: 'refs/heads/main', after: AFTER }))).statusCode).toBe(202);
    // `curl -d '{...}'` without a content type sends JSON labelled as a form.
    expect((await generic(app, `Bearer ${SECRET}`, JSON.stringify({ after: AFTER }), 'application/x-www-form-urlencoded')).statusCode).toBe(202);
    expect(events.map((e) => [e.source, e.ref, e.after])).toEqual([
      ['generic', 'refs/heads/main', undefined],
      ['generic', 'refs/heads/main', 'abc1234'],
      ['generic', 'refs/heads/main', AFTER],
      ['generic', 'refs/heads/main', AFTER],
    ]);
  });

  it('a wrong, malformed or missing token: 401 before the body is looked at', async () => {
    const { app, events } = await start();
    for (const auth of ['Bearer wrong', `Basic ${SECRET}`, SECRET, 'Bearer ', undefined]) {
      const res = await generic(app, auth, '{"ref": ');
      expect(res.statusCode, String(auth)).toBe(401);
      expect(res.json().code).toBe('E_WEBHOOK_SIGNATURE');
    }
    expect(events).toHaveLength(0);
  });

  it('body schema errors: 400 naming the field; another branch: no event', async () => {
    const { app, events } = await start();
    const bad = async (body: string, message: RegExp) => {
      const res = await generic(app, `Bearer ${SECRET}`, body);
      expect(res.statusCode, body).toBe(400);
      expect(res.json().error).toMatch(message);
    };
    await bad(JSON.stringify({ after: 'not a sha' }), /body\/after must match pattern/);
    await bad(JSON.stringify({ after: 'abc' }), /body\/after/);
    await bad(JSON.stringify({ ref: '' }), /body\/ref must NOT have fewer than 1 characters/);
    await bad(JSON.stringify({ ref: { name: 'main' } }), /body\/ref must be string/);
    await bad('{"ref": ', /malformed JSON/);
    await bad('"main"', /must be a JSON object/);
    expect((await generic(app, `Bearer ${SECRET}`, JSON.stringify({ ref: 'dev' }))).json()).toEqual({ accepted: false, reason: 'branch', ref: 'refs/heads/dev' });
    expect(events).toHaveLength(0);
  });
});

describe('content types', () => {
  const OTHER = ['text/plain', 'text/plain; charset=utf-8', 'application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/jsonp', 'text/json'];

  /** A request to `route` carrying `body` with `contentType`, authenticated as the route wants (or with a wrong credential). */
  function request(route: 'github' | 'gitlab' | 'gitea' | 'generic', body: string, contentType: string, good = true) {
    const secret = good ? SECRET : 'wrong';
    const auth: Record<string, Record<string, string>> = {
      github: { 'x-github-event': 'push', 'x-hub-signature-256': signGithub(body, secret) },
      gitlab: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret },
      gitea: { 'x-gitea-event': 'push', 'x-gitea-signature': createHmac('sha256', secret).update(body).digest('hex') },
      generic: { authorization: `Bearer ${secret}` },
    };
    return { method: 'POST' as const, url: `/hooks/${route}`, payload: body, headers: { 'content-type': contentType, ...auth[route]! } };
  }

  for (const route of ['github', 'gitlab', 'gitea', 'generic'] as const) {
    it(`${route}: a signed body of any other type is refused with 415 and starts nothing; JSON still passes`, async () => {
      const { app, events } = await start();
      for (const type of OTHER) {
        const res = await app.inject(request(route, PUSH, type));
        expect(res.statusCode, type).toBe(415);
        expect(res.json()).toMatchObject({ code: 'E_WEBHOOK_PAYLOAD' });
        expect(res.json().error).toMatch(/unsupported content type/);
      }
      // Credentials still come first: a stranger learns nothing about what the route accepts.
      expect((await app.inject(request(route, PUSH, 'text/plain', false))).statusCode).toBe(401);
      expect(events).toHaveLength(0);
      expect((await app.inject(request(route, PUSH, 'application/json; charset=utf-8'))).statusCode).toBe(202);
      expect((await app.inject(request(route, PUSH, 'application/vnd.kaidu+json'))).statusCode).toBe(202);
      expect(events).toHaveLength(2);
    });
  }

  it('GitHub form encoding with payload= is still accepted', async () => {
    const { app, events } = await start();
    const form = `payload=${encodeURIComponent(PUSH)}`;
    expect((await app.inject(request('github', form, 'application/x-www-form-urlencoded'))).statusCode).toBe(202);
    expect(events).toHaveLength(1);
  });
});

describe('providers without a secret', () => {
  it('are refused (404) even with a valid-looking signature, and nothing is accepted unsigned', async () => {
    const { app, events } = await start({ secrets: { generic: SECRET } });
    const gh = await app.inject(github(PUSH));
    expect(gh.statusCode).toBe(404);
    expect(gh.json()).toEqual({ error: 'github webhooks are not enabled on this agent: it was started without a github secret', code: 'E_CONFIG' });
    expect((await app.inject({ method: 'POST', url: '/hooks/gitlab', payload: PUSH, headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': '' } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/hooks/gitea', payload: PUSH, headers: { 'content-type': 'application/json', 'x-gitea-event': 'push', 'x-gitea-signature': createHmac('sha256', '').update(PUSH).digest('hex') } })).statusCode).toBe(404);
    expect(events).toHaveLength(0);
    const none = await start({ secrets: { github: '' } });
    expect((await none.app.inject(github(PUSH, { 'x-hub-signature-256': signGithub(PUSH, '') }))).statusCode).toBe(404);
    expect(none.events).toHaveLength(0);
  });
});

describe('as a plugin', () => {
  it('keeps its raw-body parsers to itself: sibling routes still get parsed JSON', async () => {
    const events: RepoEvent[] = [];
    const app = Fastify();
    apps.push(app);
    app.post('/echo', async (req) => ({ body: req.body }));
    await app.register(webhookRoutes, { branch: 'main', secrets: ALL, onEvent: (e) => events.push(e) });
    const echo = await app.inject({ method: 'POST', url: '/echo', payload: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(echo.json()).toEqual({ body: { a: 1 } });
    expect((await app.inject(github(PUSH))).statusCode).toBe(202);
    expect(events).toHaveLength(1);
  });
});

describe('over a real socket on 127.0.0.1', () => {
  it('signed push, duplicate, bad signature, too large, unconfigured provider', async () => {
    const { app, events } = await start({ secrets: { github: SECRET }, bodyLimit: 4096 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const post = (path: string, body: string, headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    const signed = { 'x-github-event': 'push', 'x-github-delivery': 'sock-1', 'x-hub-signature-256': signGithub(PUSH, SECRET) };

    const ok = await post('/hooks/github', PUSH, signed);
    expect(ok.status).toBe(202);
    expect(ok.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await ok.json()).toEqual({ accepted: true, after: AFTER });

    const dup = await post('/hooks/github', PUSH, signed);
    expect([dup.status, await dup.json()]).toEqual([200, { duplicate: true }]);

    const bad = await post('/hooks/github', PUSH, { ...signed, 'x-github-delivery': 'sock-2', 'x-hub-signature-256': signGithub(PUSH, 'nope') });
    expect(bad.status).toBe(401);
    await bad.arrayBuffer();

    const big = JSON.stringify({ ref: 'refs/heads/main', after: AFTER, pad: 'x'.repeat(8000) });
    const tooBig = await post('/hooks/github', big, { ...signed, 'x-github-delivery': 'sock-3', 'x-hub-signature-256': signGithub(big, SECRET) });
    expect(tooBig.status).toBe(413);
    await tooBig.arrayBuffer();

    const gitea = await post('/hooks/gitea', PUSH, { 'x-gitea-event': 'push', 'x-gitea-signature': giteaSig(PUSH) });
    expect(gitea.status).toBe(404);
    expect(((await gitea.json()) as { error: string }).error).toMatch(/gitea webhooks are not enabled/);

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ source: 'github', after: AFTER, deliveryId: 'sock-1' });
  });
});
