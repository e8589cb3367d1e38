/**
 * Walks a document through its version's grammar: unknown keywords (with "did you mean"),
 * values of the wrong shape, and missing required keywords, each at its file:line:column.
 * It only reads: values are checked by the compiler once their types are known.
 */
import type { Pair } from 'yaml';
import type { SourceLocation } from '../diagnostic.js';
import { closest, didYouMean } from '../suggest.js';
import { entries, isMap, isScalar, isSeq, locate, seqItems, type YamlNode, type YamlSource } from '../yaml-source.js';
import { scalarKey } from '../yaml-fast.js';
import type { YAMLMap } from 'yaml';
import type { Entity, Grammar, Shape } from './shape.js';
import type { DiagnosticCode } from '../diagnostic-codes.js';
import { checkBounds, checkConstraints } from './clauses.js';
import { checkValidation } from '../validation/check.js';
import { Label, type What } from '../values.js';

/** Called with each key of an entity as it is checked, so a reader takes its values in the same pass. */
export type KeywordVisitor = (key: string, value: YamlNode | null, pair: Pair) => void;

/**
 * Asked as the walk enters each construct (by entity name): the reader of its keys, if any. The
 * reader of a file (document/read-file.ts) so reads it in the same walk as it is checked.
 */
export type EntityReader = (entity: string, node: YamlNode) => KeywordVisitor | undefined;

export type GrammarProblem = (code: DiagnosticCode, message: string, at: SourceLocation, hint?: string) => void;

type Kind = 'scalar' | 'map' | 'list' | 'null';

function kindOf(node: unknown): Kind {
  if (node === null || node === undefined) return 'null';
  if (isMap(node)) return 'map';
  if (isSeq(node)) return 'list';
  if (isScalar(node)) return node.value === null || node.value === undefined ? 'null' : 'scalar';
  return 'scalar';
}

/** "a node template", "an artifact definition". */
function article(title: string): string {
  return `${/^[aeiou]/i.test(title) ? 'an' : 'a'} ${title}`;
}

const KIND_WORD: Record<Kind, string> = { scalar: 'a single value', map: 'a map', list: 'a list', null: 'nothing' };

export class GrammarChecker {
  /** `accepts` of each shape (grammar shapes are constants; this is asked for every value read). */
  private readonly accepted = new WeakMap<Shape, readonly Kind[]>();
  /** Set while a reader takes the file in the same walk (`checkFile`). */
  reader?: EntityReader;
  /** The shapes `checkEntity` checks against, one per entity name. */
  private readonly entityShapes = new Map<string, Shape>();

  constructor(
    readonly grammar: Grammar,
    private readonly src: YamlSource,
    private readonly problem: GrammarProblem,
  ) {}

  /** The whole file, except what is deferred (node template bodies: see `checkEntity`). */
  checkFile(root: YamlNode | null): void {
    if (!isMap(root)) return;
    this.entity(root, this.grammar.root, undefined, root);
  }

  /**
   * One construct by name (`nodeTemplate`), e.g. a node template when the compiler reads it.
   * False when it is not even of the right kind (a list or a string for a map): nothing more to read.
   */
  checkEntity(node: YamlNode | null, name: string, label: What, at: SourceLocation, visit?: KeywordVisitor): boolean {
    let shape = this.entityShapes.get(name);
    if (!shape) this.entityShapes.set(name, (shape = { kind: 'entity', name }));
    const ok = this.accepts(shape).includes(kindOf(node));
    if (!ok && kindOf(node) === 'null') this.problem('E_TOSCA_WRONG_SHAPE', `${label} must be ${this.describe(shape)}, not nothing`, at);
    else if (visit && isMap(node)) this.entity(node, name, label, at, visit);
    else this.shape(node, shape, label, at);
    return ok;
  }

  /** Functions the file declares (its record's `functions:`), which a validation clause may call. */
  functions: ReadonlySet<string> = new Set();

  private at(node: unknown): SourceLocation {
    if (node && typeof node === 'object' && 'file' in node && 'line' in node) return node as SourceLocation;
    return locate(this.src, node as YamlNode);
  }

  /** Which YAML kinds a shape accepts. */
  private accepts(shape: Shape): readonly Kind[] {
    let kinds = this.accepted.get(shape);
    if (!kinds) this.accepted.set(shape, (kinds = this.acceptsOf(shape)));
    return kinds;
  }

