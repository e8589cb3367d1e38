import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node as YamlNode, type Pair } from 'yaml';
import { knownKeys, parseFast, releaseNode, scalarKey } from '../../src/tosca/yaml-fast.js';
import { entries, parseWithLibrary, parseYaml, toJS } from '../../src/tosca/yaml-source.js';
import { seededRandom } from '../support/seeded-random.js';

function yamlFiles(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yamlFiles(p, out);
    else if (p.endsWith('.yaml')) out.push(p);
  }
  return out;
}

const ROOT = join(import.meta.dirname, '..', '..');
const corpus = [
  ...yamlFiles(join(ROOT, 'examples')),
  ...yamlFiles(join(ROOT, 'profiles')),
  ...yamlFiles(join(ROOT, 'test', 'fixtures', 'tosca')),
  ...yamlFiles(join(ROOT, '..', 'shared', 'conformance')),
];

/** Every node's kind and start offset, in document order: what the compiler's positions come from. */
function shape(node: unknown, out: string[] = []): string[] {
  if (isMap(node)) {
    out.push(`map@${node.range?.[0]}`);
    for (const p of node.items) {
      shape(p.key, out);
      shape(p.value, out);
    }
  } else if (isSeq(node)) {
    out.push(`seq@${node.range?.[0]}`);
    for (const i of node.items) shape(i, out);
  } else if (isScalar(node)) {
    out.push(node.value === null ? 'null' : `scalar@${node.range?.[0]}`);
  } else if (isPair(node)) out.push('pair');
  else if (node === null || node === undefined) out.push('null');
  return out;
}

/** The fast reader as the compiler uses it: node template bodies read on demand, the library's reading as the fallback. */
const readLazily = (text: string) => parseFast(text, () => parseWithLibrary('t.yaml', text));

/** Errors a file yields once everything in it has been read (node template bodies are read on demand). */
function problemsWhenRead(text: string): string[] {
  const src = parseYaml('t.yaml', text);
  toJS(src, src.root);
  return [...src.diagnostics, ...(src.late ?? [])].filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column} ${d.code}`).sort();
}

/** A file the library reports problems in: read through the fast reader, the same problems come out, and the same data where there is any. */
function expectLibraryReading(text: string, label: string): void {
  const library = parseWithLibrary('t.yaml', text);
  const expected = library.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column} ${d.code}`).sort();
  expect(problemsWhenRead(text), label).toEqual(expected);
  if (expected.length === 0) {
    const src = parseYaml('t.yaml', text);
    expect(toJS(src, src.root), label).toEqual(toJS(library, library.root));
  }
}

