/**
 * A type definition read into a `TypeRecord` as the grammar walks it: the walk hands each of the
 * type's keys to `TypeReader.keyword`, and the keys of each property, attribute, input,
 * capability, requirement and interface operation definition as it enters them
 * (`enterDefinition`); what is inside those (schemas, a requirement's relationship, an operation's
 * implementation), interface definitions' own keys and artifact definitions are read from the
 * value the walk hands over.
 */
import type { Pair } from 'yaml';
import type { Family, Unit } from '../loader.js';
import type { KeywordVisitor } from '../grammar/check.js';
import { entries, field, isMap, seqItems, str, toJS, type YamlNode } from '../yaml-source.js';
import type { CapabilityDefinitionRecord, Offset, OperationRecord, PropertyDefinitionRecord, TypeListKey, TypeRecord } from './records.js';
import { offsetOf, preorderOffsets } from './offsets.js';
import { capabilityDefinitionInto, names, propertyDefinitionInto, requirementDefinitionInto, readSchema, type RequirementDefinition } from './read-definitions.js';
import { operationInto, readArtifact, readInterface, type Keyword } from './read-interfaces.js';

/** Keys of an interface type that are not operations (1.0–1.2 list operations as the type's own keys). */
const NOT_OPERATIONS = new Set(['derived_from', 'version', 'metadata', 'description', 'inputs', 'operations', 'notifications']);
const LIST_KEYS = new Set<string>(['valid_source_types', 'valid_source_node_types', 'valid_target_types', 'valid_capability_types', 'valid_target_node_types']);

export function emptyTypeRecord(family: Family, name: string, at: number, valueAt: number): TypeRecord {
  return { family, name, at, valueAt, properties: [], attributes: [], inputs: [], capabilities: [], requirements: [], interfaces: [], artifacts: [], operations: [], units: {}, prefixes: {}, lists: {} };
}

/** A definition of the type being read (property, attribute, input, capability, requirement, operation), its keys taken as the walk enters it. */
interface PendingDefinition {
  node: YamlNode;
  /** Set when the walk entered it: the first value of each key. */
  keys?: Map<string, YamlNode | null>;
  /** Completes its record from its keywords. */
  fill: (keyword: Keyword) => void;
}

/** Reads the keys of one type at a time; a key written twice counts once, the first (as the YAML reader reports the duplicate). */
export class TypeReader {
  private rec!: TypeRecord;
  private seen = new Set<string>();
  private operationsWritten = false;
  private inline: string[] = [];
  /** The current type's definitions written as maps, read when the type ends (`finish`). */
  private pending: PendingDefinition[] = [];
  private readonly pendingByNode = new Map<YamlNode, PendingDefinition[]>();
  readonly visit = (key: string, v: YamlNode | null, pair: Pair): void => this.keyword(key, v, pair);

  constructor(private readonly unit: Unit) {}

  start(rec: TypeRecord): void {
    this.rec = rec;
    this.seen = new Set();
    this.operationsWritten = false;
    this.inline = [];
  }

  /** After the type's last key (and the walk's last step inside it). */
  finish(): void {
    if (!this.operationsWritten) this.rec.operations = [...new Set(this.inline)];
    for (const { keys, node, fill } of this.pending) {
      // One the walk did not enter (a key this version's grammar does not walk into): read from its map.
      fill(keys ? (k) => keys.get(k) : (k) => field(node, k));
    }
    this.pending = [];
    this.pendingByNode.clear();
  }

  /** The walk entering a definition: the reader of its keys, if it is one of the current type's. */
  enterDefinition(node: YamlNode): KeywordVisitor | undefined {
    const p = this.pendingByNode.get(node)?.shift();
    if (!p) return undefined;
    const keys = (p.keys = new Map<string, YamlNode | null>());
    return (key, v) => {
      if (!keys.has(key)) keys.set(key, v);
    };
  }

  /**
   * A definition under one of the type's keys: its record now (what `make` gives: name and
   * positions), its keywords by `into` as the walk goes into it, completed when the type ends. One
   * not written as a map (a short notation, or a wrong shape) is read at once.
   */
  private later<R>(node: YamlNode | null, make: R, into: (out: R, node: YamlNode | null, keyword: Keyword, unit: Unit) => void): R {
    if (!isMap(node)) into(make, node, (k) => field(node, k), this.unit);
    else {
      const p: PendingDefinition = { node, fill: (keyword) => into(make, node, keyword, this.unit) };
      this.pending.push(p);
      const same = this.pendingByNode.get(node);
      if (same) same.push(p);
      else this.pendingByNode.set(node, [p]);
    }
    return make;
  }

  /** `properties:`, `attributes:`, `inputs:` of a type. */
  private definitions(v: YamlNode | null): PropertyDefinitionRecord[] {
    return entries(v).map(([name, def, pair]) => this.later(def, { name, at: offsetOf(pair), map: isMap(def) } as PropertyDefinitionRecord, propertyDefinitionInto));
  }

  /** An operation of an interface definition (its other fields are set by `operationInto`, always in one order). */
  private readonly operation = (name: string, v: YamlNode | null, at: Offset): OperationRecord => this.later(v, { name, at } as OperationRecord, operationInto);

  private keyword(key: string, v: YamlNode | null, _pair: Pair): void {
    if (!NOT_OPERATIONS.has(key)) this.inline.push(key);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const rec = this.rec;
    const unit = this.unit;
    switch (key) {
      case 'derived_from': {
        const parent = str(v);
        if (parent) {
          rec.derivedFrom = parent;
          rec.derivedFromAt = offsetOf(v);
        }
        return;
      }
      case 'properties':
        rec.properties = this.definitions(v);
        return;
      case 'attributes':
        rec.attributes = this.definitions(v);
        return;
      case 'inputs':
        rec.inputs = this.definitions(v);
        return;
      case 'capabilities':
        rec.capabilities = entries(v).map(([name, def, pair]) => this.later(def, { name, at: offsetOf(def), pairAt: offsetOf(pair), map: isMap(def) } as CapabilityDefinitionRecord, capabilityDefinitionInto));
        return;
      case 'requirements':
        // A list of single-key maps (the grammar reports any other item; its keys are read all the same).
        rec.requirements = seqItems(v).flatMap((item) => entries(item).map(([name, node, pair]) => this.later(node, { name, at: offsetOf(node), pairAt: offsetOf(pair), map: isMap(node) } as RequirementDefinition, requirementDefinitionInto)));
        return;
      case 'interfaces':
        rec.interfaces = entries(v).map(([name, node]) => readInterface(name, node, offsetOf(node), unit, this.operation));
        return;
      case 'artifacts':
        rec.artifacts = entries(v).map(([name, node]) => readArtifact(name, node, unit));
        return;
      case 'operations':
        this.operationsWritten = true;
        rec.operations = [...new Set(entries(v).map(([name]) => name))];
        return;
      case 'validation':
        rec.validation = toJS(unit.src, v);
        rec.validationAt = preorderOffsets(v);
        return;
      case 'constraints':
        rec.constraints = toJS(unit.src, v);
        rec.constraintsAt = preorderOffsets(v);
        return;
      case 'entry_schema':
        rec.entry = readSchema(v, unit);
        return;
      case 'key_schema':
        rec.key = readSchema(v, unit);
        return;
      case 'units':
        rec.units = (toJS(unit.src, v) ?? {}) as Record<string, number>;
        return;
      case 'prefixes':
        rec.prefixes = (toJS(unit.src, v) ?? {}) as Record<string, number>;
        return;
      default:
        if (LIST_KEYS.has(key)) rec.lists[key as TypeListKey] = names(v);
    }
  }
}
