/**
 * The envelope of an event one agent relays to another: who it is (a stable event id, the same on
 * every copy), how far it came (hop count and the hosts it passed), and when this copy was sent.
 * All four are headers covered by one HMAC-SHA256 with the webhook secret, together with the raw
 * body, so no relay can be replayed later, re-routed or given a longer life without the secret.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const RELAY_HEADER = {
  id: 'x-kaidu-relay-id',
  hop: 'x-kaidu-relay-hop',
  path: 'x-kaidu-relay-path',
  timestamp: 'x-kaidu-relay-timestamp',
  signature: 'x-kaidu-relay-signature',
} as const;

export interface RelayEnvelope {
  /** The event's id: equal on every copy, so the second parent's copy is dropped. */
  id: string;
  /** Hosts it passed through, the entry point first and the sender last. */
  path: string[];
  /** Milliseconds since the epoch when this copy was signed. */
  timestamp: number;
}

/** More hops than any tree of a million hosts needs: a longer path is a loop or forged. */
export const MAX_RELAY_HOPS = 32;
/** A copy older (or further in the future) than this is refused as a replay; clocks must agree within it. */
export const DEFAULT_RELAY_MAX_AGE_MS = 5 * 60_000;

const ID = /^[A-Za-z0-9._:-]{8,128}$/;
const HOST = /^[\p{L}\p{N}_][\p{L}\p{N}\p{M}_.-]{0,127}$/u;

/**
 * The id of an event, the same on every copy of it. A push is named by its ref, `before` and `after`,
 * so the copies of one push that reach a host through two parents, or through two roots the forge
 * called, share it. Without `before` that name would also fit a later push back to the same commit
 * (A → B → A), and dropping that one would leave a host behind: such an event gets an id of its
 * own delivery (`unique`), at the price of more copies when several roots are called.
 */
export function eventId(ref: string, after: string | undefined, before: string | undefined, unique: string): string {
  const name = after && before ? `${ref}\0${before}\0${after}` : `${ref}\0${after ?? ''}\0${unique}`;
  return createHash('sha256').update(name).digest('hex').slice(0, 32);
}

/** What the HMAC covers: the header values as sent, then the raw body. */
function signed(id: string, hop: string, path: string, timestamp: string, body: Buffer | string, secret: string): string {
  const head = `kaidu-relay/v1\n${id}\n${hop}\n${path}\n${timestamp}\n`;
  return `sha256=${createHmac('sha256', secret).update(Buffer.concat([Buffer.from(head), Buffer.isBuffer(body) ? body : Buffer.from(body)])).digest('hex')}`;
}

export function signRelay(env: RelayEnvelope, body: Buffer | string, secret: string): string {
  return signed(env.id, String(env.path.length), env.path.join(','), String(env.timestamp), body, secret);
}

/** The headers a relayed copy carries (the body is sent as it is, as JSON). */
export function relayHeaders(env: RelayEnvelope, body: Buffer | string, secret: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    [RELAY_HEADER.id]: env.id,
    [RELAY_HEADER.hop]: String(env.path.length),
    [RELAY_HEADER.path]: env.path.join(','),
    [RELAY_HEADER.timestamp]: String(env.timestamp),
    [RELAY_HEADER.signature]: signRelay(env, body, secret),
  };
}

export type RelayCheck =
  | { ok: true; envelope: RelayEnvelope }
  | { ok: false; status: number; code: 'E_WEBHOOK_SIGNATURE' | 'E_WEBHOOK_PAYLOAD' | 'E_RELAY_STALE'; error: string };

/**
 * Checks a relayed copy: the signature first (nothing unauthenticated is looked at further), then
 * the shape of the headers, then the age of the copy.
 */
export function checkRelay(headers: Record<string, string | string[] | undefined>, body: Buffer, secret: string, now: number, maxAgeMs = DEFAULT_RELAY_MAX_AGE_MS): RelayCheck {
  const get = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const id = get(RELAY_HEADER.id) ?? '';
  const hop = get(RELAY_HEADER.hop) ?? '';
  const pathText = get(RELAY_HEADER.path) ?? '';
  const ts = get(RELAY_HEADER.timestamp) ?? '';
  const given = (get(RELAY_HEADER.signature) ?? '').trim().toLowerCase();
  const path = pathText === '' ? [] : pathText.split(',');
  const envelope: RelayEnvelope = { id, path, timestamp: Number(ts) };
  const expected = Buffer.from(signed(id, hop, pathText, ts, body, secret));
  if (!secret || given.length !== expected.length || !timingSafeEqual(Buffer.from(given), expected)) {
    return { ok: false, status: 401, code: 'E_WEBHOOK_SIGNATURE', error: `missing or wrong ${RELAY_HEADER.signature}` };
  }
  if (!ID.test(id)) return { ok: false, status: 400, code: 'E_WEBHOOK_PAYLOAD', error: `${RELAY_HEADER.id} must be 8 to 128 letters, digits, ".", "_", ":" or "-"` };
  if (!/^\d{1,3}$/.test(hop) || Number(hop) !== path.length || path.length === 0) return { ok: false, status: 400, code: 'E_WEBHOOK_PAYLOAD', error: `${RELAY_HEADER.hop} must be the number of hosts in ${RELAY_HEADER.path}` };
  if (path.length > MAX_RELAY_HOPS) return { ok: false, status: 400, code: 'E_WEBHOOK_PAYLOAD', error: `the event passed ${path.length} hosts, more than the ${MAX_RELAY_HOPS} any relay tree needs` };
  if (!path.every((h) => HOST.test(h) && !h.includes('..'))) return { ok: false, status: 400, code: 'E_WEBHOOK_PAYLOAD', error: `${RELAY_HEADER.path} must list host names separated by commas` };
  if (!/^\d{1,15}$/.test(ts)) return { ok: false, status: 400, code: 'E_WEBHOOK_PAYLOAD', error: `${RELAY_HEADER.timestamp} must be milliseconds since 1970` };
  const age = now - envelope.timestamp;
  if (Math.abs(age) > maxAgeMs) {
    return { ok: false, status: 400, code: 'E_RELAY_STALE', error: `the relayed copy was signed ${Math.round(age / 1000)} s ${age > 0 ? 'ago' : 'in the future'}, beyond the ${Math.round(maxAgeMs / 1000)} s allowed (a replay, or clocks that disagree)` };
  }
  return { ok: true, envelope };
}

/**
 * Event ids seen recently: bounded (the least recently seen go first) and forgetting an id after
 * `ttlMs`, by when a copy of it would be refused as stale anyway. Looking one up is one Map read,
 * so the second parent's copy costs almost nothing.
 */
export class SeenEvents {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly capacity = 10_000,
    private readonly ttlMs = DEFAULT_RELAY_MAX_AGE_MS,
  ) {}

  /** True when `id` was seen within the window; otherwise records it and returns false. */
  checkAndAdd(id: string, now: number): boolean {
    const at = this.seen.get(id);
    if (at !== undefined && now - at <= this.ttlMs) return true;
    this.seen.delete(id);
    this.seen.set(id, now);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
    return false;
  }

  get size(): number {
    return this.seen.size;
  }
}