  private acceptsOf(shape: Shape): readonly Kind[] {
    switch (shape.kind) {
      case 'any':
        return ['scalar', 'map', 'list', 'null'];
      case 'string':
      case 'scalar':
      case 'boolean':
      case 'enum':
        return ['scalar'];
      case 'stringMap':
      case 'map':
        return ['map'];
      case 'list':
      case 'keyedList':
        return ['list'];
      case 'entity': {
        const e = this.grammar.entities[shape.name]!;
        return e.short ? ['map', ...this.accepts(e.short)] : ['map'];
      }
      case 'oneOf':
        return [...new Set(shape.of.flatMap((s) => this.accepts(s)))];
      case 'deferred':
        return this.accepts(shape.of);
      case 'clause':
        return ['scalar', 'map', 'list'];
    }
  }

  private describe(shape: Shape): string {
    switch (shape.kind) {
      case 'any':
        return 'anything';
      case 'string':
        return 'a string';
      case 'scalar':
        return 'a single value';
      case 'boolean':
        return 'true or false';
      case 'enum':
        return `one of ${shape.values.join(', ')}`;
      case 'stringMap':
        return 'a map of strings';
      case 'map':
        return `a map (name: ${shape.of.kind === 'entity' ? this.grammar.entities[shape.of.name]!.title : this.describe(shape.of).replace(/^an? /, '')})`;
      case 'list': {
        // "a list of imports (each a map, or a string)", not "a list of import (a map, or a string)s".
        const e = shape.of.kind === 'entity' ? this.grammar.entities[shape.of.name]! : undefined;
        if (e) return `a list of ${e.title.replace(/y$/, 'ie')}s${e.short ? ` (each a map, or ${this.describe(e.short)})` : ''}`;
        return `a list of ${this.describe(shape.of).replace(/^an? /, '')}s`.replace(/ss$/, 's');
      }
      case 'keyedList':
        return 'a list of single-key maps (- name: ...)';
      case 'entity': {
        const e = this.grammar.entities[shape.name]!;
        return e.short ? `${article(e.title)} (a map, or ${this.describe(e.short)})` : `${article(e.title)} (a map)`;
      }
      case 'oneOf':
        return shape.of.map((s) => this.describe(s)).join(' or ');
      case 'deferred':
        return this.describe(shape.of);
      case 'clause':
        return shape.name === 'constraints' ? 'a list of constraint clauses' : shape.name === 'validation' || shape.name === 'nodeFilter' ? 'a Boolean function expression' : 'a range [ lower, upper ]';
    }
  }

  private wrongShape(node: unknown, shape: Shape, label: What, at: unknown): void {
    const got = kindOf(node);
    let hint: string | undefined;
    const want = this.accepts(shape);
    if (got === 'list' && want.includes('map') && !want.includes('list')) hint = 'write `name:` entries, not `- name:` items';
    else if (got === 'map' && (shape.kind === 'keyedList' || (shape.kind === 'deferred' && shape.of.kind === 'keyedList'))) hint = 'write a list: `- name: ...` for each entry';
    this.problem('E_TOSCA_WRONG_SHAPE', `${label} must be ${this.describe(shape)}, not ${KIND_WORD[got]}`, this.at(got === 'null' ? at : node), hint);
  }

  /**
   * The kinds a big file meets on every template (maps of entities, entities) here; the others in
   * `shapeOther`. V8 optimises a function after a number of calls that grows with its size: the
   * whole switch in one function was never optimised in a 10,000-template validate.
   */
  private shape(node: YamlNode | null | undefined, shape: Shape, label: What | undefined, at: unknown): void {
    const kind = kindOf(node);
    // An empty value (`properties:`) is as if absent; a required keyword is checked by its owner.
    if (kind === 'null' || shape.kind === 'any') return;
    if (!this.accepts(shape).includes(kind)) {
      this.wrongShape(node, shape, label ?? 'this value', at);
      return;
    }
    switch (shape.kind) {
      case 'scalar':
        return;
      case 'map':
        if (shape.of.kind !== 'any') this.mapOf(node as YamlNode, shape.of, label);
        return;
      case 'entity':
        if (kind === 'map') this.entity(node!, shape.name, label, at);
        else this.shape(node, this.grammar.entities[shape.name]!.short!, label, at);
        return;
      case 'oneOf':
        this.shape(node, this.optionFor(shape.of, kind), label, at);
        return;
      default:
        this.shapeOther(node as YamlNode, shape, kind, label, at);
    }
  }

  /** Each value of a map checked against `of` (a map's value accepted as is is not walked). */
  private mapOf(node: YamlNode, of: Shape, label: What | undefined): void {
    const items = (node as YAMLMap).items as Pair[];
    for (let i = 0; i < items.length; i++) {
      const p = items[i]!;
      const v = (p.value as YamlNode | null) ?? null;
      if (!passes(v, of)) this.shape(v, of, this.name(of, scalarKey(p) ?? String(p.key), label), p);
    }
  }

