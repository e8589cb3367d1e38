/**
 * Limits on every YAML file Kaidu reads from a user's repository (templates, state files,
 * `kaidu.yaml`): size, nesting depth, and alias expansion. Anyone who can open a pull request
 * feeds these files to CI and to every agent, so a file that would take minutes or gigabytes to
 * read is refused up front, with a diagnostic that says where, in milliseconds.
 *
 * The `yaml` library guards its own `toJS` against alias bombs ("Excessive alias count"), but
 * Kaidu walks the node tree, with aliases replaced by copies of what they name: that expansion is
 * bounded here (`expandAliases`). Depth is checked on the text before any parser (ours or the
 * library's) recurses into it (`checkYamlText`; `checkYamlLines` for templates, whose fast reader
 * takes its line table from the same pass).
 */
import { Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, YAMLParseError, type DocumentOptions, type Node as YamlNode, type ParseOptions, type SchemaOptions } from 'yaml';
import type { Diagnostic } from './diagnostic.js';

export interface YamlLimits {
  /** Largest file, in bytes (UTF-8). */
  maxBytes: number;
  /** Deepest nesting of collections (block and flow), as written. */
  maxDepth: number;
  /** Most aliases (`*name`) in one file. */
  maxAliases: number;
  /** Most nodes that replacing aliases by copies may add to the tree (what a billion-laughs file multiplies). */
  maxAliasNodes: number;
}

const MiB = 1024 * 1024;

/** Nesting: real templates stay below 20 levels; 200 keeps every recursive walk far from the stack's end. */
const MAX_DEPTH = 200;

/** Service templates: the 100,000-node benchmark service is about 20 MiB. */
export const TEMPLATE_LIMITS: YamlLimits = { maxBytes: 64 * MiB, maxDepth: MAX_DEPTH, maxAliases: 10_000, maxAliasNodes: 100_000 };
/** State files: written by agents, one service's nodes each. */
export const STATE_LIMITS: YamlLimits = { maxBytes: 128 * MiB, maxDepth: MAX_DEPTH, maxAliases: 10_000, maxAliasNodes: 100_000 };
/** `kaidu.yaml`: a page of settings. */
export const SETTINGS_LIMITS: YamlLimits = { maxBytes: 1 * MiB, maxDepth: MAX_DEPTH, maxAliases: 1_000, maxAliasNodes: 10_000 };

function limitDiagnostic(code: 'E_YAML_TOO_LARGE' | 'E_YAML_TOO_DEEP' | 'E_YAML_ALIAS_LIMIT', message: string, file: string, line: number, column: number, hint: string): Diagnostic {
  return { severity: 'error', code, message, file, line, column, hint };
}

/**
 * Size and nesting depth of a YAML text, before it is parsed: the first limit it breaks, or
 * undefined. One linear pass over the text; depth is counted from indentation, sequence dashes
 * and flow brackets (outside quotes, comments and block scalars), which bounds what any parser
 * would build from it.
 */
export function checkYamlText(text: string, file: string, limits: YamlLimits): Diagnostic | undefined {
  return tooLarge(text, file, limits) ?? tooDeep(scan(text, limits.maxDepth, true, false), file, limits);
}

/**
 * `checkYamlText`, and the line table of a text within the limits, from the same pass (what the
 * fast reader reads a template from, so that a file is not walked twice before it is read).
 */
export function checkYamlLines(text: string, file: string, limits: YamlLimits): { refused: Diagnostic; lines?: undefined } | { refused?: undefined; lines: LineTable } {
  const large = tooLarge(text, file, limits);
  if (large) return { refused: large };
  const scanned = scan(text, limits.maxDepth, true, true);
  const deep = tooDeep(scanned, file, limits);
  return deep ? { refused: deep } : { lines: scanned.lines! };
}

function tooLarge(text: string, file: string, limits: YamlLimits): Diagnostic | undefined {
  // A UTF-8 byte is at most one UTF-16 unit and a unit at most three bytes: count only when it matters.
  if (text.length > limits.maxBytes || (text.length * 3 > limits.maxBytes && Buffer.byteLength(text, 'utf8') > limits.maxBytes)) {
    const size = Buffer.byteLength(text, 'utf8');
    return limitDiagnostic('E_YAML_TOO_LARGE', `file is ${size} bytes, more than the ${limits.maxBytes} bytes Kaidu reads`, file, 1, 1, 'split it into several files');
  }
  return undefined;
}

