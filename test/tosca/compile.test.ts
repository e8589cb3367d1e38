import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache, type CompileResult } from '../../src/tosca/index.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { memoryReader } from '../support/memory-reader.js';

const profiles = profilesReader();
const compile = (files: Record<string, string>, entry = 's.yaml', inputs?: Record<string, unknown>) =>
  compileService(entry, memoryReader(files), { profiles, ...(inputs ? { inputs } : {}) });
const errors = (r: CompileResult) => r.diagnostics.filter((d) => d.severity === 'error');
const one = (r: CompileResult, code: string) => {
  const d = r.diagnostics.find((x) => x.code === code);
  expect(d, `${code} in ${JSON.stringify(r.diagnostics, null, 1)}`).toBeDefined();
  return d!;
};

const V2 = 'tosca_definitions_version: tosca_2_0\n';

describe('compiler: diagnostics for malformed input, at the right line', () => {
  it('bad YAML inside a node template (read on demand) is reported where it is, and the others still compile', async () => {
    const text = `${V2}service_template:\n  node_templates:\n    h:\n      type: kaidu:Host\n    a:\n      type: kaidu:Process\n      properties:\n        command: [ x,\n    b:\n      type: kaidu:Process\n      properties: { command: [ y ], nope: 1 }\n      requirements: [ { host: h } ]\n`;
    const r = await compile({ 's.yaml': text });
    const yaml = one(r, 'E_TOSCA_YAML');
    expect(yaml.file).toBe('s.yaml');
    expect(yaml.line).toBeGreaterThanOrEqual(9);
    expect(yaml.line).toBeLessThanOrEqual(10);
    // the other templates are still checked (all problems, not only the first)
    expect(one(r, 'E_TOSCA_UNKNOWN_PROPERTY').line).toBe(12);
    // an anchor and alias inside bodies: taken from the library's reading, no problem
    const anchored = `${V2}service_template:\n  node_templates:\n    h:\n      type: kaidu:Host\n    a:\n      type: kaidu:Process\n      properties:\n        command: &cmd [ sleep, '1' ]\n      requirements: [ { host: h } ]\n    b:\n      type: kaidu:Process\n      properties:\n        command: *cmd\n      requirements: [ { host: h } ]\n`;
    const ok = await compile({ 's.yaml': anchored });
    expect(errors(ok)).toEqual([]);
    expect(ok.service!.nodes.b!.properties.command).toEqual(['sleep', '1']);
  });

  it('bad YAML', async () => {
    const d = one(await compile({ 's.yaml': `${V2}service_template:\n  node_templates: [\n` }), 'E_TOSCA_YAML');
    expect(d.file).toBe('s.yaml');
    expect(d.line).toBeGreaterThanOrEqual(3);
  });
  it('tabs', async () => {
    const d = one(await compile({ 's.yaml': `${V2}service_template:\n\tnode_templates: {}\n` }), 'E_TOSCA_TAB');
    expect(d.line).toBe(3);
  });
  it('duplicate keys', async () => {
    const d = one(await compile({ 's.yaml': `${V2}service_template:\n  node_templates:\n    a: { type: kaidu:Host }\n    a: { type: kaidu:Host }\n` }), 'E_TOSCA_DUPLICATE_KEY');
    expect(d.line).toBe(5);
  });
  it('unknown type', async () => {
    const d = one(await compile({ 's.yaml': `${V2}service_template:\n  node_templates:\n    a:\n      type: kaidu:Proces\n` }), 'E_TOSCA_UNKNOWN_TYPE');
    expect([d.line, d.column]).toEqual([5, 13]);
    expect(d.message).toContain('kaidu:Proces');
  });
  it('wrong value type', async () => {
    const r = await compile({ 's.yaml': `${V2}service_template:\n  node_templates:\n    h: { type: kaidu:Host }\n    p:\n      type: kaidu:Port\n      properties:\n        port: eighty\n      requirements: [ { host: h } ]\n` });
    const d = one(r, 'E_TOSCA_VALUE_TYPE');
    expect(d.line).toBe(8);
    expect(d.message).toContain('expected an integer, got the string "eighty"');
  });
  it('missing required property', async () => {
    const d = one(await compile({ 's.yaml': `${V2}service_template:\n  node_templates:\n    h: { type: kaidu:Host }\n    p:\n      type: kaidu:Process\n      requirements: [ { host: h } ]\n` }), 'E_TOSCA_REQUIRED_PROPERTY');
    expect(d.message).toContain('"command"');
    expect(d.line).toBe(5);
  });
  it('unresolved requirement', async () => {
    const d = one(await compile({ 's.yaml': `${V2}service_template:\n  node_templates:\n    p:\n      type: kaidu:Process\n      properties: { command: [x] }\n      requirements:\n        - host: nowhere\n` }), 'E_TOSCA_UNRESOLVED_REQUIREMENT');
    expect(d.line).toBe(8);
  });
  it('derivation cycle', async () => {
    const d = one(await compile({ 's.yaml': `${V2}node_types:\n  A:\n    derived_from: B\n  B:\n    derived_from: A\n` }), 'W_TOSCA_DERIVATION_CYCLE');
    expect(d.message).toMatch(/derivation cycle: (A → B → A|B → A → B)/);
    expect([4, 6]).toContain(d.line);
  });
  it('unknown parent type', async () => {
    const d = one(await compile({ 's.yaml': `${V2}node_types:\n  A:\n    derived_from: Nope\n` }), 'E_TOSCA_UNKNOWN_TYPE');
    expect(d.line).toBe(4);
  });
  it('missing import and import cycle', async () => {
    const missing = one(await compile({ 's.yaml': `${V2}imports:\n  - nothere.yaml\n` }), 'E_TOSCA_IMPORT_NOT_FOUND');
    expect(missing.line).toBe(3);
    const cycle = one(await compile({ 's.yaml': `${V2}imports:\n  - a.yaml\n`, 'a.yaml': `${V2}imports:\n  - s.yaml\n` }), 'E_TOSCA_IMPORT_CYCLE');
    expect(cycle.message).toContain('s.yaml → a.yaml → s.yaml');
    expect(cycle.file).toBe('a.yaml');
  });
  it('unsupported version', async () => {
    expect(one(await compile({ 's.yaml': 'tosca_definitions_version: tosca_9\n' }), 'E_TOSCA_VERSION').line).toBe(1);
  });
  it('reports every problem, not only the first', async () => {
    const r = await compile({ 's.yaml': `${V2}service_template:\n  node_templates:\n    a: { type: Nope1 }\n    b: { type: Nope2 }\n    c:\n      type: kaidu:Port\n      properties: { port: x, bogus: 1 }\n` });
    expect(errors(r).map((d) => d.code).sort()).toEqual(['E_TOSCA_UNKNOWN_PROPERTY', 'E_TOSCA_UNKNOWN_TYPE', 'E_TOSCA_UNKNOWN_TYPE', 'E_TOSCA_VALUE_TYPE']);
  });
});