  /** `shape` for the kinds other than scalar, map, entity and oneOf; `node` is of a kind (`kind`) the shape accepts. */
  private shapeOther(node: YamlNode, shape: Shape, kind: Kind, label: What | undefined, at: unknown): void {
    const what = label ?? 'this value';
    switch (shape.kind) {
      case 'string':
        if (typeof (node as { value: unknown }).value !== 'string') this.wrongShape(node, shape, what, at);
        return;
      case 'boolean':
        if (typeof (node as { value: unknown }).value !== 'boolean') {
          this.problem('E_TOSCA_WRONG_SHAPE', `${what} must be true or false, not ${JSON.stringify((node as { value: unknown }).value)}`, this.at(node));
        }
        return;
      case 'enum': {
        const v = (node as { value: unknown }).value;
        if (typeof v !== 'string' || !shape.values.includes(v)) {
          const mean = typeof v === 'string' ? didYouMean(v, shape.values) : undefined;
          this.problem('E_TOSCA_WRONG_SHAPE', `${what} must be one of ${shape.values.join(', ')}, not ${JSON.stringify(v)}`, this.at(node), mean);
        }
        return;
      }
      case 'stringMap':
        for (const [k, v, pair] of entries(node)) {
          const vk = kindOf(v);
          if (vk === 'map' || vk === 'list') this.problem('E_TOSCA_WRONG_SHAPE', `${what}: "${k}" must be a string, not ${KIND_WORD[vk]}`, this.at(v ?? pair), 'metadata is a map of strings');
        }
        return;
      case 'list':
        for (const item of seqItems(node)) if (!passes(item, shape.of)) this.shape(item, shape.of, `an item of ${what}`, item);
        return;
      case 'keyedList':
        for (const item of seqItems(node)) {
          const n = entries(item);
          if (!isMap(item) || n.length !== 1) {
            this.problem('E_TOSCA_WRONG_SHAPE', `each item of ${what} must be a single-key map (- name: ...), not ${isMap(item) ? `a map of ${n.length} keys` : KIND_WORD[kindOf(item)]}`, this.at(item), isMap(item) && n.length > 1 ? 'indent the keys under the name, or start each entry with `-`' : undefined);
            continue;
          }
          const [k, v, pair] = n[0]!;
          this.shape(v, shape.of, this.name(shape.of, k, label), pair);
        }
        return;
      case 'clause': {
        // The 1.x form of a 2.0 node filter: keys that are not function calls.
        if (shape.name === 'nodeFilter' && isMap(node) && !entries(node).some(([k]) => k.startsWith('$'))) {
          this.entity(node, 'nodeFilter', label, at);
          return;
        }
        const text = String(what);
        const problems = shape.name === 'constraints' ? checkConstraints(node, text) : shape.name === 'validation' || shape.name === 'nodeFilter' ? checkValidation(node, text, this.functions) : checkBounds(node, text, true);
        for (const [message, n, hint, code] of problems) this.problem(code ?? 'E_TOSCA_WRONG_SHAPE', message, this.at(n ?? at), hint);
        return;
      }
      case 'deferred':
        // Only the container's own shape: its entries are checked when they are read.
        if (shape.of.kind === 'map' && kind !== 'map') this.wrongShape(node, shape, what, at);
        return;
    }
  }

  /** The first of a `oneOf`'s shapes that accepts a kind (a method: a closure in `shape` would allocate a context per value). */
  private optionFor(of: readonly Shape[], kind: Kind): Shape {
    return of.find((s) => this.accepts(s).includes(kind))!;
  }

  /** How a message names a value found under `key` (its text made only if a message is written). */
  private name(shape: Shape, key: string, parent: What | undefined): What {
    const s = shape.kind === 'oneOf' ? shape.of.find((x) => x.kind === 'entity') ?? shape : shape;
    if (s.kind === 'entity') return new Label(TITLED).set(this.grammar.entities[s.name]!.title, key);
    return parent ? new Label(KEY_OF).set(key, parent) : `"${key}"`;
  }

