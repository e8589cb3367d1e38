import { describe, expect, it } from 'vitest';
import { compileService } from '../../src/tosca/index.js';
import { unsafeNameDiagnostics } from '../../src/tosca/safe-name.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { memoryReader } from '../support/memory-reader.js';

const profiles = profilesReader();
const V13 = 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n';
const V2 = 'tosca_definitions_version: tosca_2_0\nservice_template:\n  node_templates:\n';
const compile = (text: string) => compileService('web.yaml', memoryReader({ 'web.yaml': text }), { profiles });

describe('node templates by name', () => {
  it('keys that differ as YAML but are one name (1 and "1") are one template, the last, in the place of the first', async () => {
    // The fast reader reads both keys (they differ); the compile must still keep only the last.
    const r = await compile(`${V13}    1:\n      type: nope\n    b:\n      type: tosca.nodes.Compute\n      requirements:\n        - dependency: "1"\n    "1":\n      type: tosca.nodes.Compute\n`);
    expect(r.diagnostics).toEqual([]);
    expect(Object.keys(r.service!.nodes)).toEqual(['1', 'b']);
    expect(r.service!.nodes['1']!.type).toBe('tosca.nodes.Compute');
    expect(r.service!.nodes.b!.requirements.map((q) => q.target)).toEqual(['1']);
  });

  it('a name written twice (the YAML library reads the file) is the last template, in the place of the first', async () => {
    const r = await compile(`${V13}    a:\n      type: nope\n    b:\n      type: tosca.nodes.Compute\n      requirements:\n        - dependency: a\n    a:\n      type: tosca.nodes.Root\n`);
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(['10:5 E_TOSCA_DUPLICATE_KEY']);
    expect(Object.keys(r.service!.nodes)).toEqual(['a', 'b']);
    expect(r.service!.nodes.a!.type).toBe('tosca.nodes.Root');
    expect(r.service!.nodes.b!.requirements.map((q) => q.target)).toEqual(['a']);
  });

  it('a requirement naming a template that is not there is reported with the names there are', async () => {
    const r = await compile(`${V13}    a:\n      type: tosca.nodes.Compute\n      requirements:\n        - dependency: zzzzzz\n    b:\n      type: tosca.nodes.Compute\n`);
    expect(r.diagnostics.map((d) => [d.code, d.hint])).toEqual([['E_TOSCA_UNRESOLVED_REQUIREMENT', 'node templates: a, b']]);
  });
});

describe('unsafe names, reported in the order of the compiled service\'s nodes', () => {
  const host = (name: string, hostName: string) => `    ${JSON.stringify(name)}: { type: kaidu:Host, properties: { name: ${JSON.stringify(hostName)} } }\n`;
  const services = {
    plain: V2 + host('a..b', 'x') + host('c', '../y') + host('-d', 'ok'),
    // A record lists array-index keys first, in numeric order, whatever order they were written in.
    numbered: V2 + host('a..b', 'x') + host('7', '../y') + host('-d', 'ok') + host('3', 'a/b'),
    copied: V2 + host('a', 'a/b') + '    "b c": { copy: a }\n',
  };
  it('a template named __proto__ is refused where it is written, and compiled into nothing', async () => {
    // Stored in the record of nodes under that name, it would have become the record's prototype:
    // "b" would then have found the properties of it under names no file declares.
    const r = await compile(V2 + host('__proto__', 'x') + '    b:\n      type: kaidu:Host\n      requirements:\n        - host: name\n' + host('.c', 'ok'));
    expect(r.diagnostics.filter((d) => d.code === 'E_TOSCA_UNSAFE_NAME').map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      '4:5 node template name "__proto__" is not allowed: it is reserved',
      '9:5 node template name ".c" is not allowed: it starts with a dot',
    ]);
    expect(Object.getPrototypeOf(r.service!.nodes)).toBe(Object.prototype);
    expect(Object.keys(r.service!.nodes)).toEqual(['b', '.c']);
  });

  for (const [what, text] of Object.entries(services)) {
    it(what, async () => {
      const r = await compile(text);
      const unsafe = r.diagnostics.filter((d) => d.code === 'E_TOSCA_UNSAFE_NAME');
      expect(unsafe.length).toBeGreaterThan(1);
      // The same diagnostics, in the same order, as a walk of the compiled record finds.
      expect(unsafe).toEqual(unsafeNameDiagnostics('web.yaml', r));
    });
  }
});

describe('imports', () => {
  it('a file imported by two files is read once: looking for it was reading it', async () => {
    const files = {
      'web.yaml': `${V13}    a:\n      type: my.T\n`.replace('topology_template:', 'imports:\n  - types.yaml\n  - more.yaml\ntopology_template:'),
      'more.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_3\nimports:\n  - types.yaml\n',
      'types.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_3\nnode_types:\n  my.T:\n    derived_from: tosca.nodes.Root\n',
    };
    const inner = memoryReader(files);
    const reads: string[] = [];
    const counting = { ...inner, readFile: (path: string) => (reads.push(path), inner.readFile(path)) };
    const r = await compileService('web.yaml', counting, { profiles });
    expect(r.diagnostics).toEqual([]);
    expect(reads.sort()).toEqual(['more.yaml', 'types.yaml', 'web.yaml']);
  });
});