function tooDeep(scanned: Scanned, file: string, limits: YamlLimits): Diagnostic | undefined {
  const deep = scanned.deep;
  return deep ? limitDiagnostic('E_YAML_TOO_DEEP', `nesting deeper than ${limits.maxDepth} levels`, file, deep.line, deep.column, 'flatten the structure') : undefined;
}

/**
 * Per line of a text (0-based): the offset of its first character, of its first character that
 * is not a space, and of its end (its newline, or the text's end); and its content lines (neither
 * blank nor a comment), in order.
 */
export interface LineTable {
  lineStart: Int32Array;
  contentStart: Int32Array;
  lineEnd: Int32Array;
  content: Int32Array;
}

interface Scanned {
  /** Where nesting first exceeds the limit (1-based line and column). */
  deep?: { line: number; column: number };
  /** Made when asked for and the limit holds. */
  lines?: LineTable;
}

const SPACE = 32;
const TAB = 9;
const CR = 13;
const HASH = 35;
const DQ = 34;
const SQ = 39;
const OPEN_SQ = 91;
const CLOSE_SQ = 93;
const OPEN_CURLY = 123;
const CLOSE_CURLY = 125;
const COMMA = 44;
const COLON = 58;
const DASH = 45;
const QUESTION = 63;
const AMP = 38;
const BANG = 33;
const PIPE = 124;
const GT = 62;

