/**
 * The vocabulary a TOSCA grammar is written in: what each keyword's value must look like.
 * A grammar is plain data (see `tosca-1.ts`, `tosca-2.ts`); `check.ts` walks a document through it.
 */

/** What a value must be. `entity` names another construct of the same grammar. */
export type Shape =
  | { kind: 'any' }
  /** A YAML string (type names, paths, URLs). */
  | { kind: 'string' }
  /** Any scalar: string, number or boolean (descriptions, versions, metadata values). */
  | { kind: 'scalar' }
  | { kind: 'boolean' }
  /** One of a fixed set of strings (`status`). */
  | { kind: 'enum'; values: string[] }
  /** `metadata`: a map whose values are scalars. */
  | { kind: 'stringMap' }
  | { kind: 'list'; of: Shape }
  /** A map of names to values of one shape (`node_templates`, `properties` definitions). */
  | { kind: 'map'; of: Shape }
  /** A list of single-key maps: `requirements`, 1.x `policies`, 1.0–1.2 named imports. */
  | { kind: 'keyedList'; of: Shape }
  | { kind: 'entity'; name: string }
  /** The first option that accepts the node's YAML kind (scalar, map or list) decides. */
  | { kind: 'oneOf'; of: Shape[] }
  /** A clause the vocabulary has no word for: see `clauses.ts`, and `../validation/check.ts` (2.0 `validation`). */
  | { kind: 'clause'; name: 'constraints' | 'counts' | 'validation' | 'nodeFilter' }
  /** Checked elsewhere, when the compiler reads it (node template bodies are read on demand). */
  | { kind: 'deferred'; of: Shape };

export interface Keyword {
  shape: Shape;
  required?: boolean;
}

/** One construct: its keywords, and what else it may be. */
export interface Entity {
  /** How a message names it: "node template", "property definition". */
  title: string;
  keywords: Record<string, Keyword>;
  /** The short notation when the value is not a map (`host: db`, `type: string` as a bare type name). */
  short?: Shape;
  /** Keys that are not keywords are names of this shape (1.x interfaces list operations directly). */
  other?: Shape;
  /**
   * With `other`: a key that is not a keyword but close to one (`descripton`, `notifcations`) is
   * a misspelt keyword, reported with "did you mean", not taken for a name.
   */
  keywordTypos?: boolean;
  /** Exactly one of its keywords, as a single-key map (a workflow activity: `- set_state: started`). */
  oneKey?: boolean;
}

export interface Grammar {
  /** `tosca_2_0`, `tosca_simple_yaml_1_3`, ... */
  version: string;
  /** The construct a whole file is. */
  root: string;
  entities: Record<string, Entity>;
}

export const any: Shape = { kind: 'any' };
export const string: Shape = { kind: 'string' };
export const scalar: Shape = { kind: 'scalar' };
export const boolean: Shape = { kind: 'boolean' };
export const stringMap: Shape = { kind: 'stringMap' };
export const oneOfValues = (...values: string[]): Shape => ({ kind: 'enum', values });
export const listOf = (of: Shape): Shape => ({ kind: 'list', of });
export const mapOf = (of: Shape): Shape => ({ kind: 'map', of });
export const keyedList = (of: Shape): Shape => ({ kind: 'keyedList', of });
export const entity = (name: string): Shape => ({ kind: 'entity', name });
export const oneOf = (...of: Shape[]): Shape => ({ kind: 'oneOf', of });
export const constraintList: Shape = { kind: 'clause', name: 'constraints' };
export const countRange: Shape = { kind: 'clause', name: 'counts' };
export const validationClause: Shape = { kind: 'clause', name: 'validation' };
/**
 * A 2.0 node filter: a condition clause (a Boolean function expression, checked as a validation
 * clause is), or the 1.x form (`properties:`, `capabilities:`) 2.0 files still write, read as the
 * grammar's `nodeFilter` entity.
 */
export const nodeFilterClause: Shape = { kind: 'clause', name: 'nodeFilter' };
export const deferred = (of: Shape): Shape => ({ kind: 'deferred', of });

/** `{ a: shape, b: [shape, 'required'] }` → keywords. */
export function keywords(spec: Record<string, Shape | [Shape, 'required']>): Record<string, Keyword> {
  const out: Record<string, Keyword> = {};
  for (const [k, v] of Object.entries(spec)) out[k] = Array.isArray(v) ? { shape: v[0], required: true } : { shape: v };
  return out;
}

/** A copy of an entity with keywords added (or replaced, or removed with `null`). */
export function amend(e: Entity, changes: Record<string, Shape | [Shape, 'required'] | null>, extra: Partial<Omit<Entity, 'keywords'>> = {}): Entity {
  const kw: Record<string, Keyword> = { ...e.keywords };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete kw[k];
    else kw[k] = Array.isArray(v) ? { shape: v[0], required: true } : { shape: v };
  }
  return { ...e, ...extra, keywords: kw };
}
