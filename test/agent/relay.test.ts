import { afterEach, describe, expect, it } from 'vitest';
import { relayHeaders } from '../../src/events/relay-message.js';
import { hostName, startRelayFleet, type RelayFleet } from '../support/relay-fleet.js';

const AFTER = 'a'.repeat(40);
const BEFORE = 'b'.repeat(40);

/** `kaidu notify` / CI: the generic webhook with a bearer token, to one host. */
async function notify(fleet: RelayFleet, host: string, ref = 'refs/heads/main', after = AFTER, before = BEFORE): Promise<number> {
  const m = fleet.members.get(host)!;
  const res = await fetch(`${m.url}/hooks/generic`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${fleet.secret}` }, body: JSON.stringify({ ref, after, before }) });
  await res.arrayBuffer();
  return res.status;
}

const counter = async (m: { metrics: { registry: { getSingleMetricAsString(n: string): Promise<string> } } }, name: string, label: string): Promise<number> => {
  const text = await m.metrics.registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.includes(`result="${label}"`) || l.includes(`reason="${label}"`));
  return line ? Number(line.split(' ').pop()) : 0;
};

let fleet: RelayFleet | undefined;
afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
});

describe('relaying events along the tree (real HTTP between real servers on 127.0.0.1)', () => {
  it('a push that reaches one root reaches all 40 hosts, each exactly once, signed copies deduplicated', async () => {
    fleet = await startRelayFleet({ n: 40, roots: [hostName(0), hostName(1), hostName(2)] });
    expect(await notify(fleet, hostName(1))).toBe(202);
    await fleet.reached(40);
    await fleet.settle();
    let duplicates = 0;
    for (const m of fleet.members.values()) {
      // Exactly one pass would start: the second parent's copy is dropped before it reaches the queue.
      expect(m.events, m.host).toHaveLength(1);
      expect(m.events[0]!.after).toBe(AFTER);
      duplicates += await counter(m, 'kaidu_relay_received_total', 'duplicate');
    }
    expect(duplicates).toBeGreaterThan(0);
    // Relayed copies name where they came from.
    const relayed = [...fleet.members.values()].find((m) => m.host === hostName(39))!.events[0]!;
    expect(relayed.source).toBe('relay');
    expect(relayed.detail?.hop).toBeGreaterThanOrEqual(1);
  });

  it('one dead relay loses nobody; its parents retry with backoff, then give up and count it', async () => {
    fleet = await startRelayFleet({ n: 40, roots: [hostName(0), hostName(1)], relay: { attempts: 3, retry: { baseMs: 5, maxMs: 20 } } });
    // A host in the middle of the tree: it has children of its own.
    const inner = fleet.tree.layers[1]![0]!;
    expect(fleet.tree.children.get(inner)!.length).toBeGreaterThan(0);
    await fleet.stop(inner);
    expect(await notify(fleet, hostName(0))).toBe(202);
    await fleet.reached(39);
    await fleet.settle();
    expect(fleet.members.get(inner)!.events).toHaveLength(0);
    let failed = 0;
    let retried = 0;
    for (const m of fleet.members.values()) {
      if (m.host === inner) continue;
      expect(m.events, m.host).toHaveLength(1);
      failed += await counter(m, 'kaidu_relay_sent_total', 'failed');
      retried += await counter(m, 'kaidu_relay_sent_total', 'retried');
    }
    // Both parents of the dead host tried 3 times (2 retries each), then gave up.
    expect(failed).toBe(2);
    expect(retried).toBe(4);
  });

  it('a child that is down when the event passes gets it when it comes back within the retries', async () => {
    fleet = await startRelayFleet({ n: 12, roots: [hostName(0), hostName(1)], relay: { attempts: 50, retry: { baseMs: 20, maxMs: 200 } } });
    const leaf = fleet.tree.layers[fleet.tree.layers.length - 1]![0]!;
    expect(fleet.tree.children.get(leaf)).toEqual([]);
    await fleet.stop(leaf);
    expect(await notify(fleet, hostName(0))).toBe(202);
    await fleet.reached(11);
    // Event-driven: wait until a parent has had a failed try, then bring the leaf back.
    for (;;) {
      let retried = 0;
      for (const m of fleet.members.values()) retried += await counter(m, 'kaidu_relay_sent_total', 'retried');
      if (retried > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await fleet.restart(leaf);
    await fleet.reached(12);
    await fleet.settle();
    expect(fleet.members.get(leaf)!.events).toHaveLength(1);
  });

  it('a state push wakes only the hosts that depend on its host; the others drop it without a pass', async () => {
    // h0003 and h0004 depend on h0000; h0005 depends on h0003.
    fleet = await startRelayFleet({ n: 24, roots: [hostName(1), hostName(2)], deps: [[3, 0], [4, 0], [5, 3]] });
    expect(await notify(fleet, hostName(1), `refs/heads/kaidu/state/${hostName(0)}`)).toBe(202);
    expect(await notify(fleet, hostName(2), `refs/heads/kaidu/state/${hostName(0)}`)).toBe(202);
    await fleet.reached(2);
    await fleet.settle();
    const woken = [...fleet.members.values()].filter((m) => m.events.length > 0).map((m) => m.host);
    expect(woken).toEqual([hostName(3), hostName(4)]);
    for (const h of woken) expect(fleet.members.get(h)!.events).toHaveLength(1);
    // Copies went to the dependents only: nobody else received one.
    for (const m of fleet.members.values()) {
      if (woken.includes(m.host)) continue;
      expect(await counter(m, 'kaidu_relay_received_total', 'accepted'), m.host).toBe(0);
    }
    // The roots heard of it from the forge and dropped it for themselves.
    expect(await counter(fleet.members.get(hostName(1))!, 'kaidu_events_dropped_total', 'state')).toBe(1);
    // A host's own state push starts nothing on it.
    expect(await notify(fleet, hostName(0), `refs/heads/kaidu/state/${hostName(0)}`, 'c'.repeat(40))).toBe(202);
    await fleet.settle();
    expect(fleet.members.get(hostName(0))!.events).toHaveLength(0);
    expect(await counter(fleet.members.get(hostName(0))!, 'kaidu_events_dropped_total', 'own-state')).toBe(1);
  });

  it('refuses forged, stale, looping and malformed copies, and answers a replay as a duplicate', async () => {
    fleet = await startRelayFleet({ n: 3 });
    const target = fleet.members.get(hostName(2))!;
    const body = JSON.stringify({ ref: 'refs/heads/main', after: AFTER });
    const send = async (headers: Record<string, string>, b = body) => {
      const res = await fetch(`${target.url}/hooks/relay`, { method: 'POST', headers, body: b });
      return { status: res.status, json: (await res.json()) as { code?: string; duplicate?: boolean; accepted?: boolean } };
    };
    const env = { id: 'event-0001', path: [hostName(0)], timestamp: Date.now() };
    expect((await send(relayHeaders(env, body, 'wrong-secret'))).status).toBe(401);
    // A signature over other headers: changing the path (or hop, id, time) breaks it.
    const signed = relayHeaders(env, body, fleet.secret);
    expect((await send({ ...signed, 'x-kaidu-relay-path': hostName(1) })).status).toBe(401);
    expect((await send(signed, body.replace('main', 'mainx'))).status).toBe(401);
    const stale = await send(relayHeaders({ ...env, timestamp: Date.now() - 10 * 60_000 }, body, fleet.secret));
    expect(stale).toEqual({ status: 400, json: expect.objectContaining({ code: 'E_RELAY_STALE' }) });
    const loop = await send(relayHeaders({ ...env, id: 'event-0002', path: [hostName(0), hostName(2), hostName(1)] }, body, fleet.secret));
    expect(loop).toEqual({ status: 409, json: expect.objectContaining({ code: 'E_RELAY_LOOP' }) });
    const badId = await send(relayHeaders({ ...env, id: 'x' }, body, fleet.secret));
    expect(badId.status).toBe(400);
    const malformed = JSON.stringify({ ref: ['refs/heads/main'], after: 'HEAD' });
    expect((await send(relayHeaders({ ...env, id: 'event-0003' }, malformed, fleet.secret), malformed)).status).toBe(400);
    expect(await send(signed)).toEqual({ status: 202, json: { accepted: true, after: AFTER } });
    // The very same request again (a replay within the window): seen, dropped cheaply.
    expect(await send(signed)).toEqual({ status: 200, json: { duplicate: true } });
    await fleet.settle();
    expect(target.events).toHaveLength(1);
    expect(await counter(target, 'kaidu_relay_received_total', 'refused')).toBe(6);
    expect(await counter(target, 'kaidu_relay_received_total', 'loop')).toBe(1);
  });
});

