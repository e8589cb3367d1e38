import { Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import type { Diagnostic, SourceLocation } from './diagnostic.js';
import { fastReadable, knownKeys, lightKey, lightStart, NOT_LIGHT, pairStart, parseFast, scalarKey } from './yaml-fast.js';
import { checkYamlLines, checkYamlText, emptyLines, expandAliases, isStackOverflow, TEMPLATE_LIMITS } from './yaml-limits.js';

/** A parsed YAML file with what is needed to point at any of its nodes. */
export interface YamlSource {
  path: string;
  root: YamlNode | null;
  lines: LineCounter;
  doc: Document;
  diagnostics: Diagnostic[];
  /** Problems found after parsing: in a node template body read on demand (reported when the compile ends). */
  late?: Diagnostic[];
}

/**
 * Flow maps used as keys on one line (`{ $concat: [a, b] }: value`, as other TOSCA tools accept)
 * trip the YAML parser: quote them, on the same line so positions stay right.
 */
function quoteFlowKeys(text: string): string {
  return text.replace(/^(\s*)(\{[^#\n]*\})(\s*:\s)/gm, (_m, indent: string, key: string, colon: string) => `${indent}${JSON.stringify(key)}${colon}`);
}

export function parseYaml(path: string, text: string): YamlSource {
  // Size and depth first: neither reader may recurse into, or hold, what a hostile file asks for.
  // A text the fast reader may read gets its line table from the same pass over its lines.
  if (!fastReadable(text)) {
    const refused = checkYamlText(text, path, TEMPLATE_LIMITS);
    return refused ? refusedSource(path, refused) : parseWithLibrary(path, text);
  }
  const checked = checkYamlLines(text, path, TEMPLATE_LIMITS);
  if (checked.refused) return refusedSource(path, checked.refused);
  // The plain subset (nearly every template) is read by our own linear reader; the library
  // reads the rest and explains every error. Node template bodies are read when first used: one
  // outside the subset is then taken from the library's reading, whose problems come late.
  let library: YamlSource | undefined;
  const late: Diagnostic[] = [];
  const fast = parseFast(text, () => {
    if (!library) {
      library = parseWithLibrary(path, text);
      late.push(...library.diagnostics);
    }
    return library;
  }, checked.lines);
  if (fast) {
    const doc = new Document();
    doc.contents = fast.root as never;
    return { path, root: fast.root, lines: fast.lines, doc, diagnostics: [], late };
  }
  return parseWithLibrary(path, text);
}

function refusedSource(path: string, refused: Diagnostic): YamlSource {
  return { path, root: null, lines: emptyLines(), doc: new Document(), diagnostics: [refused] };
}

/**
 * A file whose reading was made beforehand (prebuilt-records.ts): positions come from its line
 * starts, and the text is parsed only if something asks for its YAML.
 */
export function lazySource(path: string, text: string, lineStarts: number[]): YamlSource {
  const lines = new LineCounter();
  (lines as unknown as { lineStarts: number[] }).lineStarts = lineStarts;
  let parsed: YamlSource | undefined;
  const full = () => (parsed ??= parseYaml(path, text));
  return {
    path,
    lines,
    diagnostics: [],
    get root() {
      return full().root;
    },
    get doc() {
      return full().doc;
    },
  };
}

/** The `yaml` library's reading of a whole file (what the fast reader falls back to). */
export function parseWithLibrary(path: string, text: string): YamlSource {
  const first = parseYamlOnce(path, text);
  if (first.diagnostics.some((d) => d.code === 'E_TOSCA_YAML') && /^\s*\{[^#\n]*\}\s*:\s/m.test(text)) {
    const second = parseYamlOnce(path, quoteFlowKeys(text));
    if (!second.diagnostics.some((d) => d.severity === 'error')) return second;
  }
  return first;
}

function parseYamlOnce(path: string, text: string): YamlSource {
  const lines = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  // Duplicate keys are found below in one pass: the library's own check is quadratic per map,
  // which a service with 100,000 node templates cannot afford.
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false, strict: false });
  } catch (err) {
    if (!isStackOverflow(err)) throw err;
    // The text check bounds depth; this is the last guard should a parser still recurse too far.
    return { path, root: null, lines: emptyLines(), doc: new Document(), diagnostics: [{ severity: 'error', code: 'E_YAML_TOO_DEEP', message: 'nesting too deep to read', file: path, line: 1, column: 1, hint: 'flatten the structure' }] };
  }
  for (const e of [...doc.errors, ...doc.warnings]) {
    const p = lines.linePos(e.pos[0]);
    const msg = e.message.split('\n')[0]!;
    const code = e.code === 'DUPLICATE_KEY' ? 'E_TOSCA_DUPLICATE_KEY' : /tab/i.test(msg) ? 'E_TOSCA_TAB' : 'E_TOSCA_YAML';
    diagnostics.push({
      severity: doc.errors.includes(e as never) ? 'error' : 'warning',
      code,
      message: code === 'E_TOSCA_DUPLICATE_KEY' ? `duplicate key: ${msg}` : code === 'E_TOSCA_TAB' ? `tabs cannot indent YAML: ${msg}` : `invalid YAML: ${msg}`,
      file: path,
      line: p.line,
      column: p.col,
      ...(code === 'E_TOSCA_TAB' ? { hint: 'indent with spaces' } : {}),
    });
  }
  if (doc.errors.length === 0) {
    visit(doc, {
      Map(_key, map) {
        const seen = new Set<string>();
        for (const pair of map.items) {
          if (!isScalar(pair.key)) continue;
          const k = String(pair.key.value);
          if (seen.has(k)) {
            const p = lines.linePos(pair.key.range?.[0] ?? 0);
            diagnostics.push({ severity: 'error', code: 'E_TOSCA_DUPLICATE_KEY', message: `duplicate key: "${k}" appears twice in the same map`, file: path, line: p.line, column: p.col });
          }
          seen.add(k);
        }
      },
    });
  }
  // Aliases become copies of what they name, so the compiler walks plain nodes: within limits,
  // since a few lines of nested aliases name billions of nodes.
  if (doc.errors.length === 0) diagnostics.push(...expandAliases(doc, lines, path, TEMPLATE_LIMITS));
  // A tab at the start of a line is the classic mistake; the YAML error may point elsewhere.
  const tabLine = text.split('\n').findIndex((l) => /^ *\t/.test(l));
  if (tabLine >= 0 && !diagnostics.some((d) => d.code === 'E_TOSCA_TAB')) {
    diagnostics.push({ severity: 'error', code: 'E_TOSCA_TAB', message: 'tabs cannot indent YAML', file: path, line: tabLine + 1, column: text.split('\n')[tabLine]!.indexOf('\t') + 1, hint: 'indent with spaces' });
  }
  // A duplicate key does not stop the compile (the first one counts); other YAML errors do.
  const broken = diagnostics.some((d) => d.severity === 'error' && d.code !== 'E_TOSCA_DUPLICATE_KEY');
  return { path, root: broken ? null : (doc.contents as YamlNode | null), lines, doc, diagnostics };
}

export function locate(src: YamlSource, node: YamlNode | Pair | null | undefined): SourceLocation {
  // Our nodes keep their start as a number: their `range` is an array made per read.
  const light = lightStart(node);
  const start = light !== undefined ? light : node && 'range' in node && node.range ? node.range[0] : node && 'value' in node && !('range' in node) ? pairStart(node as Pair) : undefined;
  const p = src.lines.linePos(start ?? 0);
  return { file: src.path, line: p.line, column: p.col };
}

/**
 * Map entries as [key, value node, pair]; keys as strings.
 *
 * Big maps (the node templates of a service) get their entries from another allocation site than
 * small ones: V8 decides per site whether to allocate straight into the old generation, and the
 * 100,000 entries of a service's templates, all alive together, made it do so for the site. The
 * entries of every template's small maps, garbage a moment later, then went to the old generation
 * too, pointing at young nodes: reading 100,000 templates' entries cost four times the CPU, most
 * of it in the garbage collector.
 */
export function entries(node: YamlNode | null | undefined): Array<[string, YamlNode | null, Pair]> {
  if (!isMap(node)) return [];
  const items = (node as YAMLMap).items as Pair[];
  return items.length > BIG_MAP ? bigEntries(items) : smallEntries(items);
}

/** Entries in a map above which its entries come from their own allocation site (see `entries`). */
const BIG_MAP = 64;

function smallEntries(items: Pair[]): Array<[string, YamlNode | null, Pair]> {
  const out = new Array<[string, YamlNode | null, Pair]>(items.length);
  for (let k = 0; k < items.length; k++) {
    const p = items[k]!;
    out[k] = [scalarKey(p) ?? String(p.key), (p.value as YamlNode | null) ?? null, p];
  }
  return out;
}

function bigEntries(items: Pair[]): Array<[string, YamlNode | null, Pair]> {
  const out = new Array<[string, YamlNode | null, Pair]>(items.length);
  for (let k = 0; k < items.length; k++) {
    const p = items[k]!;
    out[k] = [scalarKey(p) ?? String(p.key), (p.value as YamlNode | null) ?? null, p];
  }
  return out;
}

export function field(node: YamlNode | null | undefined, key: string): YamlNode | null | undefined {
  if (!isMap(node)) return undefined;
  if (knownKeys(node)?.includes(key) === false) return undefined;
  for (const p of (node as YAMLMap).items) if (scalarKey(p as Pair) === key) return ((p as Pair).value as YamlNode | null) ?? null;
  return undefined;
}

export function pairOf(node: YamlNode | null | undefined, key: string): Pair | undefined {
  if (!isMap(node)) return undefined;
  for (const p of (node as YAMLMap).items) if (scalarKey(p as Pair) === key) return p as Pair;
  return undefined;
}

export function str(node: YamlNode | null | undefined): string | undefined {
  return isScalar(node) && node.value !== null && node.value !== undefined && typeof node.value !== 'object' ? String(node.value) : undefined;
}

export function seqItems(node: YamlNode | null | undefined): YamlNode[] {
  return isSeq(node) ? (node.items as YamlNode[]) : [];
}

/** Plain JSON of a node (anchors and aliases resolved). */
export function toJS(src: YamlSource, node: YamlNode | null | undefined): unknown {
  if (node === null || node === undefined) return null;
  return plain(src, node, 0);
}

/**
 * The library's `toJS` sets up a context per call, which shows at 100,000 templates; maps,
 * sequences and plain scalars are walked here, anything unusual (tagged values) goes to the library.
 */
function plain(src: YamlSource, node: unknown, depth: number): unknown {
  if (node === null || node === undefined) return null;
  if (isScalar(node)) {
    const v = node.value;
    return v !== null && typeof v === 'object' ? node.toJS(src.doc) : v;
  }
  // Unreachable within the readers' depth limits (yaml-limits.ts); a bound all the same.
  if (depth > 1000) return null;
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of (node as YAMLMap).items) {
      const light = lightKey(pair as Pair);
      // A collection used as a key is named by its YAML text, as the library names it: the library does it.
      if (light === NOT_LIGHT && (isMap(pair.key) || isSeq(pair.key))) return (node as YAMLMap).toJS(src.doc);
      const key = light !== NOT_LIGHT ? light : isScalar(pair.key) ? pair.key.value : plain(src, pair.key, depth + 1);
      const k = key === null || key === undefined ? '' : typeof key === 'object' ? JSON.stringify(key) : String(key);
      const v = plain(src, pair.value, depth + 1);
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
      else out[k] = v;
    }
    return out;
  }
  if (isSeq(node)) return plainItems(src, node.items as unknown[], depth + 1);
  if (isAlias(node)) return plain(src, node.resolve(src.doc), depth + 1);
  return (node as { toJS(doc: Document): unknown }).toJS(src.doc);
}

/** `plain` of each item: a loop of its own, since a closure in `plain` would allocate a context per value. */
function plainItems(src: YamlSource, items: unknown[], depth: number): unknown[] {
  const out = new Array<unknown>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = plain(src, items[i], depth);
  return out;
}

/** Follows an alias to the node it names. */
export function deref(src: YamlSource, node: YamlNode | null | undefined): YamlNode | null | undefined {
  return isAlias(node) ? (node.resolve(src.doc) as YamlNode | undefined) : node;
}

export { isMap, isScalar, isSeq };
export type { YamlNode };
