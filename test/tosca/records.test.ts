/**
 * What the compiler used to read from raw YAML and now takes from the file's records: the version
 * and `functions:` (read before the grammar walk), the other 1.x versions' type names for hints,
 * and node templates' `copy` and `directives`.
 */
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache, type CompileResult } from '../../src/tosca/index.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { parseYaml } from '../../src/tosca/yaml-source.js';
import { readHeader } from '../../src/tosca/document/read-header.js';
import { locationAt } from '../../src/tosca/document/offsets.js';
import { memoryReader } from '../support/memory-reader.js';
import { walkRecords } from '../support/record-walk.js';

const profiles = profilesReader();
const compile = (text: string, cache = createCompileCache()) => compileService('s.yaml', memoryReader({ 's.yaml': text }), { profiles, cache });
const found = (r: CompileResult, code: string) => r.diagnostics.filter((d) => d.code === code).map((d) => `${d.line}:${d.column} ${d.message}${d.hint ? ` | ${d.hint}` : ''}`);
const errors = (r: CompileResult) => r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.line}:${d.column} ${d.message}`);

const V2 = 'tosca_definitions_version: tosca_2_0\n';

describe('file header: read once, before the walk, into the file record', () => {
  it('keeps the version with where it is written, and the declared functions without their $', () => {
    const src = parseYaml('t.yaml', `description: x\ntosca_definitions_version: tosca_2_0\nfunctions:\n  $twice: {}\n  half: {}\n`);
    const h = readHeader(src.root);
    expect(h.version).toBe('tosca_2_0');
    expect(locationAt(src, h.versionAt)).toMatchObject({ line: 2, column: 28 });
    expect(h.functions).toEqual(['twice', 'half']);
    // Missing: '' and the document's start (what "missing tosca_definitions_version" points at).
    const none = parseYaml('t.yaml', `\n\ndescription: x\n`);
    expect(readHeader(none.root)).toMatchObject({ version: '', functions: [] });
    expect(locationAt(none, readHeader(none.root).versionAt)).toMatchObject({ line: 3, column: 1 });
  });

  it('reports an unsupported or missing version at the value, or at the document', async () => {
    expect(found(await compile('\ntosca_definitions_version:   tosca_9\n'), 'E_TOSCA_VERSION')).toEqual([
      '2:30 unsupported tosca_definitions_version "tosca_9" | use tosca_2_0 or tosca_simple_yaml_1_0 … 1_3',
    ]);
    expect(found(await compile('# a comment\ndescription: no version\n'), 'E_TOSCA_VERSION')).toEqual([
      '2:1 missing tosca_definitions_version | use tosca_2_0 or tosca_simple_yaml_1_0 … 1_3',
    ]);
  });

  it('lets a validation clause call a function the file declares after it (the walk meets the clause first)', async () => {
    const types = `data_types:\n  Even:\n    derived_from: integer\n    validation: { $is_even: [ $value ] }\n`;
    const declared = await compile(`${V2}${types}functions:\n  $is_even:\n    signatures: []\n`);
    expect(errors(declared)).toEqual([]);
    // The same clause with nothing declared: the check is live, and it is the declaration that passes it.
    expect(errors(await compile(`${V2}${types}`)).join('\n')).toMatch(/is_even/);
  });
});

describe('hints naming another 1.x version: its type names come from its profile read into records', () => {
  it('names the rename, the first time and from a warm cache alike', async () => {
    const text = `tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    disk:\n      type: tosca.nodes.BlockStorage\n`;
    const cache = createCompileCache();
    const want = ['5:13 unknown node type "tosca.nodes.BlockStorage" | did you mean "tosca.nodes.Storage.BlockStorage"? ("tosca.nodes.BlockStorage" is the TOSCA 1.0 name; this document is tosca_simple_yaml_1_3)'];
    expect(found(await compile(text, cache), 'E_TOSCA_UNKNOWN_TYPE')).toEqual(want);
    expect(found(await compile(text, cache), 'E_TOSCA_UNKNOWN_TYPE')).toEqual(want);
  });
});

describe('node templates: copy and directives from the records', () => {
  const HOST = '    h:\n      type: kaidu:Host\n';

  it('merges a chain of copies, each over the one it copies', async () => {
    const r = await compile(`${V2}service_template:\n  node_templates:\n${HOST}    a:\n      type: kaidu:Process\n      properties: { command: [ a ], env: { A: '1' } }\n      requirements: [ { host: h } ]\n    b:\n      copy: a\n      properties: { env: { B: '2' } }\n    c:\n      copy: b\n      properties: { command: [ c ] }\n`);
    expect(errors(r)).toEqual([]);
    expect(r.service!.nodes.c!.properties).toMatchObject({ command: ['c'], env: { A: '1', B: '2' } });
    expect(r.service!.nodes.c!.requirements.map((q) => q.target)).toEqual(['h']);
  });

  it('reports a copy cycle and an unknown copied template at the name copied', async () => {
    const r = await compile(`${V2}service_template:\n  node_templates:\n${HOST}    a:\n      copy:   b\n    b:\n      copy: a\n    c:\n      type: kaidu:Process\n      copy: hh\n`);
    // Each template of the cycle, at the copy that closes it.
    expect(found(r, 'E_TOSCA_COPY')).toEqual(['9:13 copy cycle: a → b → a', '7:15 copy cycle: b → a → b']);
    expect(found(r, 'E_TOSCA_UNKNOWN_TEMPLATE')).toEqual(['12:13 "c" copies "hh", which is not a node template | did you mean "h"?']);
  });

  it("points substitution's problems at the directives, also when they are copied", async () => {
    const r = await compile(`${V2}service_template:\n  node_templates:\n${HOST}    x:\n      type: kaidu:Host\n      directives:   [ substitute ]\n    y:\n      copy: x\n`);
    const subst = found(r, 'E_TOSCA_SUBSTITUTE');
    expect(subst).toHaveLength(2);
    expect(subst[0]).toMatch(/^8:21 node "x"/);
    // y's directives are x's, merged under y: reported where they are written, in x.
    expect(subst[1]).toMatch(/^8:21 node "y"/);
  });
});

describe("a type's property, attribute and input definitions: read entity by entity as the grammar walks them", () => {
  /** The file read as the loader does, and the definitions whose keys a reader took from the walk. */
  const walk = (text: string) => walkRecords(text, (entity) => entity.endsWith('Definition'));

  it('takes each definition written as a map from the walk, with the same record as before', () => {
    const { file, problems, taken } = walk(`tosca_definitions_version: tosca_2_0