/** A quote, a flow bracket or a block-scalar indicator: what can carry state over to the next line. */
const CARRIES = /["'[{|>]/g;
/** Any character but a space (a line's first one: at most its newline). */
const NON_SPACE = /[^ ]/g;

/**
 * Where nesting first exceeds `max` (1-based line and column), or undefined. `skipPlain` (the
 * default; off only for the tests that compare both) lets lines that cannot matter go unread.
 */
export function scanDepth(t: string, max: number, skipPlain = true): { line: number; column: number } | undefined {
  return scan(t, max, skipPlain, false).deep;
}

/** The line table of a text, its depth not checked (for readers whose caller checked it). */
export function lineTable(text: string): LineTable {
  return scan(text, Infinity, true, true).lines!;
}

/** A typed array twice as long, holding what `a` holds. */
function doubled(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** What a line leaves open for the next ones, as the depth scan reads them. */
class Open {
  /** Open flow brackets. */
  flow = 0;
  /** The open quote character, for quoted scalars over several lines. */
  quote = 0;
  /** Indentation of the line that opened a block scalar, or -1. */
  blockScalarOf = -1;
  /** Block levels of the line being read (or of the line a flow collection or quote started on). */
  base = 0;
}

/** Where the text from `p` to `end` ends when trailing spaces, tabs and carriage returns are left out. */
function trimmedEnd(t: string, p: number, end: number): number {
  let last = end;
  while (last > p && (t.charCodeAt(last - 1) === SPACE || t.charCodeAt(last - 1) === CR || t.charCodeAt(last - 1) === TAB)) last--;
  return last;
}

/**
 * `scanDepth`, and with `table` the line table of the text, in the same pass over its lines.
 *
 * This loop does what every line needs (the table, the indentation stack, deciding whether the
 * line can matter); `lookAtLine` reads the few lines that can, character by character. Kept
 * apart, the loop is small enough for V8 to optimize early in a single run and at little cost
 * (as one function, a 10,000-node template was mostly read by unoptimized code).
 */
function scan(t: string, max: number, skipPlain: boolean, table: boolean): Scanned {
  const n = t.length;
  // Offset of the next character CARRIES matches (n when none is left): found by the regex
  // engine, once per match, so lines without one cost no loop over their characters.
  let carries = -1;
  // Indentation of the enclosing block lines: `stack[0..levels)`; written in place, not pushed and popped.
  const stack: number[] = [];
  let levels = 0;
  const open = new Open();
  // What the last line read by \`lookAtLine\` left open, in locals: every line asks, few lines change it.
  let blockScalarOf = -1;
  let inFlowOrQuote = false;
  let line = 0;
  let start = 0;
  // The line table, sized by a guess (most YAML lines are longer than 16 characters) and doubled
  // when the guess falls short: counting the lines first would be one more pass over the text.
  let size = table ? (n >> 4) + 16 : 0;
  let lineStart: Int32Array = new Int32Array(size);
  let contentStart: Int32Array = new Int32Array(size);
  let lineEnd: Int32Array = new Int32Array(size);
  let content: Int32Array = new Int32Array(size);
  let contentCount = 0;
  while (start <= n) {
    let end = t.indexOf('\n', start);
    if (end < 0) end = n;
    // The line's first non-space, found by the regex engine: until V8 optimizes this loop (late,
    // in one run) a loop over the spaces was a few builtin calls per character, ~20% of the scan.
    NON_SPACE.lastIndex = start;
    let p = NON_SPACE.test(t) ? NON_SPACE.lastIndex - 1 : n;
    if (p > end) p = end;
    const c0 = p < end ? t.charCodeAt(p) : -1;
    if (table) {
      if (line === size) {
        size *= 2;
        lineStart = doubled(lineStart);
        contentStart = doubled(contentStart);
        lineEnd = doubled(lineEnd);
        content = doubled(content);
      }
      lineStart[line] = start;
      contentStart[line] = p;
      lineEnd[line] = end;
      if (c0 >= 0 && c0 !== HASH) content[contentCount++] = line;
    }
    line++;
    const next = end + 1;
    // Only a line whose first non-space is a tab or a carriage return (or none) may be blank.
    if ((c0 < 0 || c0 === TAB || c0 === CR) && trimmedEnd(t, p, end) <= p) {
      start = next;
      continue;
    }
    const indent = p - start;
    if (blockScalarOf >= 0) {
      if (indent > blockScalarOf) {
        start = next;
        continue;
      }
      blockScalarOf = -1;
    }
    // At the line's start a node may begin, unless a flow collection or a quote goes on.
    const nodeStart = !inFlowOrQuote;
    if (nodeStart) {
      if (c0 === HASH) {
        start = next;
        continue;
      }
      while (levels > 0 && stack[levels - 1]! >= indent) levels--;
      stack[levels++] = indent;
      if (levels > max) return { deep: { line, column: indent + 1 } };
      // Most lines are `key: value`. One without a quote, bracket or block-scalar indicator leaves
      // no state for the next line, and each indicator it may hold (`- `, `? `, `: `) takes at
      // least a character: when even one level per character stays within `max`, it cannot be
      // the line that breaks the limit, and its characters need not be looked at. (Measured to
      // the line's end, trailing spaces included: a bound, so it need not find where they start.)
      if (skipPlain && levels + (end - p) <= max) {
        if (carries < p) {
          CARRIES.lastIndex = p;
          carries = CARRIES.test(t) ? CARRIES.lastIndex - 1 : n;
        }
        if (carries >= end) {
          start = next;
          continue;
        }
      }
      open.base = levels;
    }
    open.blockScalarOf = -1;
    const column = lookAtLine(t, open, start, p, trimmedEnd(t, p, end), nodeStart, max);
    if (column > 0) return { deep: { line, column } };
    blockScalarOf = open.blockScalarOf;
    inFlowOrQuote = open.quote !== 0 || open.flow !== 0;
    start = next;
  }
  return table ? { lines: { lineStart: lineStart.subarray(0, line), contentStart: contentStart.subarray(0, line), lineEnd: lineEnd.subarray(0, line), content: content.subarray(0, contentCount) } } : {};
}

/**
 * Reads one line's characters from its content at `p` to `last` (its end, trailing blanks left
 * out): the indicators that open a level on the line, flow brackets, quotes, a block scalar's
 * start; what stays open goes to `open`. The 1-based column where nesting exceeds `max`, or 0.
 */
function lookAtLine(t: string, open: Open, start: number, p: number, last: number, nodeStart: boolean, max: number): number {
  const indent = p - start;
  let { flow, quote, base } = open;
  let q = p;
  let column = 0;
  while (q < last) {
    const c = t.charCodeAt(q);
    if (quote !== 0) {
      // Inside a quoted scalar: find its end on this line.
      if (quote === DQ && c === 92) {
        q += 2;
        continue;
      }
      if (c === quote) {
        if (quote === SQ && t.charCodeAt(q + 1) === SQ) {
          q += 2;
          continue;
        }
        quote = 0;
      }
      q++;
      continue;
    }
    if (c === SPACE || c === TAB) {
      q++;
      continue;
    }
    if (c === HASH && (q === p || t.charCodeAt(q - 1) === SPACE || t.charCodeAt(q - 1) === TAB)) break; // a comment
    if (flow > 0) {
      if (c === OPEN_SQ || c === OPEN_CURLY) {
        flow++;
        if (base + flow > max) {
          column = q - start + 1;
          break;
        }
      } else if (c === CLOSE_SQ || c === CLOSE_CURLY) flow--;
      else if (c === DQ || c === SQ) {
        const before = q === p ? SPACE : t.charCodeAt(q - 1);
        if (before === SPACE || before === TAB || before === OPEN_SQ || before === OPEN_CURLY || before === COMMA || before === COLON) quote = c;
      }
      q++;
      continue;
    }
    if (nodeStart) {
      // Indicators that open a nested block on the same line: `- `, `? `, `: `.
      if ((c === DASH || c === QUESTION || c === COLON) && (q + 1 >= last || t.charCodeAt(q + 1) === SPACE || t.charCodeAt(q + 1) === TAB)) {
        base++;
        if (base > max) {
          column = q - start + 1;
          break;
        }
        q += 2;
        continue;
      }
      if (c === AMP || c === BANG) {
        // an anchor or a tag before the node
        while (q < last && t.charCodeAt(q) !== SPACE && t.charCodeAt(q) !== TAB) q++;
        continue;
      }
      nodeStart = false;
      if (c === OPEN_SQ || c === OPEN_CURLY) {
        flow = 1;
        if (base + flow > max) {
          column = q - start + 1;
          break;
        }
        q++;
        continue;
      }
      if (c === DQ || c === SQ) {
        quote = c;
        q++;
        continue;
      }
      if (c === PIPE || c === GT) {
        open.blockScalarOf = indent;
        break;
      }
    }
    // A plain scalar (or a key): a `: ` after it starts its value.
    if (c === COLON && (q + 1 >= last || t.charCodeAt(q + 1) === SPACE || t.charCodeAt(q + 1) === TAB)) nodeStart = true;
    q++;
  }
  open.flow = flow;
  open.quote = quote;
  open.base = base;
  return column;
}

/**
 * Replaces every alias of a parsed document by the node it names (so later walks see plain
 * nodes; the tree becomes a graph that shares them), within the limits: alias count, nodes added, depth. Returns the problems (an
 * alias without anchor, an alias inside the node it names, a limit crossed); on a limit, the
 * document is left as it was and must not be used.
 */
export function expandAliases(doc: Document, lines: LineCounter, file: string, limits: YamlLimits): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const at = (node: { range?: [number, number, number] | null }) => lines.linePos(node.range?.[0] ?? 0);
  const anchors = new Map<string, YamlNode>();
  /** Nodes and collection height of each anchored node measured so far (an alias weighs its target's size). */
  const measured = new Map<YamlNode, { size: number; height: number }>();
  const open = new Set<YamlNode>();
  let aliases = 0;
  let added = 0;
  class Stop {}
  const stop = (d: Diagnostic): never => {
    diagnostics.push(d);
    throw new Stop();
  };

  // The alias's replacement (its target, already free of aliases), or a null scalar.
  let replacing = false;
  const resolve = (alias: YamlNode & { source: string }, depth: number): { node?: YamlNode; size: number; height: number } => {
    const p = at(alias);
    const target = anchors.get(alias.source);
    if (!target) {
      if (replacing) diagnostics.push({ severity: 'error', code: 'E_TOSCA_YAML', message: `invalid YAML: alias *${alias.source} has no anchor &${alias.source} before it`, file, line: p.line, column: p.col });
      return { node: replacing ? (doc.createNode(null) as YamlNode) : undefined, size: 1, height: 0 };
    }
    if (open.has(target)) {
      return stop(limitDiagnostic('E_YAML_ALIAS_LIMIT', `alias *${alias.source} is inside the node &${alias.source} it names (endless)`, file, p.line, p.col, 'an alias may only name a node that ends before it'));
    }
    const m = measured.get(target)!;
    if (++aliases > limits.maxAliases) {
      return stop(limitDiagnostic('E_YAML_ALIAS_LIMIT', `more than ${limits.maxAliases} aliases`, file, p.line, p.col, 'write the values out, or use fewer aliases'));
    }
    added += m.size;
    if (added > limits.maxAliasNodes) {
      return stop(limitDiagnostic('E_YAML_ALIAS_LIMIT', `aliases expand to more than ${limits.maxAliasNodes} nodes (alias *${alias.source} adds ${m.size})`, file, p.line, p.col, 'aliases that name nodes full of aliases multiply; write the values out'));
    }
    if (depth + m.height > limits.maxDepth) {
      return stop(limitDiagnostic('E_YAML_TOO_DEEP', `alias *${alias.source} makes nesting deeper than ${limits.maxDepth} levels`, file, p.line, p.col, 'flatten the structure'));
    }
    // The node itself, not a copy: replacing 100,000 nodes costs seconds, and no reader changes
    // the tree (a copy's positions would be the anchor's all the same).
    return { node: replacing ? target : undefined, size: m.size, height: m.height };
  };

  // Document order, as YAML resolves aliases: an anchor names the last node given that name before the alias.
  const walk = (node: YamlNode, depth: number): { size: number; height: number } => {
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) anchors.set(anchor, node);
    let size = 1;
    let height = 0;
    if (isMap(node) || isSeq(node)) {
      if (depth + 1 > limits.maxDepth) {
        const p = at(node);
        stop(limitDiagnostic('E_YAML_TOO_DEEP', `nesting deeper than ${limits.maxDepth} levels`, file, p.line, p.col, 'flatten the structure'));
      }
      open.add(node);
      const items = node.items as unknown[];
      const child = (value: unknown, set: (v: YamlNode) => void): void => {
        if (value === null || value === undefined || typeof value !== 'object') return;
        let r: { size: number; height: number };
        if (isAlias(value)) {
          const copy = resolve(value as YamlNode & { source: string }, depth + 1);
          if (copy.node) set(copy.node);
          r = copy;
        } else r = walk(value as YamlNode, depth + 1);
        size += r.size;
        if (r.height + 1 > height) height = r.height + 1;
      };
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (isPair(item)) {
          child(item.key, (v) => (item.key = v));
          child(item.value, (v) => (item.value = v));
        } else child(item, (v) => (items[i] = v));
      }
      open.delete(node);
      if (height === 0) height = 1;
    } else if (!isScalar(node)) return { size, height };
    const m = { size, height };
    if (anchor) measured.set(node, m);
    return m;
  };

  // Twice: first only measuring (a refusal leaves the document as it was), then replacing.
  for (const pass of [false, true]) {
    replacing = pass;
    anchors.clear();
    measured.clear();
    aliases = 0;
    added = 0;
    try {
      const root = doc.contents as YamlNode | null;
      if (root && isAlias(root)) {
        const copy = resolve(root as YamlNode & { source: string }, 0).node;
        if (copy) doc.contents = copy as never;
      } else if (root) walk(root, 0);
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
      return diagnostics;
    }
  }
  return diagnostics;
}

