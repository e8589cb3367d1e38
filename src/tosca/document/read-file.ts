/**
 * A whole TOSCA file read in one walk of its version's grammar: the walk checks each construct's
 * shape and hands the keys of the file, of each type definition and of the service template to
 * their readers as it goes, so a file is walked once (node template bodies excepted: they are read,
 * and checked, when the compiler reaches them).
 */
import type { Pair } from 'yaml';
import type { Unit } from '../loader.js';
import { FAMILY_KEYS, type Family } from '../families.js';
import type { GrammarChecker, KeywordVisitor } from '../grammar/check.js';
import { entries, isMap, seqItems, str, type YamlNode } from '../yaml-source.js';
import type { FileHeader, FileRecord, TypeRecord } from './records.js';
import { readHeader } from './read-header.js';
import { offsetOf } from './offsets.js';
import { readImport, readRepositories } from './read-definitions.js';
import { emptyTypeRecord, TypeReader } from './read-types.js';
import { emptyServiceTemplate, ServiceTemplateReader } from './read-service.js';
import { readStringMap } from './read-values.js';

const FAMILY_OF: ReadonlyMap<string, Family> = new Map(Object.entries(FAMILY_KEYS).map(([f, k]) => [k, f as Family]));
/**
 * Entities a type's `properties`, `attributes`, `inputs`, `capabilities`, `requirements` and its
 * interfaces' operations are walked as (the same entities elsewhere, e.g. a service's `inputs`,
 * are read by their own readers).
 */
const DEFINITION_ENTITIES = new Set(['propertyDefinition', 'attributeDefinition', 'parameterDefinition', 'capabilityDefinition', 'requirementDefinition', 'operationDefinition']);
const TYPE_ENTITIES = new Set(['artifactType', 'dataType', 'capabilityType', 'interfaceType', 'relationshipType', 'nodeType', 'groupType', 'policyType']);

/** `header`: what the loader read before choosing the grammar (read here when not given). */
export function readFile(unit: Unit, checker: GrammarChecker, header: FileHeader = readHeader(unit.src.root)): FileRecord {
  const reader = new FileReader(unit, header);
  checker.reader = reader.enter;
  checker.functions = new Set(header.functions);
  try {
    checker.checkFile(unit.src.root);
  } finally {
    checker.reader = undefined;
  }
  return reader.finish();
}

class FileReader {
  private readonly seen = new Set<string>();
  private readonly record: FileRecord;
  private readonly types: TypeReader;
  /** Type definitions (maps) met under the file's keys, waiting for the walk to enter them. */
  private readonly pendingTypes = new Map<YamlNode, TypeRecord[]>();
  private current?: TypeRecord;
  private readonly services = new Map<YamlNode, ServiceTemplateReader>();
  private serviceNode?: YamlNode | null;
  private topologyNode?: YamlNode | null;
  private description?: string;
  private metadata?: YamlNode | null;

  constructor(
    private readonly unit: Unit,
    header: FileHeader,
  ) {
    this.types = new TypeReader(unit);
    this.record = {
      ...header,
      imports: [],
      repositories: [],
      types: Object.fromEntries(Object.keys(FAMILY_KEYS).map((f) => [f, []])) as unknown as FileRecord['types'],
    };
  }

  /** The grammar walk entering a construct: the reader of its keys, if it is one read here. */
  readonly enter = (entity: string, node: YamlNode): KeywordVisitor | undefined => {
    if (entity === 'file' && node === this.unit.src.root) return this.root;
    if (TYPE_ENTITIES.has(entity)) return this.startType(node);
    if (DEFINITION_ENTITIES.has(entity)) return this.types.enterDefinition(node);
    if (entity === 'serviceTemplate' || entity === 'topologyTemplate') {
      const reader = this.services.get(node);
      if (!reader || reader.entered) return undefined;
      reader.entered = true;
      return reader.visit;
    }
    if (entity === 'workflowDefinition') {
      for (const reader of this.services.values()) {
        const visit = reader.enterWorkflow(node);
        if (visit) return visit;
      }
    }
    return undefined;
  };

  private readonly root = (key: string, v: YamlNode | null, pair: Pair): void => {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const unit = this.unit;
    const family = FAMILY_OF.get(key);
    if (family) {
      for (const [name, node, p] of entries(v)) {
        const rec = emptyTypeRecord(family, name, offsetOf(p), offsetOf(node));
        this.record.types[family].push(rec);
        if (isMap(node)) {
          const list = this.pendingTypes.get(node);
          if (list) list.push(rec);
          else this.pendingTypes.set(node, [rec]);
        }
      }
      return;
    }
    switch (key) {
      case 'imports':
        for (const item of seqItems(v)) this.record.imports.push(readImport(item, unit.versionText));
        return;
      case 'repositories':
        this.record.repositories = readRepositories(v);
        return;
      case 'description':
        this.description = str(v);
        return;
      case 'metadata':
        this.metadata = v;
        return;
      case 'service_template':
      case 'topology_template':
        if (key === 'service_template') this.serviceNode = v;
        else this.topologyNode = v;
        if (isMap(v) && !this.services.has(v)) this.services.set(v, new ServiceTemplateReader(unit));
        return;
    }
  };

  private startType(node: YamlNode): KeywordVisitor | undefined {
    const rec = this.pendingTypes.get(node)?.shift();
    if (!rec) return undefined;
    if (this.current) this.types.finish();
    this.current = rec;
    this.types.start(rec);
    return this.types.visit;
  }

  finish(): FileRecord {
    // A definition the walk did not enter (a grammar without its key): read it all the same.
    for (const [node, list] of this.pendingTypes) {
      while (list.length) feed(node, this.startType(node)!);
    }
    if (this.current) this.types.finish();
    for (const [node, reader] of this.services) {
      if (!reader.entered) feed(node, reader.visit);
      reader.finishWorkflows();
    }
    const tpl = this.serviceNode ?? this.topologyNode;
    if (tpl !== undefined && tpl !== null) {
      const reader = this.services.get(tpl);
      const service = reader?.rec ?? emptyServiceTemplate(this.unit);
      if (this.description) service.description = this.description;
      service.metadata = readStringMap(this.metadata, this.unit);
      this.record.service = service;
      this.record.serviceAt = offsetOf(tpl);
    }
    return this.record;
  }
}

/** The keys of a map, handed to a reader as the grammar walk would. */
function feed(node: YamlNode, visit: KeywordVisitor): void {
  for (const [k, v, p] of entries(node)) visit(k, v, p);
}