data_types:
  Pair:
    properties:
      left: { type: string, default: a, description: the left one }
      right:
        type: list
        entry_schema: { type: integer, validation: { $greater_than: [ $value, 0 ] } }
        required: false
node_types:
  App:
    properties:
      port: { type: integer, default: 80, type: string }
    attributes:
      url: { type: string }
interface_types:
  Life:
    inputs:
      verbose: { type: boolean, default: false }
`);
    expect(taken).toEqual(['propertyDefinition', 'propertyDefinition', 'propertyDefinition', 'attributeDefinition', 'propertyDefinition']);
    const [left, right] = file.types.data[0]!.properties;
    expect(left).toEqual({ name: 'left', at: left!.at, map: true, type: 'string', default: 'a', defaultAt: left!.defaultAt, description: 'the left one' });
    expect(right).toEqual({ name: 'right', at: right!.at, map: true, type: 'list', entry: { type: 'integer', validation: { $greater_than: ['$value', 0] }, validationAt: right!.entry!.validationAt }, required: false });
    // A key written twice: the first counts (the YAML reader reports the duplicate).
    expect(file.types.node[0]!.properties[0]).toMatchObject({ name: 'port', type: 'integer', default: 80 });
    expect(file.types.node[0]!.attributes[0]).toMatchObject({ name: 'url', type: 'string' });
    expect(file.types.interface[0]!.inputs[0]).toMatchObject({ name: 'verbose', type: 'boolean', default: false });
    expect(problems).toEqual([]);
  });

  it("takes a node type's capability and requirement definitions from the walk, short notations at once", () => {
    const { file, problems, taken } = walk(`tosca_definitions_version: tosca_2_0
