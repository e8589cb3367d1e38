/**
 * A fast reader for the plain subset of YAML that service templates are almost always written in:
 * block maps and sequences, one-line plain and quoted scalars, one-line flow collections and
 * comments. It builds the same node classes as the `yaml` library (so the compiler walks one kind
 * of tree), with the same offsets, in a fraction of the time and memory: the `yaml` composer is
 * the floor of a 100,000-node compile otherwise.
 *
 * Anything outside the subset (anchors, tags, block scalars, multi-line scalars or flow
 * collections, complex keys, duplicate keys, several documents, odd indentation) makes it give up
 * (`undefined`), and the caller parses with the `yaml` library, which reports errors precisely.
 * Given the library's reading as a fallback, node template bodies are only skimmed and read on
 * demand: one outside the subset is then taken from the library (see `Reader.lazyBlock`).
 */
import { isMap, isScalar, isSeq, LineCounter, Pair, Scalar, YAMLMap, YAMLSeq, type Node as YamlNode } from 'yaml';
import { lineTable, type LineTable } from './yaml-limits.js';

/** Thrown inside the reader only, caught at its entry: "not the simple subset". */
class NotSimple {}
const GIVE_UP = new NotSimple();
function giveUp(): never {
  throw GIVE_UP;
}

/** YAML allows an implicit key of at most 1024 characters before its `:`; the library enforces it, so do we. */
const IMPLICIT_KEY_MAX = 1024;

export interface FastParse {
  root: YamlNode | null;
  lines: LineCounter;
}

