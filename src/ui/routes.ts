import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiToken } from './api-token.js';
import { requireApiToken } from './api-token.js';
import type { FleetView } from './fleet-view.js';

export interface UiRoutesOptions {
  view: FleetView;
  token?: ApiToken;
  /** Open event streams at most (each holds a socket); more are refused with 503. Default 64. */
  maxStreams?: number;
}

/** The page's files ship in the package (`ui/`); the graph library is the installed `cytoscape`. */
function loadAssets(): Record<string, { type: string; body: Buffer }> {
  const dir = new URL('../../ui/', import.meta.url);
  const cytoscape = createRequire(import.meta.url).resolve('cytoscape/dist/cytoscape.min.js');
  return {
    '/': { type: 'text/html; charset=utf-8', body: readFileSync(new URL('index.html', dir)) },
    '/ui/app.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('app.js', dir)) },
    '/ui/style.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('style.css', dir)) },
    '/ui/cytoscape.min.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(cytoscape) },
  };
}

/** Data never becomes markup: the page builds its DOM from text; the policy forbids inline scripts too. */
function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store');
}

/**
 * The fleet page: `GET /` (the page), `/ui/*` (its files), `/ui/snapshot` (the data, JSON) and
 * `/ui/events` (server-sent events: `changed` whenever the page should look again). Read-only.
 */
export function registerUiRoutes(app: FastifyInstance, opts: UiRoutesOptions): void {
  const assets = loadAssets();
  const guard = requireApiToken(opts.token);
  const streams = new Set<ServerResponse>();

  app.get<{ Querystring: { token?: string } }>('/', async (req, reply) => {
    const given = req.query.token;
    if (typeof given === 'string') {
      if (opts.token && !opts.token.exchange(req, reply, given)) {
        return secure(reply).code(401).type('text/plain; charset=utf-8').send('wrong API token\n');
      }
      return secure(reply).code(303).header('location', '/').send();
    }
    if (opts.token && !opts.token.allows(req)) {
      return secure(reply)
        .code(401)
        .header('www-authenticate', 'Bearer realm="kaidu"')
        .type('text/plain; charset=utf-8')
        .send('This page needs the API token. Open /?token=<token> once (it becomes a cookie), or send "Authorization: Bearer <token>".\n');
    }
    return secure(reply).type(assets['/']!.type).send(assets['/']!.body);
  });

  for (const path of ['/ui/app.js', '/ui/style.css', '/ui/cytoscape.min.js']) {
    const asset = assets[path]!;
    app.get(path, { onRequest: guard }, async (_req, reply) => secure(reply).type(asset.type).send(asset.body));
  }

  app.get('/ui/snapshot', { onRequest: guard }, async (_req, reply) => secure(reply).send(await opts.view.snapshot()));

  app.get('/ui/events', { onRequest: guard }, (req, reply) => {
    if (streams.size >= (opts.maxStreams ?? 64)) {
      void secure(reply).code(503).header('retry-after', '10').send({ error: 'too many open event streams' });
      return;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ live: opts.view.live })}\n\n`);
    streams.add(res);
    const off = opts.view.subscribe((reason) => {
      res.write(`event: changed\ndata: ${JSON.stringify({ reason, at: new Date().toISOString() })}\n\n`);
    });
    const done = () => {
      off();
      streams.delete(res);
    };
    req.raw.once('close', done);
    res.once('close', done);
  });

  // An open event stream would keep the server from closing.
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
    streams.clear();
  });
}
