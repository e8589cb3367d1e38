import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { fsReader, profilesReader } from '../../src/cli/fs-reader.js';
import { GrammarChecker, grammarFor } from '../../src/tosca/grammar/index.js';
import { field, parseYaml, str } from '../../src/tosca/yaml-source.js';
import { closest } from '../../src/tosca/suggest.js';
import { DIAGNOSTIC_CODES } from '../../src/tosca/diagnostic-codes.js';
import { corpusCases, expectCase } from '../support/tosca-corpus.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'test', 'fixtures', 'tosca', 'grammar');
const profiles = profilesReader();
const cache = createCompileCache();

/** Each fixture says what it must produce in its header (see test/support/tosca-corpus.ts). */
const cases = corpusCases(DIR);

describe('grammar corpus (test/fixtures/tosca/grammar)', () => {
  it('has valid and invalid files of both 1.3 and 2.0, each naming what it expects', () => {
    expect(cases.filter((c) => c.valid).length).toBeGreaterThanOrEqual(2);
    expect(cases.filter((c) => !c.valid).length).toBeGreaterThanOrEqual(4);
    for (const c of cases) expect(c.expects.length, c.file).toBeGreaterThan(0);
  });

  it.each(cases)('$file', async (c) => {
    const r = await compileService(c.file, fsReader(DIR), { profiles, cache });
    expectCase(c, r.diagnostics);
  });
});

