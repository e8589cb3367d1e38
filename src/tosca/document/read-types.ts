/**
 * A type definition read into a `TypeRecord` as the grammar walks it: the walk hands each of the
 * type's keys to `TypeReader.keyword`, and the definitions under them are read from the value it
 * hands over (as node templates are read, see read-node-template.ts).
 */
import type { Pair } from 'yaml';
import type { Family, Unit } from '../loader.js';
import { entries, str, toJS, type YamlNode } from '../yaml-source.js';
import type { TypeListKey, TypeRecord } from './records.js';
import { offsetOf } from './offsets.js';
import { names, readCapabilityDefinitions, readPropertyDefinitions, readRequirementDefinitions, readSchema } from './read-definitions.js';
import { readArtifact, readInterface } from './read-interfaces.js';

/** Keys of an interface type that are not operations (1.0–1.2 list operations as the type's own keys). */
const NOT_OPERATIONS = new Set(['derived_from', 'version', 'metadata', 'description', 'inputs', 'operations', 'notifications']);
const LIST_KEYS = new Set<string>(['valid_source_types', 'valid_source_node_types', 'valid_target_types', 'valid_capability_types', 'valid_target_node_types']);

export function emptyTypeRecord(family: Family, name: string, at: number, valueAt: number): TypeRecord {
  return { family, name, at, valueAt, properties: [], attributes: [], inputs: [], capabilities: [], requirements: [], interfaces: [], artifacts: [], operations: [], units: {}, prefixes: {}, lists: {} };
}

/** Reads the keys of one type at a time; a key written twice counts once, the first (as the YAML reader reports the duplicate). */
export class TypeReader {
  private rec!: TypeRecord;
  private seen = new Set<string>();
  private operationsWritten = false;
  private inline: string[] = [];
  readonly visit = (key: string, v: YamlNode | null, pair: Pair): void => this.keyword(key, v, pair);

  constructor(private readonly unit: Unit) {}

  start(rec: TypeRecord): void {
    this.rec = rec;
    this.seen = new Set();
    this.operationsWritten = false;
    this.inline = [];
  }

  /** After the type's last key. */
  finish(): void {
    if (!this.operationsWritten) this.rec.operations = [...new Set(this.inline)];
  }

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
        rec.properties = readPropertyDefinitions(v, unit);
        return;
      case 'attributes':
        rec.attributes = readPropertyDefinitions(v, unit);
        return;
      case 'inputs':
        rec.inputs = readPropertyDefinitions(v, unit);
        return;
      case 'capabilities':
        rec.capabilities = readCapabilityDefinitions(v, unit);
        return;
      case 'requirements':
        rec.requirements = readRequirementDefinitions(v, unit);
        return;
      case 'interfaces':
        rec.interfaces = entries(v).map(([name, node]) => readInterface(name, node, offsetOf(node), unit));
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
        return;
      case 'constraints':
        rec.constraints = toJS(unit.src, v);
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