const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** The YAML 1.2 core schema, as the `yaml` library resolves plain scalars. */
export function resolvePlain(s: string): null | boolean | number | string {
  const c = s.charCodeAt(0);
  // Only strings starting with a digit, sign, dot, or one of n N t T f F ~ can be anything else.
  if (s === '' || s === '~') return null;
  if (c === 110 || c === 78) return s === 'null' || s === 'Null' || s === 'NULL' ? null : s;
  if (c === 116 || c === 84) return s === 'true' || s === 'True' || s === 'TRUE' ? true : s;
  if (c === 102 || c === 70) return s === 'false' || s === 'False' || s === 'FALSE' ? false : s;
  if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) {
    if (INT.test(s)) return Number(s);
    if (FLOAT.test(s)) return Number(s);
    // The rest start `0o`, `0x`, `.` or a sign and `.`: `2 GB` and `1.0.3` skip their tests.
    const d = s.charCodeAt(1);
    if (c === 48 && d === 111 && /^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
    if (c === 48 && d === 120 && /^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
    if ((c === 46 || ((c === 43 || c === 45) && d === 46)) && /^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
    if (c === 46 && /^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  }
  return s;
}

/*
 * Light nodes: the library's classes (same prototypes, so `isMap`, `toJSON` and `clone` work),
 * without their constructors, which define properties one by one; offsets are kept as two
 * numbers and `range` is made on demand. At 100,000 templates this halves parse time and memory.
 */
const NODE_TYPE = Symbol.for('yaml.node.type');

function light(proto: object, base: object, kind: string): void {
  Object.setPrototypeOf(proto, base);
  Object.defineProperty(proto, NODE_TYPE, { value: Symbol.for(`yaml.${kind}`) });
  if (kind !== 'pair') {
    Object.defineProperty(proto, 'range', {
      configurable: true,
      get(this: { s: number; e: number }) {
        return [this.s, this.e, this.e];
      },
      set(this: { s: number; e: number }, r: [number, number, number] | undefined) {
        this.s = r?.[0] ?? 0;
        this.e = r?.[1] ?? 0;
      },
    });
  }
}

// Fields are declared, not defined: with ES2022 class fields a constructor's parameter properties
// are first defined by an initialiser function, a call per node made (a body's maps, pairs and
// scalars, for every template), then assigned again.
class LightScalar {
  declare value: unknown;
  declare s: number;
  declare e: number;
  constructor(value: unknown, s: number, e: number) {
    this.value = value;
    this.s = s;
    this.e = e;
  }
}
class LightMap {
  declare items: LightPair[];
  declare s: number;
  declare e: number;
  declare flow: boolean;
  constructor(items: LightPair[], s: number, e: number, flow: boolean) {
    this.items = items;
    this.s = s;
    this.e = e;
    this.flow = flow;
  }
}
class LightSeq {
  declare items: YamlNode[];
  declare s: number;
  declare e: number;
  declare flow: boolean;
  constructor(items: YamlNode[], s: number, e: number, flow: boolean) {
    this.items = items;
    this.s = s;
    this.e = e;
    this.flow = flow;
  }
}
/** The key is kept as its value and offsets; `key` makes the scalar node when asked. */
class LightPair {
  declare k: unknown;
  declare ks: number;
  declare ke: number;
  declare value: YamlNode;
  constructor(k: unknown, ks: number, ke: number, value: YamlNode) {
    this.k = k;
    this.ks = ks;
    this.ke = ke;
    this.value = value;
  }
}
/**
 * A node template's map, read on demand (see `Reader.lazyBlock`): `items` reads it, `release`
 * forgets it. Its keys are known without reading it, so asking for an absent key costs nothing.
 */
class LazyMap {
  private declare cached: LightPair[] | undefined;
  private declare readonly reader: Reader;
  private declare readonly first: number;
  private declare readonly ind: number;
  private declare readonly end: number;
  declare s: number;
  declare readonly keys: readonly string[];
  constructor(reader: Reader, first: number, ind: number, end: number, s: number, keys: readonly string[]) {
    this.cached = undefined;
    this.reader = reader;
    this.first = first;
    this.ind = ind;
    this.end = end;
    this.s = s;
    this.keys = keys;
  }

  // A block map: not flow, and its range is its start (as for the other maps here); kept off the
  // instance, which 100,000 templates each have.
  get flow(): boolean {
    return false;
  }

  set flow(flow: boolean) {
    Object.defineProperty(this, 'flow', { value: flow, writable: true, enumerable: true, configurable: true });
  }

  get e(): number {
    return this.s;
  }

  set e(e: number) {
    Object.defineProperty(this, 'e', { value: e, writable: true, enumerable: true, configurable: true });
  }

  get items(): LightPair[] {
    return (this.cached ??= this.reader.reread(this.first, this.ind, this.end, this.s));
  }

  set items(items: LightPair[]) {
    this.cached = items;
  }

  release(): void {
    this.cached = undefined;
  }
}
Object.setPrototypeOf(LazyMap.prototype, LightMap.prototype);

/** Lets a node template read on demand go until it is asked for again (a no-op for other nodes). */
export function releaseNode(node: unknown): void {
  if (node instanceof LazyMap) node.release();
}

/** The keys of a map when they are known without reading it (a node template read on demand). */
export function knownKeys(node: unknown): readonly string[] | undefined {
  return node instanceof LazyMap ? node.keys : undefined;
}

/**
 * The key of a pair as a string when it is a scalar (else undefined), without making a key node:
 * lookups scan every pair of a map, and a node per pair per lookup was most of a compile's garbage.
 */
export function scalarKey(p: Pair): string | undefined {
  if (p instanceof LightPair) {
    // Nearly every key is a string already: no call to `String` for it.
    const k = p.k;
    return typeof k === 'string' ? k : String(k);
  }
  return isScalar(p.key) ? String(p.key.value) : undefined;
}

export const NOT_LIGHT: unique symbol = Symbol('not a light pair');

/** The key's own value (not a node) when the pair is one of ours; NOT_LIGHT otherwise. */
export function lightKey(p: Pair): unknown {
  return p instanceof LightPair ? p.k : NOT_LIGHT;
}

/** Offset where one of our nodes starts, without making its `range` array (undefined for the library's nodes). */
export function lightStart(node: unknown): number | undefined {
  return node instanceof LightScalar || node instanceof LightMap || node instanceof LightSeq ? node.s : undefined;
}

/** Where one of our pairs (its key) or nodes starts, asking the pair first; undefined for the library's. */
export function lightOffset(node: unknown): number | undefined {
  if (node instanceof LightPair) return node.ks;
  return lightStart(node);
}

/** Offset where a pair starts (its key), without making a key node. */
export function pairStart(p: Pair): number | undefined {
  if (p instanceof LightPair) return p.ks;
  return (p.key as YamlNode | null)?.range?.[0];
}

light(LightScalar.prototype, Scalar.prototype, 'scalar');
light(LightMap.prototype, YAMLMap.prototype, 'map');
light(LightSeq.prototype, YAMLSeq.prototype, 'seq');
light(LightPair.prototype, Pair.prototype, 'pair');
Object.defineProperty(LightPair.prototype, 'key', {
  configurable: true,
  get(this: LightPair) {
    return new LightScalar(this.k, this.ks, this.ke);
  },
  set(this: LightPair, key: { value?: unknown; range?: [number, number, number] } | null) {
    this.k = key?.value ?? key;
    this.ks = key?.range?.[0] ?? 0;
    this.ke = key?.range?.[1] ?? 0;
  },
});

/** Keys repeat (`type`, `properties`, ...): one string each, not one per line. */
function intern(table: Map<string, string>, s: string): string {
  const known = table.get(s);
  if (known !== undefined) return known;
  if (table.size < 4096) table.set(s, s);
  return s;
}

function scalar(value: unknown, start: number, end: number): Scalar {
  return new LightScalar(value, start, end) as unknown as Scalar;
}

const ESCAPES: Record<string, string> = { '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b', ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029' };

/**
 * The content lines of a line table that the subset reads (a document start marker on top left
 * out), or GIVE_UP for what it leaves to the library: a tab before content, directives, a
 * document end, a second document.
 */
function subsetContent(t: string, table: LineTable): Int32Array {
  const content = table.content;
  // Each is rare: native searches for what may start one, and only when one is found a loop over the lines.
  if (t.indexOf('\t') < 0 && t.indexOf('%') < 0 && !t.startsWith('---') && !t.startsWith('...') && t.indexOf('\n---') < 0 && t.indexOf('\n...') < 0) return content;
  const { lineStart, contentStart, lineEnd } = table;
  let top = 0;
  for (let k = 0; k < content.length; k++) {
    const line = content[k]!;
    const p = contentStart[line]!;
    const c = t.charCodeAt(p);
    if (c === 9) throw GIVE_UP; // a tab before content: let the library explain
    if (c === 45 && p === lineStart[line] && t.startsWith('---', p)) {
      // One document start marker on top is fine; anything else is another document.
      if (k > 0 || !/^---\s*(#.*)?$/.test(t.slice(p, lineEnd[line]))) throw GIVE_UP;
      top = 1;
    } else if (c === 37 || (c === 46 && p === lineStart[line] && t.startsWith('...', p))) {
      throw GIVE_UP; // directives, document end
    }
  }
  return top ? content.subarray(top) : content;
}

class Reader {
  /** Per line: offset of its first character, of its first non-space character, and of its end. */
  private readonly lineStart: Int32Array;
  private readonly contentStart: Int32Array;
  private readonly lineEnd: Int32Array;
  /** `contentStart` as first read (reading compact entries moves it), for reading node templates on demand. */
  private readonly firstContent: Int32Array | undefined;
  /** Content lines only (not blank, not comments), in order. */
  private readonly content: Int32Array;
  private readonly contentCount: number;
  private readonly keys = new Map<string, string>();
  /** Key lists of node templates read on demand: templates of one kind share one. */
  private readonly keyLists = new Map<string, readonly string[]>();
  private lastKeys: readonly string[] | undefined;
  private i = 0;
  /** Whether a compact entry moved a line's start in `contentStart` (see `reread`). */
  private moved = false;

  private libraryMaps: Map<number, YamlNode> | undefined;

  constructor(
    private readonly text: string,
    readonly lines: LineCounter,
    table: LineTable,
    /**
     * The library's reading of the whole text, for bodies outside the subset (made once, when
     * first needed). Given, node template bodies are read on demand; without it, at once.
     */
    private readonly library?: () => { root: YamlNode | null },
  ) {
    this.lineStart = table.lineStart;
    this.contentStart = table.contentStart;
    this.lineEnd = table.lineEnd;
    this.content = subsetContent(text, table);
    this.contentCount = this.content.length;
    // The line counter's binary search reads any array-like: it shares ours.
    (lines as unknown as { lineStarts: ArrayLike<number> }).lineStarts = this.lineStart;
    this.firstContent = library ? this.contentStart.slice() : undefined;
  }

  private indent(line: number): number {
    return this.contentStart[line]! - this.lineStart[line]!;
  }

  parse(): YamlNode | null {
    if (this.contentCount === 0) return null;
    const first = this.content[0]!;
    const node = this.block(first, this.indent(first));
    if (this.i < this.contentCount) throw GIVE_UP; // something left over, at a lower indent
    return node;
  }

  /** The node that starts at content line `this.i`, whose indentation is `ind`. */
  private block(line: number, ind: number, lazyValues = false): YamlNode {
    const p = this.contentStart[line]!;
    const c = this.text.charCodeAt(p);
    if (c === 45 && this.isDash(p, this.lineEnd[line]!)) return this.seq(ind);
    if (this.keyEnd(line, p) >= 0) return this.map(ind, lazyValues);
    // A lone scalar (or flow collection) on its own line.
    const node = this.inlineValue(line, p);
    this.i++;
    this.noDeeper(ind);
    return node;
  }

  private isDash(p: number, end: number): boolean {
    return p + 1 === end || this.text.charCodeAt(p + 1) === 32;
  }

  /** After an inline value, the next content line must not be deeper (a continuation). */
  private noDeeper(ind: number): void {
    const next = this.i < this.contentCount ? this.content[this.i] : undefined;
    if (next !== undefined && this.indent(next) > ind) throw GIVE_UP;
  }

  /**
   * Where the `:` of a `key: value` line is, or -1 when the line is not a map entry.
   * The key is a plain scalar or a quoted one.
   */
  private keyEnd(line: number, p: number): number {
    const t = this.text;
    const end = this.lineEnd[line]!;
    const c = t.charCodeAt(p);
    if (c === 34 || c === 39) {
      const close = this.quoteEnd(p, end);
      let q = close;
      while (q < end && t.charCodeAt(q) === 32) q++;
      if (q < end && t.charCodeAt(q) === 58 && (q + 1 === end || t.charCodeAt(q + 1) === 32)) return q - p > IMPLICIT_KEY_MAX ? giveUp() : q;
      return -1;
    }
    // Indicators that cannot start a plain key: the library handles what they mean.
    if (c === 123 || c === 91) {
      // A flow collection: a value, unless it is used as a key (`{ $concat: [..] }: x`).
      const close = this.flowSkip(p, end);
      let q = close;
      while (q < end && t.charCodeAt(q) === 32) q++;
      if (q < end && t.charCodeAt(q) === 58) throw GIVE_UP;
      return -1;
    }
    if (c === 63 || c === 38 || c === 42 || c === 33 || c === 124 || c === 62 || c === 64 || c === 96 || c === 44 || c === 93 || c === 125) throw GIVE_UP;
    if (c === 45 && this.isDash(p, end)) return -1; // a sequence entry, not a key
    for (let q = p; q < end; q++) {
      const ch = t.charCodeAt(q);
      if (ch === 58 && (q + 1 === end || t.charCodeAt(q + 1) === 32)) return q - p > IMPLICIT_KEY_MAX ? giveUp() : q;
      if (ch === 35 && t.charCodeAt(q - 1) === 32) return -1;
      if (ch === 9) throw GIVE_UP;
    }
    return -1;
  }

  /** Offset just after the closing quote of the quoted scalar at `p` (on this line). */
  private quoteEnd(p: number, end: number): number {
    const t = this.text;
    const q = t.charCodeAt(p);
    for (let k = p + 1; k < end; k++) {
      const ch = t.charCodeAt(k);
      if (q === 34 && ch === 92) {
        k++;
        continue;
      }
      if (ch === q) {
        if (q === 39 && t.charCodeAt(k + 1) === 39) {
          k++;
          continue;
        }
        return k + 1;
      }
    }
    throw GIVE_UP; // a quoted scalar over several lines
  }

  private quoted(p: number, end: number): Scalar {
    const t = this.text;
    const close = this.quoteEnd(p, end);
    const body = t.slice(p + 1, close - 1);
    let value: string;
    if (t.charCodeAt(p) === 39) value = body.includes("''") ? body.replace(/''/g, "'") : body;
    else if (!body.includes('\\')) value = body;
    else {
      let out = '';
      for (let k = 0; k < body.length; k++) {
        const ch = body[k]!;
        if (ch !== '\\') {
          out += ch;
          continue;
        }
        const e = body[++k];
        if (e === undefined) throw GIVE_UP;
        if (e === 'x' || e === 'u' || e === 'U') {
          const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          const hex = body.slice(k + 1, k + 1 + len);
          if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) throw GIVE_UP;
          const cp = parseInt(hex, 16);
          if (cp > 0x10ffff) throw GIVE_UP;
          out += String.fromCodePoint(cp);
          k += len;
          continue;
        }
        const r = ESCAPES[e];
        if (r === undefined) throw GIVE_UP;
        out += r;
      }
      value = out;
    }
    return scalar(value, p, close);
  }

  /** Nothing but spaces and a comment may follow a value on its line. */
  private restIsEmpty(q: number, end: number): void {
    const t = this.text;
    const from = q;
    while (q < end && t.charCodeAt(q) === 32) q++;
    // Only a comment may follow, and it must be separated by a space.
    if (q < end && (t.charCodeAt(q) !== 35 || q === from)) throw GIVE_UP;
  }

  /** A value on the rest of a line: quoted, flow collection or plain scalar. */
  private inlineValue(line: number, p: number): YamlNode {
    const t = this.text;
    const end = this.lineEnd[line]!;
    const c = t.charCodeAt(p);
    if (c === 34 || c === 39) {
      const s = this.quoted(p, end);
      this.restIsEmpty((s as unknown as LightScalar).e, end);
      return s;
    }
    if (c === 91 || c === 123) {
      const { node, next } = this.flow(p, end);
      this.restIsEmpty(next, end);
      return node;
    }
    // Anchors, aliases, tags, block scalars and reserved indicators are the library's.
    if (c === 38 || c === 42 || c === 33 || c === 124 || c === 62 || c === 37 || c === 64 || c === 96 || c === 93 || c === 125 || c === 44 || c === 63) throw GIVE_UP;
    if (c === 45 && this.isDash(p, end)) throw GIVE_UP; // `key: - x`
    let q = p;
    let last = p;
    for (; q < end; q++) {
      const ch = t.charCodeAt(q);
      if (ch === 35 && t.charCodeAt(q - 1) === 32) break;
      if (ch === 58 && (q + 1 === end || t.charCodeAt(q + 1) === 32)) throw GIVE_UP; // `a: b: c`
      if (ch === 9) throw GIVE_UP;
      if (ch !== 32) last = q + 1;
    }
    return scalar(this.plainText(p, last) ?? this.remember(resolvePlain(t.slice(p, last)), p, last), p, last);
  }

  /**
   * A literal (`|`) or folded (`>`) block scalar whose header is at `p` on `line`, in a block at
   * indentation `ind`: its lines are the following ones indented deeper (comments included).
   * Explicit indentation, `+` chomping, leading blank lines and more-indented folded lines are
   * left to the library.
   */
  private blockScalar(line: number, p: number, ind: number): YamlNode {
    const t = this.text;
    const end = this.lineEnd[line]!;
    const literal = t.charCodeAt(p) === 124;
    let q = p + 1;
    let strip = false;
    if (t.charCodeAt(q) === 45) {
      strip = true;
      q++;
    } else if (t.charCodeAt(q) === 43) throw GIVE_UP;
    const d = t.charCodeAt(q);
    if (d >= 48 && d <= 57) throw GIVE_UP;
    this.restIsEmpty(q, end);
    const total = this.lineStart.length;
    let blockIndent = -1;
    let lastContent = line;
    const parts: string[] = [];
    for (let l = line + 1; l < total; l++) {
      const ls = this.lineStart[l]!;
      const le = this.lineEnd[l]!;
      let k = ls;
      while (k < le && t.charCodeAt(k) === 32) k++;
      if (k === le) {
        if (blockIndent < 0 || le - ls > blockIndent) throw GIVE_UP;
        parts.push('');
        continue;
      }
      if (t.charCodeAt(k) === 9) throw GIVE_UP;
      const indent = k - ls;
      if (indent <= ind) break;
      if (blockIndent < 0) blockIndent = indent;
      else if (indent < blockIndent) throw GIVE_UP;
      if (!literal && indent > blockIndent) throw GIVE_UP;
      parts.push(t.slice(ls + blockIndent, le));
      lastContent = l;
    }
    while (parts.length && parts[parts.length - 1] === '') parts.pop();
    let body: string;
    if (literal) body = parts.join('\n');
    else {
      body = '';
      let empty = 0;
      for (const part of parts) {
        if (part === '') {
          empty++;
          continue;
        }
        if (body !== '') body += empty === 0 ? ' ' : '\n'.repeat(empty);
        body += part;
        empty = 0;
      }
    }
    if (!strip && body !== '') body += '\n';
    // Past every content line of the block (comment-like lines inside it included).
    while (this.i < this.contentCount && this.content[this.i]! <= lastContent) this.i++;
    return scalar(body, p, this.lineEnd[lastContent]!);
  }

  /** Skips a one-line flow collection without building it (to tell a flow key from a value). */
  private flowSkip(p: number, end: number): number {
    const t = this.text;
    let depth = 0;
    for (let q = p; q < end; q++) {
      const ch = t.charCodeAt(q);
      if (ch === 34 || ch === 39) q = this.quoteEnd(q, end) - 1;
      else if (ch === 91 || ch === 123) depth++;
      else if (ch === 93 || ch === 125) {
        depth--;
        if (depth === 0) return q + 1;
      }
    }
    throw GIVE_UP; // over several lines
  }

  private flow(p: number, end: number): { node: YamlNode; next: number } {
    const t = this.text;
    const ws = (q: number) => {
      while (q < end && t.charCodeAt(q) === 32) q++;
      if (q < end && t.charCodeAt(q) === 35) throw GIVE_UP; // a comment inside: over several lines
      return q;
    };
    const value = (q: number): { node: YamlNode; next: number } => {
      q = ws(q);
      if (q >= end) throw GIVE_UP;
      const c = t.charCodeAt(q);
      if (c === 91 || c === 123) return this.flow(q, end);
      if (c === 34 || c === 39) {
        const s = this.quoted(q, end) as unknown as LightScalar;
        return { node: s as unknown as YamlNode, next: s.e };
      }
      return plain(q);
    };
    const plain = (q: number): { node: YamlNode; next: number } => {
      const c = t.charCodeAt(q);
      if (c === 38 || c === 42 || c === 33 || c === 124 || c === 62 || c === 37 || c === 64 || c === 96 || c === 63 || c === 35) throw GIVE_UP;
      // `-` starts a plain scalar only before a safe character; a bare `-` (`[a, -]`, `{k: -}`) is a
      // block entry in flow, which the library refuses (BLOCK_IN_FLOW).
      if (c === 45 && (q + 1 >= end || isFlowBreak(t.charCodeAt(q + 1)))) throw GIVE_UP;
      let k = q;
      let last = q;
      for (; k < end; k++) {
        const ch = t.charCodeAt(k);
        if (ch === 44 || ch === 91 || ch === 93 || ch === 123 || ch === 125) break;
        if (ch === 58) {
          const n = t.charCodeAt(k + 1);
          if (k + 1 === end || n === 32 || n === 44 || n === 93 || n === 125 || n === 91 || n === 123) break;
        }
        if (ch === 35 && t.charCodeAt(k - 1) === 32) throw GIVE_UP;
        if (ch === 9) throw GIVE_UP;
        if (ch !== 32) last = k + 1;
      }
      if (last === q) throw GIVE_UP; // an empty entry (`[a, , b]`): the library says what is wrong
      return { node: scalar(resolvePlain(t.slice(q, last)), q, last), next: k };
    };
    if (t.charCodeAt(p) === 91) {
      const items: YamlNode[] = [];
      let q = ws(p + 1);
      while (true) {
        if (q >= end) throw GIVE_UP;
        if (t.charCodeAt(q) === 93) break;
        const item = value(q);
        q = ws(item.next);
        if (t.charCodeAt(q) === 58) throw GIVE_UP; // a single-pair map in a sequence
        items.push(item.node);
        if (t.charCodeAt(q) === 44) q = ws(q + 1);
        else if (t.charCodeAt(q) !== 93) throw GIVE_UP;
      }
      const seq = new LightSeq(items, p, q + 1, true);
      return { node: seq as unknown as YamlNode, next: q + 1 };
    }
    const items: LightPair[] = [];
    let q = ws(p + 1);
    while (true) {
      if (q >= end) throw GIVE_UP;
      if (t.charCodeAt(q) === 125) break;
      const c = t.charCodeAt(q);
      if (c === 91 || c === 123) throw GIVE_UP; // a collection as a key
      const key = c === 34 || c === 39 ? (() => { const s = this.quoted(q, end) as unknown as LightScalar; return { node: s as unknown as YamlNode, next: s.e }; })() : plain(q);
      const ks = key.node as unknown as LightScalar;
      if (hasKey(items, ks.value)) throw GIVE_UP; // duplicate: the library reports it
      q = ws(key.next);
      let val: YamlNode;
      if (t.charCodeAt(q) === 58) {
        q = ws(q + 1);
        const ch = t.charCodeAt(q);
        if (ch === 44 || ch === 125) val = scalar(null, q, q);
        else {
          const v = value(q);
          val = v.node;
          q = ws(v.next);
        }
      } else val = scalar(null, q, q);
      items.push(new LightPair(ks.value, ks.s, ks.e, val));
      if (t.charCodeAt(q) === 44) q = ws(q + 1);
      else if (t.charCodeAt(q) !== 125) throw GIVE_UP;
    }
    const map = new LightMap(items, p, q + 1, true);
    return { node: map as unknown as YamlNode, next: q + 1 };
  }

  /**
   * A node template's body, read when the compiler asks for it and dropped after: here only its
   * extent and its own keys are found. A 100,000-template service otherwise keeps a tree ten times
   * the size of its text alive through the whole compile, and copying that tree between heap
   * generations cost more than reading it. A body outside the subset is found when it is read;
   * it is then taken from the library's reading of the whole document (see `fromLibrary`).
   */
  private lazyBlock(line: number, ind: number): YamlNode {
    const p = this.contentStart[line]!;
    if (this.keyEnd(line, p) < 0) return this.block(line, ind); // a sequence or a scalar: read now
    const first = this.i;
    // Consecutive templates are mostly of one kind: while this one's keys are the last one's, in
    // order, they are compared in place; a list of its own (and a string per key) is made only
    // from the first key that differs.
    const last = this.lastKeys;
    let keys: string[] | undefined = last ? undefined : [];
    let count = 0;
    const t = this.text;
    while (this.i < this.contentCount) {
      const l = this.content[this.i]!;
      const li = this.indent(l);
      if (li < ind) break;
      if (li === ind) {
        const q = this.contentStart[l]!;
        const colon = this.keyEnd(l, q);
        if (colon >= 0) {
          if (keys === undefined && count < last!.length && this.keyIs(q, colon, last![count]!)) count++;
          else {
            keys ??= last!.slice(0, count);
            const k = String(this.key(q, this.lineEnd[l]!, colon));
            if (keys.includes(k)) throw GIVE_UP; // the library reports duplicates
            keys.push(k);
            count++;
          }
        } else if (t.charCodeAt(q) !== 45 || !this.isDash(q, this.lineEnd[l]!)) throw GIVE_UP; // not an entry (a dash line is a key's compact list)
      }
      this.i++;
    }
    if (keys === undefined && count < last!.length) keys = last!.slice(0, count); // fewer keys than the last one
    let shared = keys === undefined ? last! : undefined;
    if (!shared) {
      const id = keys!.join('\0');
      const known = this.keyLists.get(id);
      shared = known ?? Object.freeze(keys!);
      if (!known && this.keyLists.size < 1024) this.keyLists.set(id, shared);
      this.lastKeys = shared;
    }
    return new LazyMap(this, first, ind, this.i, p, shared) as unknown as YamlNode;
  }

  /** The library's reading of the map that starts at `offset` (a body the subset cannot read). */
  fromLibrary(offset: number): LightPair[] {
    if (!this.libraryMaps) {
      this.libraryMaps = new Map();
      const index = (n: unknown): void => {
        if (isMap(n)) {
          const start = (n as YamlNode).range?.[0];
          if (start !== undefined && !this.libraryMaps!.has(start)) this.libraryMaps!.set(start, n as YamlNode);
          for (const pair of (n as YAMLMap).items) index(pair.value);
        } else if (isSeq(n)) for (const i of (n as YAMLSeq).items) index(i);
      };
      index(this.library!().root);
    }
    const found = this.libraryMaps.get(offset);
    return found ? ((found as unknown as YAMLMap).items as unknown as LightPair[]) : [];
  }

  /** The entries of the block map skimmed before, from content line index `first` up to `end`; it starts at `offset`. */
  reread(first: number, ind: number, end: number, offset: number): LightPair[] {
    // Compact entries (`- key: v`) moved their line's start while being read: put it back (when
    // any was read at all: most files have none in their templates).
    if (this.moved) {
      for (let k = first; k < end; k++) {
        const line = this.content[k]!;
        this.contentStart[line] = this.firstContent![line]!;
      }
    }
    const saved = this.i;
    this.i = first;
    try {
      // The skim found a `key:` on the first line (see `lazyBlock`), so `block` would read a map:
      // its entries are read directly, without a map object that would be dropped at once.
      const items = this.mapItems(ind, false);
      if (this.i !== end) throw GIVE_UP;
      return items;
    } catch (e) {
      if (e !== GIVE_UP) throw e;
      this.pairStack.length = 0;
      this.itemStack.length = 0;
      return this.fromLibrary(offset);
    } finally {
      this.i = saved;
    }
  }

  /**
   * Whether the plain key before the `:` at `colon` reads as `want` (as `String(this.key(..))`
   * would), without making its string. Only a key that reads as its own text qualifies (not
   * `null`, `1.0` or a quoted one): anything else takes the long way.
   */
  private keyIs(p: number, colon: number, want: string): boolean {
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === 34 || c === 39) return false;
    let last = colon;
    while (last > p && t.charCodeAt(last - 1) === 32) last--;
    return last - p === want.length && t.startsWith(want, p) && resolvePlain(want) === want;
  }

  /** Where the last key read by `key` ends (a field, not a result object: one per line adds up). */
  private keyStop = 0;

  /**
   * Entries of the block maps (and items of the block sequences) being read, nested ones on top
   * of their parents': each collection gets an array of its own exact size when it ends, not one
   * grown by pushes (a pushed-to empty array reserves 17 slots: most of a small map's garbage).
   * Emptied again where a reading that gave up is caught (`reread`).
   */
  private readonly pairStack: LightPair[] = [];
  private readonly itemStack: YamlNode[] = [];

  /** The value of the key of a `key: value` line starting at `p`, whose `:` is at `colon`; where it ends goes to `keyStop`. `shared`: one string per key text (see `intern`). */
  private key(p: number, end: number, colon: number, shared = true): unknown {
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === 34 || c === 39) {
      const q = this.quoted(p, end) as unknown as LightScalar;
      this.keyStop = q.e;
      return q.value;
    }
    let last = colon;
    while (last > p && t.charCodeAt(last - 1) === 32) last--;
    this.keyStop = last;
    if (!shared) return resolvePlain(t.slice(p, last));
    const seen = this.plainText(p, last);
    if (seen !== undefined) return seen;
    const v = resolvePlain(t.slice(p, last));
    return typeof v === 'string' ? this.remember(intern(this.keys, v), p, last) : v;
  }

  /**
   * Plain scalars read before, by where their text ends: a key or value met again (`type`,
   * `properties`, a type name) is compared in place and its string reused, not sliced anew, hashed
   * and looked up. Only texts that read as themselves (strings, not `1` or `null`) are kept.
   */
  private readonly plainSeen: (string | undefined)[] = new Array(256).fill(undefined);

  /** The string read before from the text between `p` and `last`, if it is in `plainSeen`. */
  private plainText(p: number, last: number): string | undefined {
    const seen = this.plainSeen[this.plainSlot(p, last)];
    if (seen !== undefined && seen.length === last - p && this.text.startsWith(seen, p)) return seen;
    return undefined;
  }

  /** Where the text between `p` and `last` is kept in `plainSeen`: by its ends and length. */
  private plainSlot(p: number, last: number): number {
    const t = this.text;
    return (t.charCodeAt(p) * 7 + t.charCodeAt(last - 1) * 3 + (last - p)) & 255;
  }

  /** Remembers a plain scalar's string (see `plainSeen`); any other value is passed through. */
  private remember<T>(v: T, p: number, last: number): T {
    if (typeof v === 'string' && last > p) this.plainSeen[this.plainSlot(p, last)] = v;
    return v;
  }

  /** A block map whose keys sit at indentation `ind`, starting at content line `this.i`. */
  private map(ind: number, lazyValues = false): YamlNode {
    // It starts where its first entry does (`mapItems` refuses a first line at another indentation).
    const first = this.i < this.contentCount ? this.content[this.i]! : -1;
    const start = first >= 0 && this.indent(first) === ind ? this.contentStart[first]! : -1;
    return new LightMap(this.mapItems(ind, lazyValues), start, start, false) as unknown as YamlNode;
  }

  /** The entries of the block map at content line `this.i` whose keys sit at indentation `ind` (see `map`). */
  private mapItems(ind: number, lazyValues: boolean): LightPair[] {
    const t = this.text;
    const stack = this.pairStack;
    const base = stack.length;
    let keys: Set<unknown> | undefined;
    while (this.i < this.contentCount) {
      const line = this.content[this.i]!;
      const li = this.indent(line);
      if (li < ind) break;
      if (li > ind) throw GIVE_UP;
      const p = this.contentStart[line]!;
      const end = this.lineEnd[line]!;
      const colon = this.keyEnd(line, p);
      if (colon < 0) throw GIVE_UP; // a non-entry among entries
      const ks = p;
      // Keys of a map whose values are read on demand are node template names, each met once:
      // interned, they would fill the table before the keys that repeat (`type`, `properties`).
      const kv = this.key(p, end, colon, !lazyValues);
      const ke = this.keyStop;
      // Duplicates make it give up (the library reports them); a set only for big maps.
      if (keys) {
        if (keys.has(kv)) throw GIVE_UP;
        keys.add(kv);
      } else if (hasKeyFrom(stack, base, kv)) throw GIVE_UP;
      else if (stack.length - base === 16) keys = new Set(stack.slice(base).map((i) => i.k).concat([kv]));
      let q = colon + 1;
      while (q < end && t.charCodeAt(q) === 32) q++;
      let value: YamlNode;
      if (q < end && (t.charCodeAt(q) === 124 || t.charCodeAt(q) === 62)) {
        value = this.blockScalar(line, q, ind);
      } else if (q < end && t.charCodeAt(q) !== 35) {
        value = this.inlineValue(line, q);
        this.i++;
        this.noDeeper(ind);
      } else {
        this.i++;
        const next = this.i < this.contentCount ? this.content[this.i] : undefined;
        const ni = next === undefined ? -1 : this.indent(next);
        if (next !== undefined && ni > ind) value = lazyValues ? this.lazyBlock(next, ni) : this.block(next, ni, kv === 'node_templates' && this.library !== undefined);
        else if (next !== undefined && ni === ind && t.charCodeAt(this.contentStart[next]!) === 45 && this.isDash(this.contentStart[next]!, this.lineEnd[next]!)) value = this.seq(ind);
        else value = scalar(null, end, end);
      }
      stack.push(new LightPair(kv, ks, ke, value));
    }
    const items = stack.slice(base);
    stack.length = base;
    return items;
  }

  /** A block sequence whose dashes sit at indentation `ind`. */
  private seq(ind: number): YamlNode {
    const t = this.text;
    const items = this.itemStack;
    const base = items.length;
    let start = -1;
    while (this.i < this.contentCount) {
      const line = this.content[this.i]!;
      const li = this.indent(line);
      if (li < ind) break;
      if (li > ind) throw GIVE_UP;
      const p = this.contentStart[line]!;
      const end = this.lineEnd[line]!;
      if (t.charCodeAt(p) !== 45 || !this.isDash(p, end)) break; // the parent map goes on
      if (start < 0) start = p;
      let q = p + 1;
      while (q < end && t.charCodeAt(q) === 32) q++;
      if (q >= end || t.charCodeAt(q) === 35) {
        // `-` alone: the item is the deeper block below
        this.i++;
        const next = this.i < this.contentCount ? this.content[this.i] : undefined;
        const ni = next === undefined ? -1 : this.indent(next);
        items.push(next !== undefined && ni > ind ? this.block(next, ni) : scalar(null, end, end));
        continue;
      }
      const c = t.charCodeAt(q);
      if (c === 124 || c === 62) {
        items.push(this.blockScalar(line, q, ind));
        continue;
      }
      // `- key: value` or `- - x`: a compact block at the column of its first character.
      if ((c === 45 && this.isDash(q, end)) || this.keyEnd(line, q) >= 0) {
        // From here on the line's indentation is measured to that column.
        this.contentStart[line] = q;
        this.moved = true;
        items.push(this.block(line, q - this.lineStart[line]!));
        continue;
      }
      items.push(this.inlineValue(line, q));
      this.i++;
      this.noDeeper(ind);
    }
    const own = items.slice(base);
    items.length = base;
    return new LightSeq(own, start, start, false) as unknown as YamlNode;
  }
}

/** A space, tab or flow indicator (`, [ ] { }`): what may not follow a `-` that starts a plain scalar in flow. */
function isFlowBreak(ch: number): boolean {
  return ch === 32 || ch === 9 || ch === 44 || ch === 91 || ch === 93 || ch === 123 || ch === 125;
}

function hasKey(items: LightPair[], key: unknown): boolean {
  return hasKeyFrom(items, 0, key);
}

function hasKeyFrom(items: LightPair[], from: number, key: unknown): boolean {
  for (let j = from; j < items.length; j++) if (items[j]!.k === key) return true;
  return false;
}

/** Whether a text may be in the subset at all: no carriage returns, no byte order mark. */
export function fastReadable(text: string): boolean {
  return !text.includes('\r') && text.charCodeAt(0) !== 0xfeff;
}

/**
 * The template as `yaml` nodes, or undefined when it is not in the simple subset. `table`: the
 * text's line table from `checkYamlLines` (the caller's depth check); made here when not given.
 */
export function parseFast(text: string, library?: () => { root: YamlNode | null }, table?: LineTable): FastParse | undefined {
  if (!fastReadable(text)) return undefined;
  const lines = new LineCounter();
  try {
    const reader = new Reader(text, lines, table ?? lineTable(text), library);
    return { root: reader.parse(), lines };
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    // Any other failure of this reader: the library's parse is the answer.
    return undefined;
  }
}
