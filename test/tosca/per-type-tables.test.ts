/**
 * What the compiler now works out once per type (issue 16) must read as it did per node: unknown
 * capabilities reported once per name at the assignment that counts, an unknown capability type
 * once at its definition, memoized scalar texts, and records listed in their own order.
 */
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { parseScalar } from '../../src/tosca/scalars.js';
import { valuesOf } from '../../src/tosca/record-values.js';
import { memoryReader } from '../support/memory-reader.js';

const profiles = profilesReader();
const compile = (text: string, types?: string) =>
  compileService('s.yaml', memoryReader({ 's.yaml': text, ...(types ? { 'types.yaml': types } : {}) }), { profiles, cache: createCompileCache() });

/** A 1.3 Compute node assigning `host` and the given capability names, each `- name` on its own line. */
function computeWith(names: string[]): string {
  const lines = ['tosca_definitions_version: tosca_simple_yaml_1_3', 'topology_template:', '  node_templates:', '    server:', '      type: tosca.nodes.Compute', '      capabilities:'];
  for (const n of names) lines.push(`        ${n}:`, '          properties:', `            num_cpus: 2`);
  return lines.join('\n') + '\n';
}

describe('capabilities resolved once per node type', () => {
  for (const [label, count] of [['a few assignments (scanned)', 2], ['many assignments (looked up by name)', 10]] as const) {
    it(`reports each unknown capability once, in the order first written, at its last assignment: ${label}`, async () => {
      const unknown = Array.from({ length: count }, (_, i) => `nope${i}`);
      // nope0 written first and again last: reported first, at its last line.
      const text = computeWith(['host', ...unknown, 'nope0']);
      const r = await compile(text);
      const reported = r.diagnostics.filter((d) => d.code === 'E_TOSCA_UNKNOWN_CAPABILITY');
      expect(reported.map((d) => d.message)).toEqual(unknown.map((n) => `node "server" (tosca.nodes.Compute) has no capability "${n}"`));
      const lastNope0 = text.split('\n').lastIndexOf('        nope0:') + 1;
      expect(reported[0]!.line).toBe(lastNope0);
      expect(r.service!.nodes.server!.capabilities.host!.properties.num_cpus).toBe(2);
    });
  }

  it('reports an unknown capability type once, at its definition, and compiles every node of the type without it', async () => {
    const types = ['tosca_definitions_version: tosca_simple_yaml_1_3', 'node_types:', '  my.Box:', '    derived_from: tosca.nodes.Root', '    capabilities:', '      odd:', '        type: no.such.Capability', ''].join('\n');
    const text = ['tosca_definitions_version: tosca_simple_yaml_1_3', 'imports: [ types.yaml ]', 'topology_template:', '  node_templates:', '    a:', '      type: my.Box', '    b:', '      type: my.Box', '      capabilities:', '        odd:', '          properties: {}', ''].join('\n');
    const r = await compile(text, types);
    const unknown = r.diagnostics.filter((d) => d.code === 'E_TOSCA_UNKNOWN_TYPE');
    expect(unknown).toHaveLength(1);
    expect(unknown[0]).toMatchObject({ file: 'types.yaml', line: 7, message: 'unknown capability type "no.such.Capability"' });
    expect(Object.keys(r.service!.nodes)).toEqual(['a', 'b']);
    expect(r.service!.nodes.a!.capabilities.odd).toBeUndefined();
    expect(r.service!.nodes.b!.capabilities.odd).toBeUndefined();
  });

  it('reports an unknown node type at every template naming it, and checks every template of a known one', async () => {
    // The second template of each type meets what the first one resolved (NodeCompiler keeps it per type name).
    const text = [
      'tosca_definitions_version: tosca_simple_yaml_1_3',
      'topology_template:',
      '  node_templates:',
      '    a:',
      '      type: no.such.Type',
      '    b:',
      '      type: no.such.Type',
      '    c:',
      '      type: tosca.nodes.Compute',
      '      properties: { nope: 1 }',
      '    d:',
      '      type: tosca.nodes.Compute',
      '      properties: { nope: 2 }',
      '',
    ].join('\n');
    const r = await compile(text);
    const at = (code: string) => r.diagnostics.filter((d) => d.code === code).map((d) => `${d.line}:${d.column} ${d.message}`);
    expect(at('E_TOSCA_UNKNOWN_TYPE')).toEqual(['5:13 unknown node type "no.such.Type"', '7:13 unknown node type "no.such.Type"']);
    expect(at('E_TOSCA_UNKNOWN_PROPERTY')).toEqual(['10:21 node "c" (tosca.nodes.Compute) has no property "nope"', '13:21 node "d" (tosca.nodes.Compute) has no property "nope"']);
    expect(Object.keys(r.service!.nodes)).toEqual(['c', 'd']);
  });

  it('gives each node without requirements its own empty list', async () => {
    const r = await compile(computeWith(['host']).replace('    server:', '    other:\n      type: tosca.nodes.Compute\n    server:'));
    const { other, server } = r.service!.nodes;
    expect(other!.requirements).toEqual([]);
    expect(server!.requirements).toEqual([]);
    expect(other!.requirements).not.toBe(server!.requirements);
  });
});

describe('scalar texts parsed once', () => {
  it('answers a text the same the second time, and after the memo was emptied', () => {
    expect(parseScalar('scalar-unit.size', '2 GB')).toBe(2e9);
    expect(parseScalar('scalar-unit.size', '2 GB')).toBe(2e9);
    expect(parseScalar('scalar-unit.size', '2 parsecs')).toBeUndefined();
    expect(parseScalar('scalar-unit.size', '2 parsecs')).toBeUndefined();
    // the same text is another kind's too: kept apart
    expect(parseScalar('scalar-unit.time', '2 m')).toBe(120);
    expect(parseScalar('scalar-unit.size', '2 m')).toBeUndefined();
    for (let i = 0; i < 5000; i++) parseScalar('scalar-unit.size', `${i} MiB`);
    expect(parseScalar('scalar-unit.size', '2 GB')).toBe(2e9);
    expect(parseScalar('scalar-unit.size', '4999 MiB')).toBe(4999 * 1024 ** 2);
  });
});

describe('valuesOf', () => {
  it('lists a record as Object.values does, integer-like keys first', () => {
    const r: Record<string, number> = {};
    for (const k of ['b', '10', 'a', '2', 'x-1']) r[k] = k.length;
    expect(valuesOf(r)).toEqual(Object.values(r));
    const big: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) big[i % 7 === 0 ? String(i) : `n-${i}`] = `v${i}`;
    expect(valuesOf(big)).toEqual(Object.values(big));
  });
});