describe('constraint and validation operands of the wrong type', () => {
  // The corpus checks lines; here, that each is at the operand's own column, reported once.
  it('are each reported once, at the operand (not the clause or the property)', async () => {
    for (const [file, operand] of [['operands-bad-1.3.yaml', /greater_than: (abc)|valid_values: \[ 1, (x)|in_range: \[ 1, (b)/], ['operands-bad-2.0.yaml', /\[ \$value, (abc)|\[ 1, 2, (x)|\[ (high), \$value/]] as const) {
      const text = readFileSync(join(DIR, file), 'utf8').split('\n');
      const want = text.flatMap((l, i) => {
        const m = operand.exec(l);
        if (!m || l.startsWith('#')) return [];
        const word = m.slice(1).find((x) => x !== undefined)!;
        return [`${i + 1}:${m.index + m[0].indexOf(word) + 1}`];
      });
      expect(want, file).toHaveLength(3);
      const r = await compileService(file, fsReader(DIR), { profiles, cache });
      const got = r.diagnostics.filter((d) => d.code === 'E_TOSCA_VALUE_TYPE').map((d) => `${d.line}:${d.column}`);
      for (const w of want) expect(got.filter((g) => g === w), `${file} ${w} in ${got.join(' ')}`).toHaveLength(1);
    }
  });
});

describe('2.0 node filters the grammar refused', () => {
  it('are not also said to read a value known only at run time', async () => {
    const r = await compileService('node-filter-functions-2.0.yaml', fsReader(DIR), { profiles, cache });
    expect(r.diagnostics.filter((d) => d.code === 'E_TOSCA_UNKNOWN_FUNCTION' || d.code === 'E_TOSCA_UNKNOWN_KEYWORD')).toHaveLength(4);
    expect(r.diagnostics.filter((d) => d.code === 'W_TOSCA_NODE_FILTER')).toEqual([]);
  });
});

describe('grammar', () => {
  it('Kaidu\'s own profiles follow the grammar of their version', () => {
    for (const file of ['kaidu/profile.yaml', 'tosca-simple-2.0/profile.yaml', 'tosca-simple-1.0/normative.yaml', 'tosca-simple-1.1/normative.yaml', 'tosca-simple-1.2/normative.yaml', 'tosca-simple-1.3/normative.yaml']) {
      const src = parseYaml(file, readFileSync(join(ROOT, 'profiles', file), 'utf8'));
      const grammar = grammarFor(str(field(src.root, 'tosca_definitions_version')) ?? '');
      expect(grammar, file).toBeDefined();
      const problems: string[] = [];
      new GrammarChecker(grammar!, src, (code, message, at) => problems.push(`${at.file}:${at.line} ${code} ${message}`)).checkFile(src.root);
      expect(problems).toEqual([]);
    }
  });

  it('knows each version: a keyword of a later version is unknown in an earlier one', () => {
    const check = (version: string, body: string) => {
      const src = parseYaml('t.yaml', `tosca_definitions_version: ${version}\n${body}`);
      const out: string[] = [];
      new GrammarChecker(grammarFor(version)!, src, (code, message) => out.push(`${code} ${message}`)).checkFile(src.root);
      return out;
    };
    const notifications = 'interface_types:\n  I:\n    notifications:\n      n: {}\n';
    expect(check('tosca_simple_yaml_1_3', notifications)).toEqual([]);
    // 1.2 has no notifications: an entry that is not a keyword is an operation (of 1.0–1.2 style), whose `{}` is fine
    expect(check('tosca_2_0', 'namespace: x\n')).toEqual([expect.stringContaining('E_TOSCA_UNKNOWN_KEYWORD unknown keyword "namespace"')]);
    expect(check('tosca_simple_yaml_1_3', 'namespace: x\n')).toEqual([]);
    expect(check('tosca_simple_yaml_1_1', 'namespace: x\n')).toEqual([expect.stringContaining('unknown keyword "namespace"')]);
    // 1.0's template keys are keys of its metadata (§3.9.3.2-3.9.3.5), as in every later version.
    expect(check('tosca_simple_yaml_1_0', 'metadata: { template_name: x }\n')).toEqual([]);
    expect(check('tosca_simple_yaml_1_0', 'template_name: x\n')).toEqual([expect.stringContaining('unknown keyword "template_name"')]);
    expect(check('tosca_simple_yaml_1_3', 'template_name: x\n')).toEqual([expect.stringContaining('unknown keyword "template_name"')]);
    // An interface listing its operations directly (1.0-1.2, and 1.3's normative types) still knows a misspelt keyword.
    expect(check('tosca_simple_yaml_1_3', 'interface_types:\n  I:\n    notifcations: {}\n')).toEqual([expect.stringContaining('unknown keyword "notifcations"')]);
    expect(check('tosca_simple_yaml_1_1', 'interface_types:\n  I:\n    descriptoin: x\n    start: {}\n')).toEqual([expect.stringContaining('unknown keyword "descriptoin"')]);
    expect(check('tosca_simple_yaml_1_1', 'interface_types:\n  I:\n    start: {}\n    backup: {}\n')).toEqual([]);
    expect(check('tosca_2_0', 'service_template:\n  node_templates: {}\ntopology_template: {}\n')).toEqual([expect.stringContaining('unknown keyword "topology_template"')]);
  });

  it('did you mean: the closest keyword when close enough, nothing when not', () => {
    const kw = ['type', 'description', 'metadata', 'directives', 'properties', 'attributes', 'requirements', 'capabilities', 'interfaces', 'artifacts', 'node_filter', 'copy'];
    expect(closest('propertiessss', kw)).toBe('properties');
    expect(closest('Properties', kw)).toBe('properties');
    expect(closest('requirments', kw)).toBe('requirements');
    expect(closest('tpye', kw)).toBe('type');
    expect(closest('get_atribute', ['get_attribute', 'get_property'])).toBe('get_attribute');
    expect(closest('banana', kw)).toBeUndefined();
    expect(closest('xy', kw)).toBeUndefined();
  });

  it('every code the compiler can report is in the catalogue, and README.md lists the catalogue', () => {
    const used = new Set<string>();
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.name.endsWith('.ts')) for (const m of readFileSync(join(dir, e.name), 'utf8').matchAll(/'([EW]_TOSCA_[A-Z_]+)'/g)) used.add(m[1]!);
      }
    };
    walk(join(ROOT, 'src', 'tosca'));
    const catalogue = Object.keys(DIAGNOSTIC_CODES);
    expect([...used].filter((c) => !catalogue.includes(c))).toEqual([]);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(catalogue.filter((c) => !readme.includes(`\`${c}\``))).toEqual([]);
  });
});

describe('a value not of its type', () => {
  it('is reported once, as not of its type, not also as violating the type\'s constraints', async () => {
    const r = await compileService('versions-bad-1.3.yaml', fsReader(DIR), { profiles, cache });
    const at21 = r.diagnostics.filter((d) => d.line === 21).map((d) => d.code);
    expect(at21).toEqual(['E_TOSCA_VALUE_TYPE']);
  });
});