node_types:
  App:
    capabilities:
      api: { type: tosca:Endpoint, properties: { port: 80 }, valid_source_node_types: [ Web ] }
      admin: tosca:Endpoint.Admin
    requirements:
      - host: tosca:Compute
      - db:
          capability: tosca:Endpoint.Database
          node: Database
          relationship: { type: tosca:ConnectsTo }
          count_range: [ 0, UNBOUNDED ]
`);
    expect(taken).toEqual(['capabilityDefinition', 'requirementDefinition']);
    const app = file.types.node[0]!;
    expect(app.capabilities.map(({ at: _a, pairAt: _p, ...c }) => c)).toEqual([
      { name: 'api', map: true, type: 'tosca:Endpoint', properties: [['port', 80]], validSourceTypes: ['Web'] },
      { name: 'admin', map: false, type: 'tosca:Endpoint.Admin', properties: [], validSourceTypes: [] },
    ]);
    expect(app.requirements.map(({ at: _a, pairAt: _p, unit: _u, ...r }) => r)).toEqual([
      { name: 'host', map: false, capability: 'tosca:Compute' },
      { name: 'db', map: true, capability: 'tosca:Endpoint.Database', node: 'Database', relationship: 'tosca:ConnectsTo', occurrences: [0, 'UNBOUNDED'] },
    ]);
    // Key for key as a record read from its value: one shape whichever reader made it.
    expect(Object.keys(app.requirements[1]!)).toEqual(['name', 'at', 'pairAt', 'map', 'capability', 'node', 'relationship', 'occurrences', 'unit']);
    expect(problems).toEqual([]);
  });

  it("takes a type's interface operations from the walk too, 2.0 under operations: and 1.0–1.2 as the interface's own keys", () => {
    const two = walk(`tosca_definitions_version: tosca_2_0
node_types:
  App:
    interfaces:
      Standard:
        type: tosca:Lifecycle.Standard
        operations:
          create: scripts/create.sh
          start:
            description: starts it
            implementation: { primary: scripts/start.sh, dependencies: [ lib.sh ], timeout: 30 }
            inputs: { port: { type: integer, default: 80 }, name: shop }
            outputs: { pid: [ SELF, pid ] }
`);
    expect(two.taken).toEqual(['operationDefinition']);
    expect(two.file.types.node[0]!.interfaces[0]!.operations).toEqual([
      { name: 'create', at: expect.any(Number), implementation: 'scripts/create.sh', dependencies: [], inputs: [], outputs: [] },
      { name: 'start', at: expect.any(Number), implementation: 'scripts/start.sh', dependencies: ['lib.sh'], timeout: 30, inputs: [['port', 80], ['name', 'shop']], outputs: [['pid', ['SELF', 'pid']]], description: 'starts it' },
    ]);
    // Key for key in the same order as an operation read from its value (a template's), whichever was written first.
    expect(Object.keys(two.file.types.node[0]!.interfaces[0]!.operations[1]!)).toEqual(['name', 'at', 'implementation', 'dependencies', 'timeout', 'inputs', 'outputs', 'description']);
    const old = walk(`tosca_definitions_version: tosca_simple_yaml_1_2
node_types:
  App:
    interfaces:
      Standard:
        type: tosca.interfaces.node.lifecycle.Standard
        create: { implementation: create.sh }
        configure: configure.sh
`);
    expect(old.taken).toEqual(['operationDefinition']);
    expect(old.file.types.node[0]!.interfaces[0]!.operations.map((o) => [o.name, o.implementation])).toEqual([['create', 'create.sh'], ['configure', 'configure.sh']]);
    expect(old.problems).toEqual([]);
  });

  it('still reads a definition the walk does not enter (under a keyword the grammar refuses), and one not written as a map', () => {
    const { file, problems, taken } = walk(`tosca_definitions_version: tosca_2_0
node_types:
  App:
    inputs:
      x: { type: string, default: a }
    properties:
      y: integer
`);
    expect(taken).toEqual([]);
    expect(file.types.node[0]!.inputs).toMatchObject([{ name: 'x', map: true, type: 'string', default: 'a' }]);
    expect(file.types.node[0]!.properties).toMatchObject([{ name: 'y', map: false, type: 'integer', short: true }]);
    expect(problems.join('\n')).toMatch(/E_TOSCA_UNKNOWN_KEYWORD 4:5 unknown keyword "inputs"/);
  });
});