  private entity(node: YamlNode, name: string, label: What | undefined, at: unknown, visit?: KeywordVisitor): void {
    const e: Entity = this.grammar.entities[name]!;
    if (!visit && this.reader) visit = this.reader(name, node);
    const what = label ?? e.title;
    let others = 0;
    // The map's pairs directly: `entries` makes a tuple per pair, for every entity of a big file.
    const items = (node as YAMLMap).items as Pair[];
    for (let i = 0; i < items.length; i++) {
      const p = items[i]!;
      const k = scalarKey(p) ?? String(p.key);
      const v = (p.value as YamlNode | null) ?? null;
      visit?.(k, v, p);
      const kw = e.keywords[k];
      if (kw) {
        // A label is made only for a value that needs a look inside (most need none).
        if (passes(v, kw.shape)) continue;
        if (kindOf(v) === 'null' && kw.required) continue; // reported as missing below
        const ks = kw.shape;
        if (ks.kind === 'entity') this.shape(v, ks, this.grammar.entities[ks.name]!.title, p);
        // A map of entities (`capabilities:` of a template) as `shape` walks it: each entry is named
        // by its own title, never by the map's label, so none is made for it.
        else if (ks.kind === 'map' && ks.of.kind === 'entity' && isMap(v)) this.mapOf(v, ks.of, undefined);
        else this.shape(v, ks, new Label(KEY_OF).set(k, what), p);
        continue;
      }
      if (this.notKeyword(e, k, v, p, what)) others++;
    }
    if (e.oneKey && (node as YAMLMap).items.length !== 1) this.notOneKey(e, node, what);
    // Named entries (1.0–1.2 imports, operations listed directly) stand in for the keywords.
    if (others > 0) return;
    const required = this.requiredOf(e);
    for (let i = 0; i < required.length; i++) {
      const k = required[i]!;
      // The first pair of a key counts (the YAML reader reports a duplicate).
      if (kindOf(firstValue(node as YAMLMap, k)) === 'null') this.missing(e, k, what, at ?? node);
    }
  }

  private missing(e: Entity, k: string, what: What, at: unknown): void {
    this.problem('E_TOSCA_MISSING_KEYWORD', `${what} has no "${k}"`, this.at(at), `${article(e.title)} needs "${k}"`);
  }

  /**
   * A key of an entity that is not one of its keywords: a named entry where the entity takes them
   * (true), else an unknown keyword. Apart from `entity`, whose loop meets every key of every
   * template: V8 optimises a smaller function sooner.
   */
  private notKeyword(e: Entity, k: string, v: YamlNode | null, p: Pair, what: What): boolean {
    if (e.other && !(e.keywordTypos && closest(k, Object.keys(e.keywords)))) {
      if (!passes(v, e.other)) this.shape(v, e.other, this.name(e.other, k, what), p);
      return true;
    }
    const known = Object.keys(e.keywords);
    this.problem('E_TOSCA_UNKNOWN_KEYWORD', `unknown keyword "${k}" in ${what}`, this.at(p), didYouMean(k, known) ?? `${article(e.title)} takes: ${known.join(', ')}`);
    return false;
  }

  private notOneKey(e: Entity, node: YamlNode, what: What): void {
    const n = (node as YAMLMap).items.length;
    this.problem('E_TOSCA_WRONG_SHAPE', `${what} must be a single-key map (one of ${Object.keys(e.keywords).join(', ')}), not a map of ${n} keys`, this.at(node), n > 1 ? 'write each as its own list item: `- key: ...`' : undefined);
  }

  /** An entity's required keywords, in order: worked out once per entity, not per value checked. */
  private readonly required = new WeakMap<Entity, readonly string[]>();

  private requiredOf(e: Entity): readonly string[] {
    let r = this.required.get(e);
    if (!r) this.required.set(e, (r = Object.keys(e.keywords).filter((k) => e.keywords[k]!.required)));
    return r;
  }
}

/** The value of a map's first pair with this key; undefined when there is none. */
function firstValue(node: YAMLMap, key: string): YamlNode | null | undefined {
  const items = node.items as Pair[];
  for (let i = 0; i < items.length; i++) {
    const p = items[i]!;
    if ((scalarKey(p) ?? String(p.key)) === key) return (p.value as YamlNode | null) ?? null;
  }
  return undefined;
}

/**
 * True when `shape` accepts `node` without looking inside it (nothing to report, nothing to walk):
 * the common case of a big file, decided before a label is made for a message.
 */
function passes(node: YamlNode | null | undefined, shape: Shape): boolean {
  switch (shape.kind) {
    case 'any':
      return true;
    case 'string':
      return node === null || node === undefined || (isScalar(node) && (typeof node.value === 'string' || node.value === null || node.value === undefined));
    case 'scalar':
      return node === null || node === undefined || isScalar(node);
    case 'map':
      return node === null || node === undefined || (shape.of.kind === 'any' && isMap(node));
    default:
      return node === null || node === undefined;
  }
}

// How a message names a value found under a key: made into text only when a message is written
// (most values of a big file have nothing to report).
const KEY_OF = (key: What, parent: What): string => `"${key}" of ${parent}`;
const TITLED = (title: What, key: What): string => `${title} "${key}"`;
