/**
 * A node template's body read into a `NodeTemplate` in the same pass as the grammar checks it:
 * each key the grammar walks is handed to the reader, so the template's YAML is walked once.
 */
import type { Pair, YAMLMap } from 'yaml';
import type { SourceLocation } from '../diagnostic.js';
import type { Unit } from '../loader.js';
import type { GrammarChecker } from '../grammar/index.js';
import { entries, field, isMap, seqItems, str, toJS, type YamlNode } from '../yaml-source.js';
import { scalarKey } from '../yaml-fast.js';
import type { CapabilityAssignment, NodeTemplate, NodeTemplateEntry, RequirementAssignment } from './records.js';
import { offsetOf } from './offsets.js';
import { readAssignments, readOptionalAssignments, readStringMap } from './read-values.js';
import { readArtifacts, readInterfaces } from './read-interfaces.js';
import { Label } from '../values.js';

const NO_REQUIREMENTS: RequirementAssignment[] = Object.freeze([]) as unknown as RequirementAssignment[];

/** The keys the compiler reads, each once: the first of a duplicated key counts (the YAML reader reports the duplicate). */
const KEYS: Record<string, number> = { type: 1, description: 2, metadata: 4, directives: 8, properties: 16, attributes: 32, capabilities: 64, requirements: 128, interfaces: 256, artifacts: 512, node_filter: 1024 };
const TYPE = KEYS.type!;
const PROPERTIES = KEYS.properties!;
const CAPABILITIES = KEYS.capabilities!;

/**
 * Reads node templates of one file, one at a time. One reader serves every template, so reading
 * 100,000 of them makes no closure per template.
 */
export class NodeTemplateReader {
  private rec!: NodeTemplate;
  private seen = 0;
  private readonly take = (key: string, v: YamlNode | null, pair: Pair): void => this.keyword(key, v, pair);
  /** `node template "name"` for the grammar's messages: one, set per template (the check is synchronous). */
  private readonly label = new Label((name) => `node template "${name}"`);

  constructor(
    private readonly unit: Unit,
    private readonly grammar: GrammarChecker | undefined,
  ) {}

  /**
   * Undefined when the template is not even a map (the grammar said so). `copy` was applied to
   * `entry.node` already; the grammar checks the template as written.
   */
  read(entry: NodeTemplateEntry, loc: SourceLocation): NodeTemplate | undefined {
    const rec: NodeTemplate = { name: entry.name, at: entry.at, typeAt: 0, requirements: NO_REQUIREMENTS };
    this.rec = rec;
    this.seen = 0;
    const grammar = this.grammar;
    const label = this.label.set(entry.name);
    if (grammar && entry.own === entry.node) return grammar.checkEntity(entry.own, 'nodeTemplate', label, loc, this.take) ? rec : undefined;
    if (grammar && !grammar.checkEntity(entry.own, 'nodeTemplate', label, loc)) return undefined;
    for (const [k, v, p] of entries(entry.node)) this.keyword(k, v, p);
    return rec;
  }

  private keyword(key: string, v: YamlNode | null, pair: Pair): void {
    const bit = KEYS[key];
    if (bit === undefined || this.seen & bit) return;
    this.seen |= bit;
    const rec = this.rec;
    // The keys most templates write here, the others in `otherKeyword`: V8 optimises a smaller
    // function sooner, and this one is called for every key of every template.
    if (bit === TYPE) {
      rec.type = str(v);
      rec.typeAt = offsetOf(v);
    } else if (bit === PROPERTIES) {
      if (v !== null) rec.properties = { list: readAssignments(v, this.unit), at: offsetOf(pair) };
    } else if (bit === CAPABILITIES) {
      // The pairs directly, into an array of the final size (no entry tuples per template).
      const items = isMap(v) ? ((v as YAMLMap).items as Pair[]) : [];
      const list = new Array<CapabilityAssignment>(items.length);
      for (let i = 0; i < items.length; i++) list[i] = readCapability(items[i]!, this.unit);
      rec.capabilities = list;
    } else this.otherKeyword(key, v, pair);
  }

  private otherKeyword(key: string, v: YamlNode | null, pair: Pair): void {
    const rec = this.rec;
    const unit = this.unit;
    switch (key) {
      case 'description':
        rec.description = str(v);
        return;
      case 'metadata':
        if (v !== null) rec.metadata = readStringMap(v, unit);
        return;
      case 'directives':
        if (v !== null) {
          rec.directives = seqItems(v).map((d) => str(d) ?? '').filter(Boolean);
          rec.directivesAt = offsetOf(v);
        }
        return;
      case 'attributes':
        rec.attributes = readAssignments(v, unit);
        return;
      case 'requirements':
        rec.requirements = [];
        for (const item of seqItems(v)) for (const [name, r, p] of entries(item)) rec.requirements.push(readRequirement(name, r, p, unit));
        return;
      case 'interfaces':
        if (v !== null) rec.interfaces = readInterfaces(v, unit);
        return;
      case 'artifacts':
        if (v !== null) rec.artifacts = readArtifacts(v, unit);
        return;
      case 'node_filter':
        if (v !== null) rec.nodeFilterAt = offsetOf(pair);
        return;
    }
  }
}

/**
 * One capability assignment. Its `properties` and `attributes` are found in one pass over its keys,
 * by index (the first of a duplicated key counts, as `field` finds it): every template that assigns
 * a capability comes here.
 */
function readCapability(p: Pair, unit: Unit): CapabilityAssignment {
  const c = (p.value as YamlNode | null) ?? null;
  let properties: YamlNode | null | undefined;
  let attributes: YamlNode | null | undefined;
  if (isMap(c)) {
    const items = (c as YAMLMap).items as Pair[];
    for (let j = 0; j < items.length; j++) {
      const q = items[j]!;
      const k = scalarKey(q);
      if (k === 'properties') {
        if (properties === undefined) properties = (q.value as YamlNode | null) ?? null;
      } else if (k === 'attributes' && attributes === undefined) attributes = (q.value as YamlNode | null) ?? null;
    }
  }
  const props = properties === undefined ? undefined : readAssignments(properties, unit);
  const attrs = attributes === undefined ? undefined : readAssignments(attributes, unit);
  // Every field in the literal (undefined when not written): one record per assignment, sized for
  // them (fields added later went into a property array of their own, an object more per template).
  return { name: scalarKey(p) ?? String(p.key), at: offsetOf(p), properties: props, attributes: attrs };
}

function readRequirement(name: string, node: YamlNode | null, pair: Pair, unit: Unit): RequirementAssignment {
  const target = str(node) ?? str(field(node, 'node'));
  const capability = str(field(node, 'capability'));
  const rel = field(node, 'relationship');
  const filter = field(node, 'node_filter');
  const r: RequirementAssignment = { name, at: offsetOf(pair), valueAt: offsetOf(node), targetAt: offsetOf(field(node, 'node') ?? node ?? pair) };
  if (target !== undefined) r.node = target;
  if (capability !== undefined) r.capability = capability;
  if (rel !== undefined) {
    const type = str(rel) ?? str(field(rel, 'type'));
    const properties = readOptionalAssignments(rel, 'properties', unit);
    r.relationship = { at: offsetOf(rel), ...(type !== undefined ? { type } : {}), ...(properties ? { properties } : {}) };
  }
  if (filter !== undefined) r.nodeFilter = { filter: toJS(unit.src, filter), at: offsetOf(filter) };
  return r;
}

/** A template's type name as written, without reading its body into a record (requirement matching asks it of any template). */
export function templateTypeName(entry: NodeTemplateEntry): string | undefined {
  return str(field(entry.node, 'type'));
}