/** A JavaScript stack overflow (what too deep a structure does to a recursive walk). */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

export interface LimitedDocument {
  /** The library's reading, aliases replaced by what they name; undefined when a limit was crossed. */
  doc?: Document;
  lines: LineCounter;
  /** The limits crossed and alias problems (the library's own errors stay in `doc.errors`). */
  diagnostics: Diagnostic[];
}

/**
 * Reads a whole YAML text with the `yaml` library within the limits: what state files and
 * `kaidu.yaml` go through (templates use the same checks around their own reader).
 */
export function parseLimited(text: string, file: string, limits: YamlLimits, options: ParseOptions & DocumentOptions & SchemaOptions = {}): LimitedDocument {
  const lines = new LineCounter();
  const refused = checkYamlText(text, file, limits);
  if (refused) return { lines, diagnostics: [refused] };
  let doc: Document;
  try {
    // The library's duplicate-key check compares every pair of keys of a map: quadratic, which a
    // hostile file of 100,000 keys turns into minutes. The same check, linear, below.
    doc = parseDocument(text, { ...options, uniqueKeys: false, lineCounter: lines });
  } catch (err) {
    if (!isStackOverflow(err)) throw err;
    return { lines, diagnostics: [limitDiagnostic('E_YAML_TOO_DEEP', 'nesting too deep to read', file, 1, 1, 'flatten the structure')] };
  }
  if (doc.errors.length > 0) return { doc, lines, diagnostics: [] };
  if (options.uniqueKeys !== false) duplicateKeys(doc);
  if (doc.errors.length > 0) return { doc, lines, diagnostics: [] };
  const diagnostics = expandAliases(doc, lines, file, limits);
  return diagnostics.some((d) => d.code.startsWith('E_YAML_')) ? { lines, diagnostics } : { doc, lines, diagnostics };
}

/** Duplicate scalar keys as the library reports them (`DUPLICATE_KEY` in `doc.errors`), in linear time. */
function duplicateKeys(doc: Document): void {
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const k = pair.key.value;
        if (seen.has(k)) {
          const at = pair.key.range?.[0] ?? 0;
          doc.errors.push(new YAMLParseError([at, at + 1], 'DUPLICATE_KEY', 'Map keys must be unique'));
        }
        seen.add(k);
      }
    },
  });
}

/** A line counter for a text that was not parsed (positions of a refused file still resolve). */
export function emptyLines(): LineCounter {
  const lines = new LineCounter();
  lines.addNewLine(0);
  return lines;
}
