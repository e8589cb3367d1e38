import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { fsReader, profilesReader } from '../../src/cli/fs-reader.js';
import { memoryReader } from '../support/memory-reader.js';
import { corpusCases, expectCase } from '../support/tosca-corpus.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'test', 'fixtures', 'tosca', 'versions');
const profiles = profilesReader();
const cache = createCompileCache();

const cases = corpusCases(DIR);

describe('TOSCA 1.x versions corpus (test/fixtures/tosca/versions)', () => {
  it('has a valid and an invalid file for each 1.x version, each naming what it expects', () => {
    for (const v of ['1.0', '1.1', '1.2']) {
      expect(cases.some((c) => c.valid && c.file.includes(v)), `valid ${v}`).toBe(true);
      expect(cases.some((c) => !c.valid && c.file.includes(v)), `invalid ${v}`).toBe(true);
    }
    expect(cases.some((c) => !c.valid && c.file.includes('1.3'))).toBe(true);
    for (const c of cases) expect(c.expects.length, c.file).toBeGreaterThan(0);
  });

  it.each(cases)('$file', async (c) => {
    const r = await compileService(c.file, fsReader(DIR), { profiles, cache });
    // Nothing else: every error of an invalid file is one it names.
    expectCase(c, r.diagnostics, true);
  });
});

/**
 * The normative type names of each version, as the specifications' chapter 5 (and the networking
 * section, 7.5 in 1.0, 8.5 later) list them. Each profile must define exactly these.
 */
const NODES_10 = ['Root', 'Compute', 'SoftwareComponent', 'WebServer', 'WebApplication', 'DBMS', 'Database', 'ObjectStorage', 'BlockStorage', 'Container.Runtime', 'Container.Application', 'LoadBalancer', 'network.Network', 'network.Port'];
const NODES_11 = NODES_10.map((n) => (n.endsWith('Storage') ? `Storage.${n}` : n));
const NODES_12 = [...NODES_11, 'Abstract.Compute', 'Abstract.Storage'];
const DATA_10 = ['Root', 'Credential', 'network.NetworkInfo', 'network.PortInfo', 'network.PortDef', 'network.PortSpec'];
const DATA_11 = [...DATA_10, 'TimeInterval'];
const DATA_12 = [...DATA_11, 'json', 'xml'];
const CAPS_10 = ['Root', 'Node', 'Container', 'Endpoint', 'Endpoint.Public', 'Endpoint.Admin', 'Endpoint.Database', 'Attachment', 'OperatingSystem', 'Scalable', 'network.Bindable', 'network.Linkable'];
const CAPS_11 = [...CAPS_10, 'Compute', 'Network', 'Storage'];
const ARTIFACTS_10 = ['Root', 'File', 'Deployment', 'Deployment.Image', 'Deployment.Image.VM', 'Implementation', 'Implementation.Bash', 'Implementation.Python'];
const RELATIONSHIPS = ['Root', 'DependsOn', 'HostedOn', 'ConnectsTo', 'AttachesTo', 'RoutesTo', 'network.LinksTo', 'network.BindsTo'];
const INTERFACES = ['Root', 'node.lifecycle.Standard', 'relationship.Configure'];
const POLICIES = ['Root', 'Placement', 'Scaling', 'Update', 'Performance'];
const EXPECTED: Record<string, Record<string, string[]>> = {
  '1.0': { node_types: NODES_10, data_types: DATA_10, capability_types: CAPS_10, artifact_types: ARTIFACTS_10 },
  '1.1': { node_types: NODES_11, data_types: DATA_11, capability_types: CAPS_11, artifact_types: ARTIFACTS_10 },
  '1.2': { node_types: NODES_12, data_types: DATA_12, capability_types: CAPS_11, artifact_types: ARTIFACTS_10 },
  '1.3': { node_types: NODES_12, data_types: DATA_12, capability_types: CAPS_11, artifact_types: [...ARTIFACTS_10, 'template'] },
};
const PREFIX: Record<string, string> = { node_types: 'tosca.nodes.', data_types: 'tosca.datatypes.', capability_types: 'tosca.capabilities.', artifact_types: 'tosca.artifacts.', relationship_types: 'tosca.relationships.', interface_types: 'tosca.interfaces.', policy_types: 'tosca.policies.', group_types: 'tosca.groups.' };

