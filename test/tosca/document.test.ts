import { describe, expect, it } from 'vitest';
import type { Unit } from '../../src/tosca/loader.js';
import type { Diagnostic } from '../../src/tosca/diagnostic.js';
import { field, parseYaml } from '../../src/tosca/yaml-source.js';
import { GrammarChecker, grammarFor } from '../../src/tosca/grammar/index.js';
import { readFile } from '../../src/tosca/document/read-file.js';
import { NodeTemplateReader } from '../../src/tosca/document/read-node-template.js';
import { locationAt } from '../../src/tosca/document/offsets.js';
import type { FileRecord, NodeTemplate, ServiceTemplate } from '../../src/tosca/document/records.js';
import { ProblemSink } from '../../src/tosca/loader.js';

/** A file read as the loader would, enough for the model's readers (no imports, no types). */
function read(text: string): { unit: Unit; service: ServiceTemplate; nodes: Array<NodeTemplate | undefined>; problems: Diagnostic[] } {
  const src = parseYaml('s.yaml', text);
  const versionText = String((field(src.root, 'tosca_definitions_version') as { value: unknown }).value);
  const unit = { src, version: versionText === 'tosca_2_0' ? 2 : 1, versionText, dir: '', functions: new Set<string>(), fromProfiles: false, grammarProblems: new ProblemSink() } as unknown as Unit;
  const problems: Diagnostic[] = [];
  const grammar = new GrammarChecker(grammarFor(versionText)!, src, (code, message, at) => problems.push({ severity: 'error', code, message, ...at }));
  const service = readFile(unit, grammar).service!;
  const reader = new NodeTemplateReader(unit, grammar);
  const nodes = service.nodeTemplates.map((e) => reader.read(e, locationAt(src, e.at)));
  return { unit, service, nodes, problems };
}

const TEMPLATE_2 = `tosca_definitions_version: tosca_2_0
service_template:
  inputs:
    port: { type: integer, default: 8080 }
  node_templates:
    db:
      type: tosca:Database
      properties:
        name: shop
        user: { value: admin, description: who }
      capabilities:
        database_endpoint:
          properties: { port: 5432 }
    web:
      type: kaidu:Process
      description: the shop
      metadata: { owner: team-a }
      directives: [ select ]
      requirements:
        - database:
            node: db
            capability: database_endpoint
            relationship: { type: tosca:ConnectsTo, properties: { user: admin } }
        - host: box
      interfaces:
        Standard:
          operations:
            create: scripts/create.sh
            start: { implementation: { primary: scripts/start.sh, dependencies: [ lib.sh ], timeout: 30 } }
      artifacts:
        conf: { file: files/app.conf, type: tosca:File, deploy_path: /etc/app.conf }
  outputs:
    url: { type: string, value: { $concat: [ "http://", { $get_input: port } ] } }
  groups:
    g: { type: tosca:Group, members: [ web, db ] }
`;