describe('fast YAML reader', () => {
  it('reads the plain subset exactly as the yaml library does (values and positions)', () => {
    expect(corpus.length).toBeGreaterThan(10);
    let fastCount = 0;
    for (const file of corpus) {
      const text = readFileSync(file, 'utf8');
      const fast = readLazily(text);
      if (!fast) continue;
      fastCount++;
      const doc = parseDocument(text, { uniqueKeys: false });
      if (doc.errors.length > 0) {
        // only a node template's body can hide a problem from the first reading: it must come out when read
        expectLibraryReading(text, file);
        continue;
      }
      const fastJS = fast.root === null ? null : (fast.root as YamlNode & { toJSON(): unknown }).toJSON();
      expect(fastJS, file).toEqual(doc.toJS());
      // Empty values differ in where the library puts them; everything else must start at the same offset.
      const a = shape(fast.root).filter((s) => !s.startsWith('null'));
      const b = shape(doc.contents).filter((s) => !s.startsWith('null'));
      expect(a.length, file).toBe(b.length);
      const mismatches = a.map((s, i) => [s, b[i]]).filter(([x, y]) => x !== y);
      expect(mismatches, file).toEqual([]);
    }
    // Most real files are in the subset: the fast reader is the common path.
    console.log(`fast reader: ${fastCount} of ${corpus.length} files`);
    expect(fastCount).toBeGreaterThan(corpus.length / 2);
  });

  it('agrees with the yaml library on 3,000 mutated files: same data, or it gives up', () => {
    const rand = seededRandom(424242);
    const pieces = ['', '  ', '- ', 'a: b', 'k:', '[ x, y ]', '{ a: 1 }', "'q'", '"d\\t"', '# c', '  - z', ': x', 'x: y: z', '\t', '{ a', '&a', '*a', '|', '? k', '---', '"', 'x # y', 'd: >-', 'l: |', '      deeper text', '# x'];
    let fast = 0;
    for (let n = 0; n < 3000; n++) {
      const lines = readFileSync(corpus[Math.floor(rand() * corpus.length)]!, 'utf8').split('\n');
      for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
        const i = Math.floor(rand() * lines.length);
        const r = rand();
        if (r < 0.3) lines.splice(i, 1);
        else if (r < 0.5) lines[i] = ' '.repeat(Math.floor(rand() * 6)) + (lines[i] ?? '').trimStart();
        else if (r < 0.8) lines[i] = (lines[i] ?? '') + pieces[Math.floor(rand() * pieces.length)];
        else lines.splice(i, 0, ' '.repeat(Math.floor(rand() * 6)) + pieces[Math.floor(rand() * pieces.length)]);
      }
      const text = lines.join('\n');
      const r = readLazily(text);
      if (!r) continue;
      fast++;
      const doc = parseDocument(text, { uniqueKeys: true });
      // The library refuses some documents only when it makes their data (an alias with no anchor
      // before it throws in toJS): the fast reading must then report the same problems as well.
      let refusedLate = false;
      try {
        doc.toJS();
      } catch {
        refusedLate = true;
      }
      if (doc.errors.length > 0 || refusedLate) {
        expectLibraryReading(text, text);
        continue;
      }
      // toJS with the document, as doc.toJS() does: a collection used as a key is then named by its YAML text.
      expect(r.root === null ? null : (r.root as YamlNode & { toJS(d: typeof doc): unknown }).toJS(doc), text).toEqual(doc.toJS());
    }
    expect(fast).toBeGreaterThan(300);
  });

  it('names a collection used as a key by its YAML text, as the library does (not as JSON)', () => {
    const text = 'a:\n  - { concat: [ local, host ] }: x\n  - [ b, c ]: y\n';
    const src = parseYaml('t.yaml', text);
    expect(toJS(src, src.root)).toEqual(parseDocument(text).toJS());
    expect(toJS(src, src.root)).toEqual({ a: [{ '{ concat: [ local, host ] }': 'x' }, { '[ b, c ]': 'y' }] });
  });

  it('gives up on what it does not read, so the library reports it', () => {
    for (const text of [
      'a: &x 1\nb: *x\n',
      'a: |+\n  text\n\n',
      'a: |2\n   text\n',
      'a: >\n  text\n    more\n',
      'a: "open\n  quote"\n',
      'a: [1,\n  2]\n',
      'a: 1\na: 2\n',
      'a:\n\tb: 1\n',
      'a: b: c\n',
      '--- 1\n--- 2\n',
      'a: plain\n  continued\n',
      '{ $concat: [a, b] }: x\n',
      '? complex\n: key\n',
      'a: !!str 1\n',
      'a: [ x, , y ]\n',
    ]) {
      expect(parseFast(text), text).toBeUndefined();
    }
  });

  it('refuses a bare `-` in a flow collection exactly where the library does (differential)', () => {
    // `-` starts a plain scalar only before a safe character; `[a, -]` is a block entry in flow (BLOCK_IN_FLOW).
    const tokens = ['-', '-x', '--', '-1', '-.5', 'x-', '-:x', '- x', '-\t'];
    const shapes = ['a: [%]', 'a: [x, %]', 'a: [%, y]', 'a: [ % ]', 'a: [x,%]', 'a: {k: %}', 'a: {k: %, j: 1}', 'a: {%: 1}', 'a: { %, x }', '- [%]', 'a:\n  - [%]', 'node_templates:\n  n:\n    type: T\n    properties:\n      p: [%]'];
    let refused = 0;
    for (const shape of shapes) {
      for (const token of tokens) {
        const text = `${shape.replace('%', token)}\n`;
        const doc = parseDocument(text, { uniqueKeys: true });
        const fast = parseFast(text);
        if (doc.errors.length > 0) {
          refused++;
          expect(fast, text).toBeUndefined();
          expectLibraryReading(text, text);
        } else if (fast) {
          expect(fast.root === null ? null : (fast.root as YamlNode & { toJS(d: typeof doc): unknown }).toJS(doc), text).toEqual(doc.toJS());
        }
      }
    }
    expect(refused).toBeGreaterThan(30);
    for (const text of ['a: [x, -, y]\n', 'a: [x, -]\n', 'a: {k: -}\n', 'a: [ -, ]\n']) expect(problemsWhenRead(text), text).toContainEqual(expect.stringMatching(/E_TOSCA_YAML/));
  });

  it('reads literal and folded block scalars like the library', () => {
    const text = 'a: |\n  one\n    two\n\n  # not a comment\nb: >-\n  folded\n  line\n\n  para\nc:\n  - |-\n    x\n  - >\n    y\n# end\nd: 1\n';
    const r = parseFast(text)!;
    expect(r).toBeDefined();
    expect((r.root as YamlNode & { toJSON(): unknown }).toJSON()).toEqual(parseDocument(text).toJS());
    expect((r.root as YamlNode & { toJSON(): unknown }).toJSON()).toEqual({ a: 'one\n  two\n\n# not a comment\n', b: 'folded line\npara', c: ['x', 'y\n'], d: 1 });
  });

  it('resolves scalars like the YAML 1.2 core schema', () => {
    const r = parseFast("a: [ ~, null, true, False, 12, -3, 0x1F, 0o17, 1.5, .5, 1e3, .inf, -.Inf, '1', \"a\\tb\", 1 GiB, tosca:Compute, http://x/y ]\n")!;
    expect((r.root as YamlNode & { toJSON(): unknown }).toJSON()).toEqual({ a: [null, null, true, false, 12, -3, 31, 15, 1.5, 0.5, 1000, Infinity, -Infinity, '1', 'a\tb', '1 GiB', 'tosca:Compute', 'http://x/y'] });
  });

  it('resolves every number-like plain scalar as the library does (differential, each form and its near misses)', () => {
    const forms = ['0', '00', '-0', '+1', '1.', '.5', '+.5', '-.5', '1e3', '1E-3', '.5e3', '1.0.3', '2 GB', '2GB', '0o17', '0o8', '0o', '0O17', '-0o7', '0x1F', '0x', '0x1g', '0X1F', '+0x1', '.inf', '.Inf', '.INF', '+.inf', '-.inf', '-.Inf', '.iNf', '1.inf', '+.nan', '.nan', '.NaN', '.NAN', '.nAn', '+', '.', '1-2', '9.9.9-rc1', '1:30', '0.5 s', '-1 GB'];
    for (const f of forms) {
      const text = `a: ${f}\n`;
      const fast = (parseFast(text)!.root as YamlNode & { toJSON(): unknown }).toJSON();
      expect({ f, v: fast }).toEqual({ f, v: parseDocument(text).toJS() });
    }
  });
});