describe('compiler: what a template means', () => {
  it('resolves kaidu types, defaults, requirements and relationships', async () => {
    const r = await compile({
      's.yaml': `${V2}service_template:
  node_templates:
    h: { type: kaidu:Host, properties: { labels: { zone: a } } }
    port: { type: kaidu:Port, requirements: [ { host: h } ] }
    app:
      type: kaidu:Process
      properties:
        command: [node, app.js]
        stop_grace: 1 m
        env: { PORT: { $get_attribute: [ port, port ] } }
      requirements: [ { host: h }, { connection: port } ]
`,
    });
    expect(errors(r)).toEqual([]);
    const app = r.service!.nodes.app!;
    expect(app.types).toEqual(['kaidu:Process', 'tosca:Root']);
    expect(app.properties).toMatchObject({ stop_grace: 60, systemd: false, env: { PORT: { $fn: 'get_attribute', args: ['port', 'port'] } } });
    expect(app.requirements.map((q) => [q.name, q.target, q.relationship.type])).toEqual([['host', 'h', 'kaidu:HostedOn'], ['connection', 'port', 'kaidu:ConnectsTo']]);
    expect(app.requirements[0]!.relationship.types).toContain('tosca:HostedOn');
    expect(r.service!.nodes.port!.properties.range).toEqual([20000, 29999]);
  });

  it('evaluates functions, keeps $get_attribute deferred, and honours $$', async () => {
    const r = await compile(
      {
        's.yaml': `${V2}service_template:
  inputs:
    name: { type: string }
    size: { type: scalar-unit.size, default: 2 GiB }
  node_templates:
    h: { type: kaidu:Host }
    d:
      type: kaidu:Directory
      properties:
        path: { $concat: [ /srv/, { $get_input: name }, /, { $join: [ [a, b], '-' ] } ] }
        owner: { $token: [ 'user:root', ':', 1 ] }
        group: { $get_property: [ SELF, owner ] }
      requirements: [ { host: h } ]
    c:
      type: kaidu:ConfigFile
      properties:
        path: /etc/x
        template: t
        variables:
          '$$literal': yes
          sum: { $sum: [ 1, 2, 3 ] }
          size: { $get_input: size }
          dir: { $get_attribute: [ d, path ] }
      requirements: [ { host: h } ]
`,
      },
      's.yaml',
      { name: 'web' },
    );
    expect(errors(r)).toEqual([]);
    expect(r.service!.nodes.d!.properties).toMatchObject({ path: '/srv/web/a-b', owner: 'root', group: 'root' });
    expect(r.service!.nodes.c!.properties.variables).toEqual({ $literal: 'yes', sum: 6, size: 2 * 1024 ** 3, dir: { $fn: 'get_attribute', args: ['d', 'path'] } });
  });

  it('checks inputs: required, typed, and coerced from the command line', async () => {
    const files = { 's.yaml': `${V2}service_template:\n  inputs:\n    ram: { type: scalar-unit.size }\n  node_templates: {}\n` };
    expect(one(await compile(files), 'E_TOSCA_INPUT_REQUIRED').line).toBe(4);
    expect((await compile(files, 's.yaml', { ram: '1 GiB' })).service!.inputs.ram!.value).toBe(1024 ** 3);
    expect(one(await compile(files, 's.yaml', { ram: 'lots' }), 'E_TOSCA_VALUE_TYPE').message).toContain('scalar-unit.size');
  });

  it('applies 2.0 validation and 1.3 constraints', async () => {
    const v2 = await compile({ 's.yaml': `${V2}data_types:\n  Small:\n    derived_from: integer\n    validation: { $less_than: [ $value, 10 ] }\nnode_types:\n  N:\n    properties:\n      n: { type: Small }\nservice_template:\n  node_templates:\n    x: { type: N, properties: { n: 12 } }\n` });
    expect(one(v2, 'E_TOSCA_VALIDATION').line).toBe(12);
    const v13 = await compile({ 's.yaml': `tosca_definitions_version: tosca_simple_yaml_1_3\nnode_types:\n  N:\n    derived_from: tosca.nodes.Root\n    properties:\n      s: { type: string, constraints: [ { pattern: '[a-z]+' } ] }\ntopology_template:\n  node_templates:\n    x: { type: N, properties: { s: ABC } }\n` });
    expect(one(v13, 'E_TOSCA_VALIDATION').message).toContain('pattern');
  });

  it('imports with namespaces, profiles by name, and 1.3 normative types with the tosca: shorthand', async () => {
    const r = await compile({
      's.yaml': `${V2}imports:\n  - { url: lib/types.yaml, namespace: lib }\n  - { profile: org.oasis-open.simple:2.0, namespace: simple }\nservice_template:\n  node_templates:\n    s: { type: lib:Server }\n    c: { type: simple:Compute }\n`,
      'lib/types.yaml': `${V2}node_types:\n  Server:\n    derived_from: tosca:Compute\n`,
    });
    expect(errors(r)).toEqual([]);
    expect(r.service!.nodes.s!.types).toEqual(['lib:Server', 'tosca:Compute', 'tosca:Abstract.Compute', 'tosca:Root']);
    const v13 = await compile({ 's.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    c: { type: tosca:Compute }\n    d: { type: tosca.nodes.Compute }\n' });
    expect(errors(v13)).toEqual([]);
    expect(v13.service!.nodes.c!.type).toBe('tosca.nodes.Compute');
  });

  it('says a types-only file is one, and reuses parsed files through the cache', async () => {
    const cache = createCompileCache();
    const files = { 't.yaml': `${V2}node_types:\n  A: {}\n`, 's.yaml': `${V2}imports: [ t.yaml ]\nservice_template:\n  node_templates:\n    a: { type: A }\n` };
    const r = await compileService('t.yaml', memoryReader(files), { profiles, cache });
    expect(r.typesOnly).toBe(true);
    // profiles and imports are kept; a service's own file is not (its compiled result is memoized instead)
    expect([...cache.docs.keys()].filter((k) => k.startsWith('repo:'))).toEqual([]);
    const profileDocs = cache.docs.size;
    expect(profileDocs).toBeGreaterThan(0);
    expect(errors(await compileService('s.yaml', memoryReader(files), { profiles, cache }))).toEqual([]);
    expect([...cache.docs.keys()].filter((k) => k.startsWith('repo:'))).toEqual(['repo:t.yaml']);
    const parsed = cache.docs.get('repo:t.yaml')!.src;
    await compileService('s.yaml', memoryReader(files), { profiles, cache });
    expect(cache.docs.get('repo:t.yaml')!.src).toBe(parsed);
    // a new version of an import replaces the old one: one version per file
    files['t.yaml'] = `${V2}node_types:\n  A: { description: changed }\n`;
    expect(errors(await compileService('s.yaml', memoryReader(files), { profiles, cache }))).toEqual([]);
    expect(cache.docs.get('repo:t.yaml')!.src).not.toBe(parsed);
    expect(cache.docs.size).toBe(profileDocs + 1);
  });

  it('asks for a file\'s id only when it meets the file again (hashing a big file read once is waste)', async () => {
    const cache = createCompileCache();
    const files = { 't.yaml': `${V2}node_types:\n  A: {}\n`, 's.yaml': `${V2}imports: [ t.yaml ]\nservice_template:\n  node_templates:\n    a: { type: A }\n` };
    const asked: string[] = [];
    const inner = memoryReader(files);
    const counting = {
      ...inner,
      readFile: async (path: string) => {
        const f = await inner.readFile(path);
        return f && { path: f.path, text: f.text, get id() { asked.push(path); return f.id; } };
      },
    };
    expect(errors(await compileService('s.yaml', counting, { profiles, cache }))).toEqual([]);
    expect(asked).toEqual([]);
    // the import, met again: its id tells whether the parse kept can be used
    expect(errors(await compileService('s.yaml', counting, { profiles, cache }))).toEqual([]);
    expect(asked).toContain('t.yaml');
    expect(asked).not.toContain('s.yaml');
  });

  it('the working-tree reader hashes a file when its id is first asked for, to git\'s blob id', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { fsReader } = await import('../../src/cli/fs-reader.js');
    const { gitBlobId } = await import('../../src/cli/blob-ids.js');
    const dir = mkdtempSync(join(tmpdir(), 'kaidu-lazy-id-'));
    try {
      writeFileSync(join(dir, 'a.yaml'), 'x: 1\n');
      const f = (await fsReader(dir).readFile('a.yaml'))!;
      expect(typeof Object.getOwnPropertyDescriptor(f, 'id')!.get).toBe('function');
      expect(f.id).toBe(gitBlobId(Buffer.from('x: 1\n')));
      expect({ ...f }).toEqual({ path: 'a.yaml', text: 'x: 1\n', id: gitBlobId(Buffer.from('x: 1\n')) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps groups, policies and workflows, and warns about what it does not act on', async () => {
    const r = await compile({
      's.yaml': `${V2}service_template:\n  node_templates:\n    h: { type: kaidu:Host }\n    w: { type: kaidu:Process, properties: { command: [x] } }\n  groups:\n    g: { type: tosca:Root, members: [ w ] }\n  policies:\n    - pin: { type: kaidu:Placement, targets: [ w ], properties: { hosts: [ h ] } }\n  workflows:\n    deploy: { steps: {} }\n`,
    });
    expect(errors(r)).toEqual([]);
    expect(r.service!.policies[0]).toMatchObject({ name: 'pin', type: 'kaidu:Placement', targets: ['w'], properties: { hosts: ['h'], labels: {} } });
    expect(r.service!.groups.g!.members).toEqual(['w']);
    expect(one(r, 'W_TOSCA_WORKFLOWS').severity).toBe('warning');
  });
});

describe('compiler: requirement occurrences', () => {
  it('too many assignments of a requirement is an error at the extra one', async () => {
    const r = await compile({ 's.yaml': `${V2}service_template:\n  node_templates:\n    h: { type: kaidu:Host }\n    g: { type: kaidu:Host }\n    p:\n      type: kaidu:Process\n      properties: { command: [x] }\n      requirements:\n        - host: h\n        - host: g\n` });
    const d = one(r, 'E_TOSCA_OCCURRENCES');
    expect(d.line).toBe(11);
    expect(d.message).toContain('at most 1');
  });
});