function profile(version: string): Record<string, Record<string, Record<string, unknown>>> {
  return parse(readFileSync(join(ROOT, 'profiles', `tosca-simple-${version}`, 'normative.yaml'), 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
}

describe('the normative types of each 1.x version', () => {
  it.each(Object.keys(EXPECTED))('%s defines exactly the normative type names of its specification', (version) => {
    const doc = profile(version);
    expect(doc.tosca_definitions_version).toBe(`tosca_simple_yaml_${version.replace('.', '_')}`);
    const expected = { ...EXPECTED[version]!, relationship_types: RELATIONSHIPS, interface_types: INTERFACES, policy_types: POLICIES, group_types: ['Root'] };
    for (const [family, names] of Object.entries(expected)) {
      expect(Object.keys(doc[family] ?? {}).sort(), `${version} ${family}`).toEqual(names.map((n) => `${PREFIX[family]}${n}`).sort());
    }
  });

  it('each version has its own definitions: hosting, storage and the capability hierarchy', () => {
    const [v10, v11, v12] = ['1.0', '1.1', '1.2'].map(profile);
    // 1.0: the Container capability carries the compute properties; BlockStorage requires its size (§5.4.3, §5.8.9).
    expect(Object.keys(v10!.capability_types!['tosca.capabilities.Container']!.properties as object)).toEqual(['num_cpus', 'cpu_frequency', 'disk_size', 'mem_size']);
    expect((v10!.node_types!['tosca.nodes.BlockStorage']!.properties as Record<string, Record<string, unknown>>).size!.required).toBeUndefined();
    // 1.1: Container derives from the new Compute capability (§5.5.6); 1.2 turns it around (§5.5.3).
    expect(v11!.capability_types!['tosca.capabilities.Container']!.derived_from).toBe('tosca.capabilities.Compute');
    expect(v12!.capability_types!['tosca.capabilities.Compute']!.derived_from).toBe('tosca.capabilities.Container');
    // 1.2: the storage nodes derive from Abstract.Storage, whose name is required (§5.9.9).
    expect(v12!.node_types!['tosca.nodes.Storage.BlockStorage']!.derived_from).toBe('tosca.nodes.Abstract.Storage');
    expect(v12!.node_types!['tosca.nodes.Compute']!.derived_from).toBe('tosca.nodes.Abstract.Compute');
    // Before 1.3 an interface type lists its operations directly; groups have the Standard interface.
    for (const doc of [v10, v11, v12]) {
      expect(Object.keys(doc!.interface_types!['tosca.interfaces.node.lifecycle.Standard']!)).toEqual(expect.arrayContaining(['create', 'configure', 'start', 'stop', 'delete']));
      expect(doc!.group_types!['tosca.groups.Root']!.interfaces).toBeDefined();
    }
  });

  it('a document compiles against its own version: the same name, each version\'s definition', async () => {
    const node = (version: string, body: string) => compileService('s.yaml', memoryReader({ 's.yaml': `tosca_definitions_version: tosca_simple_yaml_${version}\ntopology_template:\n  node_templates:\n${body}` }), { profiles });
    const r10 = await node('1_0', '    c: { type: tosca.nodes.Compute }\n    d: { type: tosca:BlockStorage, properties: { size: 1 GB } }\n');
    expect(r10.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r10.service!.nodes.c!.types).toEqual(['tosca.nodes.Compute', 'tosca.nodes.Root']);
    expect(r10.service!.nodes.d!.type).toBe('tosca.nodes.BlockStorage');
    const r12 = await node('1_2', '    c: { type: tosca.nodes.Compute }\n    d: { type: tosca:BlockStorage, properties: { name: d } }\n');
    expect(r12.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r12.service!.nodes.c!.types).toEqual(['tosca.nodes.Compute', 'tosca.nodes.Abstract.Compute', 'tosca.nodes.Root']);
    expect(r12.service!.nodes.d!.types).toEqual(['tosca.nodes.Storage.BlockStorage', 'tosca.nodes.Abstract.Storage', 'tosca.nodes.Root']);
    // 1.0's Compute host capability is a Container with the compute properties: a bad value is checked.
    const bad = await node('1_0', '    c:\n      type: tosca.nodes.Compute\n      capabilities:\n        host:\n          properties: { num_cpus: 0 }\n');
    expect(bad.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line} ${d.code}`)).toEqual(['8 E_TOSCA_VALIDATION']);
  });

  it('a 1.3 service importing a 1.0 file: the 1.0 names resolve there, and shared names are one type', async () => {
    const r = await compileService('mixed-1.3.yaml', fsReader(DIR), { profiles });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.service!.nodes.volume!.types).toEqual(['example.Volume', 'tosca.nodes.BlockStorage', 'tosca.nodes.Root']);
    expect(r.service!.nodes.app!.types).toEqual(['example.App', 'tosca.nodes.SoftwareComponent', 'tosca.nodes.Root']);
    const host = r.service!.nodes.app!.requirements.find((q) => q.name === 'host');
    expect(host?.target).toBe('server');
    expect(host?.relationship.types).toContain('tosca.relationships.HostedOn');
  });
});

describe('found by the compiler fuzz test', () => {
  it('a relationship value that reads its TARGET, a template whose type is unknown: that error, no internal one', async () => {
    const r = await compileService('s.yaml', memoryReader({
      's.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    server:\n      type: tosca.nodes.Compute\n      requirements:\n        - local_storage:\n            node: storage\n            relationship:\n              type: tosca.relationships.AttachesTo\n              properties:\n                location: { concat: [ /mnt/, { get_property: [ TARGET, volume_id ] } ] }\n    storage:\n      type: tos\n',
    }), { profiles });
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line} ${d.code}`)).toEqual(['14 E_TOSCA_UNKNOWN_TYPE']);
  });
});