describe('node templates read on demand', () => {
  const text = [
    'tosca_definitions_version: tosca_2_0',
    'service_template:',
    '  node_templates:',
    '    web:',
    '      type: kaidu:Process',
    '      properties:',
    '        command: [ /bin/web, "--port", 8080 ]',
    '        script: |',
    '          echo one',
    '          echo two',
    '      requirements:',
    '        - host: h1',
    '        - dependency:',
    '            node: db',
    '            relationship: kaidu:DependsOn',
    '    db: { type: kaidu:Process, properties: { command: [ db ] } }',
    '    h1:',
    '      type: kaidu:Host',
    '',
  ].join('\n');

  it('knows a template\'s keys unread, reads it the same every time, and forgets it when released', () => {
    const fast = readLazily(text)!;
    type MapNode = { items: Array<{ value: MapNode }> };
    const templates = (fast.root as unknown as MapNode).items[1]!.value.items[0]!.value; // service_template.node_templates
    const web = templates.items[0]!.value as unknown as YamlNode;
    expect(knownKeys(web)).toEqual(['type', 'properties', 'requirements']);
    // a flow map on one line is small: read at once, as before
    expect(knownKeys(templates.items[1]!.value)).toBeUndefined();

    const library = parseDocument(text).toJS();
    const first = (web as unknown as { items: unknown[] }).items;
    expect((web as unknown as { items: unknown[] }).items).toBe(first); // kept while in use
    expect((fast.root as YamlNode & { toJSON(): unknown }).toJSON()).toEqual(library);
    const before = shape(fast.root);
    releaseNode(web);
    const again = (web as unknown as { items: unknown[] }).items;
    expect(again).not.toBe(first); // read again, not kept
    // the compact entries (`- host: h1`) and the block scalar read the same the second time
    expect(shape(fast.root)).toEqual(before);
    expect((fast.root as YamlNode & { toJSON(): unknown }).toJSON()).toEqual(library);
    releaseNode(web);
    releaseNode(web);
    expect((fast.root as YamlNode & { toJSON(): unknown }).toJSON()).toEqual(library);
  });

  it('gives each template the keys it has, whether or not they are the ones of the template before (differential)', () => {
    // Templates of one kind share a key list compared in place: here the kinds change, keys come
    // in fewer, more or other, some read as other than their text (null, numbers), some quoted.
    const bodies = [
      ['type: a', 'properties: {}'],
      ['type: a', 'properties: {}'],
      ['type: a'],
      ['type: a', 'properties: {}', 'requirements: []'],
      ['properties: {}', 'type: a'],
      ['type: a', '"properties": {}'],
      ["'type': a", 'properties: {}'],
      ['type: a', 'null: 1'],
      ['type: a', '~: 1'],
      ['type: a', '0x10: 1'],
      ['type: a', '16: 1'],
      ['type: a', '1.50: x'],
      ['type: a', '1.5: x'],
      ['type: a', 'properties  : {}'],
      ['type: a', 'propertiesx: {}'],
      ['type: a', 'propertie: {}'],
      ['true: 1', 'type: a'],
      ['True: 1', 'type: a'],
    ];
    const lines = ['tosca_definitions_version: tosca_2_0', 'service_template:', '  node_templates:'];
    bodies.forEach((body, i) => lines.push(`    t${i}:`, ...body.map((l) => `      ${l}`), `      description: d${i}`));
    const text = lines.join('\n') + '\n';
    const fast = readLazily(text)!;
    type MapNode = { items: Array<{ value: MapNode }> };
    const templates = (fast.root as unknown as MapNode).items[1]!.value.items[0]!.value.items;
    const library = parseDocument(text).toJS() as { service_template: { node_templates: Record<string, Record<string, unknown>> } };
    // The keys as the compiler looks them up (`scalarKey`), from a reading of every body at once.
    const eager = (parseFast(text)!.root as unknown as MapNode).items[1]!.value.items[0]!.value.items;
    expect(templates.map((t) => knownKeys(t.value))).toEqual(eager.map((t) => (t.value as unknown as { items: Pair[] }).items.map((p) => scalarKey(p))));
    expect(templates.map((t) => knownKeys(t.value)?.length)).toEqual(Object.values(library.service_template.node_templates).map((t) => Object.keys(t).length));
    expect((fast.root as YamlNode & { toJSON(): unknown }).toJSON()).toEqual(library);
    // A key twice, after the keys of the template before: the library reads (and reports) it.
    for (const dup of [['type: a', 'type: b'], ['type: a', 'properties: {}', 'type: b'], ['type: a', 'properties: {}', 'properties: {}'], ['type: a', 'properties: {}', '"type": b']]) {
      const withDup = [...lines.slice(0, 3), '    t0:', '      type: a', '      properties: {}', '    t1:', ...dup.map((l) => `      ${l}`)].join('\n') + '\n';
      expect(readLazily(withDup), dup.join(', ')).toBeUndefined();
      expect(problemsWhenRead(withDup), dup.join(', ')).toContainEqual(expect.stringMatching(/E_TOSCA_DUPLICATE_KEY$/));
    }
  });

  it('gives the entries of big and small maps alike (they come from two allocation sites)', () => {
    for (const n of [0, 1, 64, 65, 500]) {
      const text = ['tosca_definitions_version: tosca_2_0', 'service_template:', '  node_templates:', ...Array.from({ length: n }, (_, i) => `    t${i}:\n      type: a${i}`)].join('\n') + '\n';
      for (const src of [parseYaml('t.yaml', text), parseWithLibrary('t.yaml', text)]) {
        const templates = entries(entries(entries(src.root)[1]![1])[0]![1]);
        expect(templates.map(([k, v, p]) => [k, toJS(src, v), p.value === v])).toEqual(Array.from({ length: n }, (_, i) => [`t${i}`, { type: `a${i}` }, true]));
      }
    }
  });

  it('takes a body outside the subset from the library, and its problems come out when it is read', () => {
    const anchored = text.replace('type: kaidu:Process', 'type: &p kaidu:Process').replace('type: kaidu:Host', 'type: *p');
    expect(readLazily(anchored)).toBeDefined(); // the bodies were not read yet
    const anchoredSrc = parseYaml('s.yaml', anchored);
    expect(toJS(anchoredSrc, anchoredSrc.root)).toEqual(parseDocument(anchored).toJS()); // aliases resolved, as the library does
    expect(anchoredSrc.late).toEqual([]);
    // a YAML error inside a body: reported late, where it is, and the other templates still read
    const broken = text.replace('          echo two', '          echo two\n        bad: [ unclosed');
    const src = parseYaml('s.yaml', broken);
    expect(src.root).not.toBeNull();
    expect(src.late).toEqual([]);
    expect(toJS(src, src.root)).toMatchObject({ service_template: { node_templates: { db: { type: 'kaidu:Process' } } } });
    expect(problemsWhenRead(broken).some((x) => x.endsWith('E_TOSCA_YAML'))).toBe(true);
    expectLibraryReading(broken, 'the same problems, where the library finds them');
    // duplicate keys in a body, as the library reports them
    expect(problemsWhenRead(text.replace('        - host: h1', '        - host: h1\n          host: h2'))).toEqual(['13:11 E_TOSCA_DUPLICATE_KEY']);
  });
});
