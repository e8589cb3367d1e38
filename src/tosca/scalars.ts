/** Scalar units (TOSCA 1.3 §3.3.6), normalized: size → bytes, time → seconds, frequency → Hz, bitrate → bits/s. */
const SIZE: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3, tb: 1e12, tib: 1024 ** 4 };
const TIME: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };
const FREQUENCY: Record<string, number> = { hz: 1, khz: 1e3, mhz: 1e6, ghz: 1e9 };
const BITRATE: Record<string, number> = {
  bps: 1, kbps: 1e3, kibps: 1024, mbps: 1e6, mibps: 1024 ** 2, gbps: 1e9, gibps: 1024 ** 3, tbps: 1e12, tibps: 1024 ** 4,
  bps_: 8, kbps_: 8e3, kibps_: 8 * 1024, mbps_: 8e6, mibps_: 8 * 1024 ** 2, gbps_: 8e9, gibps_: 8 * 1024 ** 3, tbps_: 8e12, tibps_: 8 * 1024 ** 4,
};

export const SCALAR_KINDS = { 'scalar-unit.size': SIZE, 'scalar-unit.time': TIME, 'scalar-unit.frequency': FREQUENCY, 'scalar-unit.bitrate': BITRATE } as const;
export type ScalarKind = keyof typeof SCALAR_KINDS;

/** Bitrate units are case-sensitive for bits (b) versus bytes (B); the others are not. */
function unitKey(kind: ScalarKind, unit: string): string {
  if (kind !== 'scalar-unit.bitrate') return unit.toLowerCase();
  const bytes = /B/.test(unit.replace(/ps$/i, ''));
  return unit.toLowerCase() + (bytes ? '_' : '');
}

/**
 * Texts already parsed, per kind: a big service writes the same few (`2 GB`) on every node, and a
 * type's constraint (`greater_or_equal: 0 MB`) is parsed again for each value it checks. Bounded:
 * emptied when full, so a file of a million distinct sizes cannot grow it.
 */
const PARSED = new Map<ScalarKind, Map<string, number | null>>();
const PARSED_MAX = 4096;

/** `"1 GiB"` → 1073741824; undefined when it is not a scalar of that kind. */
export function parseScalar(kind: ScalarKind, raw: unknown): number | undefined {
  if (typeof raw === 'number' && kind === 'scalar-unit.time') return raw;
  if (typeof raw !== 'string') return undefined;
  let known = PARSED.get(kind);
  if (!known) PARSED.set(kind, (known = new Map()));
  const hit = known.get(raw);
  if (hit !== undefined) return hit ?? undefined;
  if (known.size >= PARSED_MAX) known.clear();
  const n = parseScalarText(kind, raw);
  known.set(raw, n ?? null);
  return n;
}

function parseScalarText(kind: ScalarKind, raw: string): number | undefined {
  const m = /^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)\s*$/.exec(raw);
  if (!m) return undefined;
  const factor = SCALAR_KINDS[kind][unitKey(kind, m[2]!)];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

/** A user scalar type (TOSCA 2.0 `derived_from: scalar` with `units` and `prefixes`). */
export function parseCustomScalar(raw: unknown, units: Record<string, number>, prefixes: Record<string, number>): number | undefined {
  if (typeof raw !== 'string') return undefined;
  const m = /^\s*([-+]?\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(raw);
  if (!m) return undefined;
  for (const [u, uf] of Object.entries(units)) {
    if (!m[2]!.endsWith(u)) continue;
    const p = m[2]!.slice(0, m[2]!.length - u.length);
    // A prefix is optional: the bare unit stays valid when prefixes are declared.
    const pf = p === '' ? 1 : Object.prototype.hasOwnProperty.call(prefixes, p) ? prefixes[p] : undefined;
    if (pf !== undefined) return Number(m[1]) * uf * pf;
  }
  return undefined;
}

/** Versions `major.minor[.fix[.qualifier[-build]]]`, compared component by component. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => v.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}
