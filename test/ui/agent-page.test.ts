import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, webService, type Harness } from '../support/agent-harness.js';
import type { UiSnapshot } from '../../src/ui/snapshot.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A real server-sent-events connection; `next` resolves with the first event (seen or to come) that matches. */
async function openEvents(url: string, init: RequestInit = {}) {
  const abort = new AbortController();
  const res = await fetch(url, { ...init, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const seen: { event: string; data: string }[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          seen.push({ event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message', data: /^data: (.*)$/m.exec(block)?.[1] ?? '' });
          wake?.();
        }
      }
    } catch {
      // aborted by close()
    }
    ended = true;
    wake?.();
  })();
  return {
    seen,
    async next(event: string, from = 0): Promise<number> {
      for (;;) {
        const i = seen.findIndex((e, j) => j >= from && e.event === event);
        if (i >= 0) return i;
        if (ended) throw new Error(`the event stream ended before "${event}"; seen: ${JSON.stringify(seen)}`);
        await new Promise<void>((r) => (wake = r));
      }
    },
    close: () => abort.abort(),
  };
}

describe('the agent page and the API token', () => {
  it('--api-token-file: /status, /metrics, the page and its data need the token; /healthz and /readyz stay open', async () => {
    h = await startHarness({ 'kaidu.yaml': 'branch: main\n', 'services/web.yaml': webService('host-a', 'hi') });
    const token = 'api-' + Math.random().toString(36).slice(2);
    await writeFile(join(h.dir, 'api-token'), token + '\n');
    const a = await h.startAgent('host-a', ['--api-token-file', join(h.dir, 'api-token')]);
    await h.waitReady(a);

    for (const path of ['/healthz', '/readyz']) expect((await fetch(a.url + path)).status, path).toBe(200);
    for (const path of ['/status', '/metrics', '/', '/ui/snapshot', '/ui/events', '/ui/app.js', '/ui/cytoscape.min.js']) {
      const none = await fetch(a.url + path);
      expect(none.status, `${path} without a token`).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await fetch(a.url + path, { headers: { authorization: `Bearer ${token}x` } })).status, `${path} with a longer token`).toBe(401);
      expect((await fetch(a.url + path, { headers: { authorization: `Bearer ${token.slice(0, -1)}X` } })).status, `${path} with a wrong token`).toBe(401);
      expect((await fetch(a.url + path, { headers: { authorization: `Basic ${token}` } })).status, `${path} with another scheme`).toBe(401);
    }
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(a.url + '/status', { headers: auth })).status).toBe(200);
    expect(await (await fetch(a.url + '/metrics', { headers: auth })).text()).toContain('kaidu_passes_total');
    const snap = (await (await fetch(a.url + '/ui/snapshot', { headers: auth })).json()) as UiSnapshot;
    expect(snap.nodes.map((n) => n.id).sort()).toEqual(['web/web', 'web/web-port']);

    // A browser: ?token= once becomes a cookie (not the token itself), then the page loads without a header.
    expect((await fetch(a.url + '/?token=wrong', { redirect: 'manual' })).status).toBe(401);
    const exchange = await fetch(`${a.url}/?token=${encodeURIComponent(token)}`, { redirect: 'manual' });
    expect(exchange.status).toBe(303);
    expect(exchange.headers.get('location')).toBe('/');
    const setCookie = exchange.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(token);
    const cookie = setCookie.split(';')[0]!;
    const page = await fetch(a.url + '/', { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(a.url + '/ui/snapshot', { headers: { cookie } })).status).toBe(200);
    expect((await fetch(a.url + '/status', { headers: { cookie: cookie.replace(/=.*/, '=0000') } })).status).toBe(401);
  }, 90_000);

  it('without a token file the read-only API is open, and a pass end reaches the page as a server-sent event', async () => {
    h = await startHarness({ 'kaidu.yaml': 'branch: main\n', 'services/web.yaml': webService('host-a', 'v0') });
    const a = await h.startAgent('host-a');
    await h.waitReady(a);
    await h.until('web running', async () => (await h!.state())['host-a']?.web?.nodes.web?.status === 'running');
    expect((await fetch(a.url + '/status')).status).toBe(200);
    expect((await fetch(a.url + '/')).status).toBe(200);

    // Each `changed` event is followed by one look at the snapshot: the page's own behaviour.
    const events = await openEvents(a.url + '/ui/events');
    let rev: string;
    let snap: UiSnapshot | undefined;
    try {
      let at = await events.next('hello');
      rev = await h.push({ 'services/web.yaml': webService('host-a', 'v1') }, 'greeting v1 <b>bold</b>');
      while (!snap) {
        at = await events.next('changed', at + 1);
        const s = (await (await fetch(a.url + '/ui/snapshot')).json()) as UiSnapshot;
        if (s.passes.some((p) => p.revision === rev && p.result === 'applied')) snap = s;
      }
    } finally {
      events.close();
    }
    const pass = snap.passes.find((p) => p.revision === rev && p.result === 'applied')!;
    expect(pass.message).toBe('greeting v1 <b>bold</b>');
    expect(pass.durationMs).toBeGreaterThan(0);
    expect(snap.source).toMatchObject({ kind: 'agent', name: 'host-a', revision: rev, live: true });
    expect(snap.nodes.find((n) => n.id === 'web/web')!.status).toBe('running');
    expect(snap.plan!.hosts[0]!.summary.noop).toBe(2);
  }, 90_000);
});