describe('the normalized model (src/tosca/document)', () => {
  it('reads a 2.0 service template into typed records, values as data, positions as offsets', () => {
    const { unit, service, nodes, problems } = read(TEMPLATE_2);
    expect(problems).toEqual([]);
    expect(service.inputs.map((i) => i.name)).toEqual(['port']);
    expect(service.nodeTemplates.map((e) => e.name)).toEqual(['db', 'web']);
    const [db, web] = nodes as NodeTemplate[];
    expect(db!.type).toBe('tosca:Database');
    // The long notation of an assignment is unwrapped.
    expect(db!.properties!.list.map((a) => [a.name, a.value])).toEqual([['name', 'shop'], ['user', 'admin']]);
    expect(locationAt(unit.src, db!.properties!.at)).toMatchObject({ line: 8, column: 7 });
    expect(locationAt(unit.src, db!.typeAt)).toMatchObject({ line: 7, column: 13 });
    expect(db!.capabilities).toEqual([{ name: 'database_endpoint', at: expect.any(Number), properties: [{ name: 'port', value: 5432, at: expect.any(Number) }] }]);
    expect(web).toMatchObject({ name: 'web', type: 'kaidu:Process', description: 'the shop', metadata: { owner: 'team-a' }, directives: ['select'] });
    expect(web!.requirements.map((r) => ({ name: r.name, node: r.node, capability: r.capability, rel: r.relationship?.type, props: r.relationship?.properties?.map((a) => a.value) }))).toEqual([
      { name: 'database', node: 'db', capability: 'database_endpoint', rel: 'tosca:ConnectsTo', props: ['admin'] },
      { name: 'host', node: 'box', capability: undefined, rel: undefined, props: undefined },
    ]);
    expect(locationAt(unit.src, web!.requirements[1]!.at)).toMatchObject({ line: 24, column: 11 });
    const [standard] = web!.interfaces!;
    expect(standard!.operations).toEqual([
      { name: 'create', at: expect.any(Number), implementation: 'scripts/create.sh', dependencies: [], inputs: [], outputs: [] },
      { name: 'start', at: expect.any(Number), implementation: 'scripts/start.sh', dependencies: ['lib.sh'], timeout: 30, inputs: [], outputs: [] },
    ]);
    // Each operation keeps its key's position, where a problem with it is reported.
    expect(locationAt(unit.src, standard!.operations[0]!.at).line).toBe(locationAt(unit.src, standard!.operations[1]!.at).line - 1);
    expect(web!.artifacts!.map((a) => [a.name, a.file, a.type, a.deployPath])).toEqual([['conf', 'files/app.conf', 'tosca:File', '/etc/app.conf']]);
    // A call stays a call, to be evaluated once the nodes are compiled.
    expect(service.outputs[0]!.value).toEqual({ $fn: 'concat', args: ['http://', { $fn: 'get_input', args: ['port'] }] });
    expect(service.groups).toEqual([expect.objectContaining({ name: 'g', type: 'tosca:Group', members: ['web', 'db'] })]);
  });

  it('is the same model whichever version wrote it: a 1.2 template (operations listed directly) gives the records a 2.0 one does', () => {
    const body = (version: string, key: string) => `tosca_definitions_version: ${version}
${key}:
  node_templates:
    app:
      type: tosca.nodes.SoftwareComponent
      properties:
        component_version: "1.0"
      requirements:
        - host: server
      interfaces:
        Standard:
          create: scripts/create.sh
    server:
      type: tosca.nodes.Compute
`;
    const v13 = read(body('tosca_simple_yaml_1_2', 'topology_template'));
    const v20 = read(body('tosca_2_0', 'service_template').replace('          create: scripts/create.sh', '          operations:\n            create: scripts/create.sh'));
    expect(v13.problems).toEqual([]);
    expect(v20.problems).toEqual([]);
    const shape = (n: NodeTemplate | undefined) => ({ ...n, at: 0, typeAt: 0, properties: n?.properties?.list.map((a) => [a.name, a.value]), requirements: n?.requirements.map((r) => [r.name, r.node]), interfaces: n?.interfaces?.map((i) => [i.name, i.operations.map((o) => ({ ...o, at: 0 }))]) });
    expect(v13.nodes.map(shape)).toEqual(v20.nodes.map(shape));
    expect(v13.nodes[0]!.interfaces![0]!.operations[0]).toMatchObject({ name: 'create', implementation: 'scripts/create.sh' });
  });

  it('checks a node template in the pass that reads it: shape errors are reported and the rest is still read', () => {
    const { unit, nodes, problems } = read(`tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    web:
      type: kaidu:Process
      propertiessss: { command: [ a ] }
      requirements:
        host: box
    broken: [ not, a, map ]
`);
    expect(problems.map((p) => [p.code, p.line])).toEqual([['E_TOSCA_UNKNOWN_KEYWORD', 6], ['E_TOSCA_WRONG_SHAPE', 8], ['E_TOSCA_WRONG_SHAPE', 9]]);
    expect(problems[0]!.message).toContain('propertiessss');
    // Read as written: the misspelt key is no property, and requirements written as a map assign none.
    expect(nodes[0]).toMatchObject({ name: 'web', type: 'kaidu:Process', requirements: [] });
    expect(nodes[0]!.properties).toBeUndefined();
    expect(locationAt(unit.src, nodes[0]!.at)).toMatchObject({ line: 4, column: 5 });
    // Not even a map: nothing to compile.
    expect(nodes[1]).toBeUndefined();
  });

  it('reads a key written twice once, the first counting (as a lookup by key does)', () => {
    const { nodes } = read(`tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    web:
      type: kaidu:Process
      description: first
      description: second
`);
    expect(nodes[0]!.description).toBe('first');
  });

  it("reads a node type's requirement definitions, short and long, 1.x occurrences and 2.0 count_range alike", () => {
    const src = parseYaml('t.yaml', `tosca_definitions_version: tosca_2_0
node_types:
  App:
    requirements:
      - host: tosca:Compute
      - db:
          capability: tosca:Endpoint.Database
          node: Database
          relationship: { type: tosca:ConnectsTo }
          count_range: [ 0, UNBOUNDED ]
          node_filter: { $equal: [ { $get_property: [ SELF, name ] }, shop ] }
`);
    const unit = { src, version: 2, versionText: 'tosca_2_0', dir: '', functions: new Set<string>(), fromProfiles: false } as unknown as Unit;
    const file: FileRecord = readFile(unit, new GrammarChecker(grammarFor('tosca_2_0')!, src, () => {}));
    const defs = file.types.node[0]!.requirements;
    expect(defs.map(({ unit: _u, at: _a, pairAt: _p, map: _m, nodeFilter, ...d }) => ({ ...d, filtered: nodeFilter !== undefined }))).toEqual([
      { name: 'host', capability: 'tosca:Compute', filtered: false },
      { name: 'db', capability: 'tosca:Endpoint.Database', node: 'Database', relationship: 'tosca:ConnectsTo', occurrences: [0, 'UNBOUNDED'], filtered: true },
    ]);
    expect(locationAt(src, defs[1]!.nodeFilter!.at)).toMatchObject({ line: 11, column: 24 });
  });

  /** A whole file through its grammar: the records, and the problems the same walk found. */
  function readWhole(text: string): { file: FileRecord; problems: Array<[string, number, string]> } {
    const src = parseYaml('t.yaml', text);
    const versionText = String((field(src.root, 'tosca_definitions_version') as { value: unknown }).value);
    const unit = { src, version: versionText === 'tosca_2_0' ? 2 : 1, versionText, dir: '', functions: new Set<string>(), fromProfiles: false } as unknown as Unit;
    const problems: Array<[string, number, string]> = [];
    let walks = 0;
    const grammar = new GrammarChecker(grammarFor(versionText)!, src, (code, message, at) => problems.push([code, at.line, message]));
    const checkFile = grammar.checkFile.bind(grammar);
    grammar.checkFile = (root) => {
      walks++;
      checkFile(root);
    };
    const file = readFile(unit, grammar);
    expect(walks).toBe(1);
    return { file, problems };
  }

  it('reads every kind of type definition, imports and repositories into records in the one walk that checks their shape', () => {
    const { file, problems } = readWhole(`tosca_definitions_version: tosca_2_0
imports:
  - lib/types.yaml
  - { profile: org.example:1.0, namespace: ex }
repositories:
  code: { url: https://example.org/code }
functions:
  $twice: {}
data_types:
  Size:
    derived_from: scalar
    units: { B: 1, kB: 1000 }
  Port:
    derived_from: integer
    validation: { $in_range: [ $value, [ 1, 65535 ] ] }
  Pair:
    properties:
      left: { type: string, default: a }
      right: { type: list, entry_schema: integer, required: false }
capability_types:
  Listen:
    valid_source_node_types: [ App ]
interface_types:
  Life:
    inputs:
      verbose: { type: boolean, default: false }
    operations:
      start: {}
      stop: {}
relationship_types:
  Uses:
    valid_capability_types: [ Listen ]
node_types:
  App:
    derived_from: tosca:Root
    properties:
      port: { type: Port, defualt: 80 }
    attributes:
      url: { type: string }
    capabilities:
      listen: { type: Listen, properties: { backlog: 5 } }
    requirements:
      - db: { capability: Listen, count_range: [ 0, 1 ] }
    interfaces:
      Standard: { type: Life, operations: { start: start.sh } }
    artifacts:
      code: { type: tosca:File, file: app.tar }
group_types:
  Tier: { members: [ App ] }
policy_types:
  Keep: { targets: [ App ] }
artifact_types:
  Tarball: { mime_type: application/x-tar }
`);
    expect(file.imports.map(({ at: _a, ...i }) => i)).toEqual([{ file: 'lib/types.yaml' }, { profile: 'org.example:1.0', namespace: 'ex' }]);
    expect(file.repositories.map(({ at: _a, ...r }) => r)).toEqual([{ name: 'code', url: 'https://example.org/code' }]);
    expect(file.functions).toEqual(['twice']);
    const [size, port, pair] = file.types.data;
    expect(size).toMatchObject({ name: 'Size', derivedFrom: 'scalar', units: { B: 1, kB: 1000 } });
    expect(port).toMatchObject({ derivedFrom: 'integer', validation: { $in_range: ['$value', [1, 65535]] } });
    expect(pair!.properties.map(({ at: _a, ...p }) => p)).toEqual([
      { name: 'left', map: true, type: 'string', default: 'a', defaultAt: expect.any(Number) },
      { name: 'right', map: true, type: 'list', entry: { type: 'integer', short: true }, required: false },
    ]);
    expect(file.types.capability[0]!.lists).toEqual({ valid_source_node_types: ['App'] });
    expect(file.types.interface[0]).toMatchObject({ operations: ['start', 'stop'], inputs: [expect.objectContaining({ name: 'verbose', default: false })] });
    expect(file.types.relationship[0]!.lists).toEqual({ valid_capability_types: ['Listen'] });
    const app = file.types.node[0]!;
    expect(app).toMatchObject({ name: 'App', derivedFrom: 'tosca:Root', properties: [expect.objectContaining({ name: 'port', type: 'Port' })], attributes: [expect.objectContaining({ name: 'url' })] });
    expect(app.capabilities).toEqual([expect.objectContaining({ name: 'listen', type: 'Listen', properties: [['backlog', 5]] })]);
    expect(app.requirements).toEqual([expect.objectContaining({ name: 'db', capability: 'Listen', occurrences: [0, 1] })]);
    expect(app.interfaces).toEqual([expect.objectContaining({ name: 'Standard', type: 'Life', operations: [expect.objectContaining({ name: 'start', implementation: 'start.sh' })] })]);
    expect(app.artifacts).toEqual([expect.objectContaining({ name: 'code', type: 'tosca:File', file: 'app.tar' })]);
    expect(file.types.group[0]!.name).toBe('Tier');
    expect(file.types.policy[0]!.name).toBe('Keep');
    expect(file.types.artifact[0]!.name).toBe('Tarball');
    // The misspelt keyword was found by the same walk, at its line.
    expect(problems).toEqual([['E_TOSCA_UNKNOWN_KEYWORD', 37, 'unknown keyword "defualt" in property definition "port"']]);
    expect(file.service).toBeUndefined();
  });

  it('reads a 1.2 interface type whose operations are its own keys, and a 1.0–1.2 named import', () => {
    const { file, problems } = readWhole(`tosca_definitions_version: tosca_simple_yaml_1_2
imports:
  - base: base.yaml
interface_types:
  Life:
    derived_from: tosca.interfaces.Root
    create:
      description: make it
    delete: {}
topology_template:
  node_templates: {}
`);
    expect(problems).toEqual([]);
    expect(file.imports.map(({ at: _a, ...i }) => i)).toEqual([{ file: 'base.yaml' }]);
    expect(file.types.interface[0]).toMatchObject({ derivedFrom: 'tosca.interfaces.Root', operations: ['create', 'delete'] });
    expect(file.service?.nodeTemplates).toEqual([]);
  });

  it('reads substitution mappings into a record in the same walk (the compiler checks and applies them from it)', () => {
    const { file, problems } = readWhole(`tosca_definitions_version: tosca_2_0
service_template:
  inputs:
    size: { type: integer }
  substitution_mappings:
    node_type: Cache
    substitution_filter: { $equal: [ { $get_property: [ SELF, kind ] }, redis ] }
    properties:
      size: [ size ]
    capabilities:
      endpoint: [ redis, endpoint ]
    requirements:
      host: [ redis, host ]
    interfaces:
      Standard: { start: deploy }
    atributes: {}
  node_templates: {}
`);
    expect(problems).toEqual([['E_TOSCA_UNKNOWN_KEYWORD', 16, 'unknown keyword "atributes" in substitution mappings']]);
    const m = file.service!.substitution!.mappings!;
    expect(m).toMatchObject({ nodeType: 'Cache', filter: { value: { $equal: [{ $get_property: ['SELF', 'kind'] }, 'redis'] } } });
    expect(m.properties).toEqual([expect.objectContaining({ name: 'size', items: ['size'] })]);
    expect(m.capabilities).toEqual([expect.objectContaining({ name: 'endpoint', items: ['redis', 'endpoint'] })]);
    expect(m.requirements).toEqual([expect.objectContaining({ name: 'host', items: ['redis', 'host'] })]);
    expect(m.interfaces).toEqual([expect.objectContaining({ name: 'Standard', items: [], entries: [['deploy', expect.any(Number)]] })]);
    expect(m.attributes).toEqual([]);
    expect(file.service!.inputs.map((i) => [i.name, i.definition.type])).toEqual([['size', 'integer']]);
  });
});
