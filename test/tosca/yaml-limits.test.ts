import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { parseFast } from '../../src/tosca/yaml-fast.js';
import { parseYaml, toJS } from '../../src/tosca/yaml-source.js';
import { checkYamlText, expandAliases, parseLimited, scanDepth, SETTINGS_LIMITS, TEMPLATE_LIMITS, type YamlLimits } from '../../src/tosca/yaml-limits.js';
import { parseServiceState } from '../../src/state/parse.js';
import { parseSettings } from '../../src/repository/settings.js';
import { memoryReader } from '../support/memory-reader.js';
import { aliasBomb, deepDocument, hostileDocument, paddedAliasBomb, type DeepKind, piecedLines } from '../support/hostile-yaml.js';
import { seededRandom } from '../support/seeded-random.js';

const STATE_HEAD = 'schema: kaidu/state/v1\nhost: h\nservice: s\nrevision: r\nupdatedAt: t\n';

/** The three readers of a user's repository, each given the same text. */
function readAll(text: string) {
  return {
    template: parseYaml('services/x.yaml', text).diagnostics,
    state: parseServiceState(text, 'state/h/s.yaml').diagnostics,
    settings: parseSettings(text, 'kaidu.yaml').diagnostics,
  };
}

describe('YAML limits', () => {
  const bomb16k = paddedAliasBomb(16 * 1024);
  const bomb330 = aliasBomb(9, 6);

  it('refuses a 16 KB and a 330-byte billion laughs in every reader, at the alias that crosses the limit', () => {
    expect(bomb16k.length).toBeGreaterThan(15 * 1024);
    expect(bomb16k.length).toBeLessThanOrEqual(16 * 1024);
    expect(bomb330.length).toBeLessThanOrEqual(340);
    for (const text of [bomb16k, bomb330]) {
      const lines = text.split('\n');
      for (const [reader, ds] of Object.entries(readAll(text))) {
        const d = ds.find((x) => x.code === 'E_YAML_ALIAS_LIMIT');
        expect(d, `${reader}: ${JSON.stringify(ds)}`).toBeDefined();
        expect(d!.severity).toBe('error');
        expect(d!.file).toMatch(/\.yaml$/);
        // The position is an alias (`*aN`) of the file.
        expect(lines[d!.line - 1]!.slice(d!.column - 1)).toMatch(/^\*a\d+/);
      }
    }
  });

  it('a billion laughs through the whole compiler is one located diagnostic, no internal error', async () => {
    const result = await compileService('x.yaml', memoryReader({ 'x.yaml': bomb330 }), { profiles: profilesReader(), cache: createCompileCache() });
    expect(result.diagnostics.map((d) => d.code)).toEqual(['E_YAML_ALIAS_LIMIT']);
    expect(result.diagnostics[0]).toMatchObject({ file: 'x.yaml', severity: 'error' });
    expect(result.diagnostics[0]!.line).toBeGreaterThan(1);
  });

  it('counts aliases and the nodes they add, and refuses an alias inside the node it names', () => {
    const limits: YamlLimits = { maxBytes: 1 << 20, maxDepth: 50, maxAliases: 3, maxAliasNodes: 1000 };
    const many = 'd: &d 1\nl: [*d, *d, *d, *d]\n';
    const doc = parseDocument(many);
    const lc = parseLimited(many, 'f.yaml', limits);
    expect(lc.doc).toBeUndefined();
    expect(lc.diagnostics).toMatchObject([{ code: 'E_YAML_ALIAS_LIMIT', line: 2, column: 17, message: 'more than 3 aliases' }]);
    // Within the limits, aliases become copies: nothing left for a later walk to multiply.
    expect(expandAliases(doc, parseLimited('x: 1', 'f', limits).lines, 'f.yaml', { ...limits, maxAliases: 4 })).toEqual([]);
    expect(doc.toJS({ maxAliasCount: 0 })).toEqual({ d: 1, l: [1, 1, 1, 1] });
    const cycle = parseLimited('a: &a [1, *a]\n', 'f.yaml', limits);
    expect(cycle.diagnostics).toMatchObject([{ code: 'E_YAML_ALIAS_LIMIT', line: 1, column: 11 }]);
    const deepAlias = parseLimited(`d: &d ${'['.repeat(30)}${']'.repeat(30)}\ne: ${'['.repeat(30)}*d${']'.repeat(30)}\n`, 'f.yaml', limits);
    expect(deepAlias.diagnostics).toMatchObject([{ code: 'E_YAML_TOO_DEEP', line: 2 }]);
    const missing = parseLimited('a: *nope\n', 'f.yaml', limits);
    expect(missing.diagnostics).toMatchObject([{ code: 'E_TOSCA_YAML', line: 1, column: 4 }]);
  });

  it('refuses nesting deeper than the limit, in block maps, compact and flow collections, in every reader', () => {
    for (const kind of ['block-maps', 'compact-seqs', 'flow-seqs', 'flow-maps'] as const) {
      const text = deepDocument(kind, kind === 'block-maps' ? 1000 : 10_000, STATE_HEAD);
      for (const [reader, ds] of Object.entries(readAll(text))) {
        expect(ds.map((d) => d.code), `${kind} ${reader}`).toEqual(['E_YAML_TOO_DEEP']);
        expect(ds[0]!.line).toBeGreaterThan(1);
      }
    }
    // Just under the limit is read.
    const ok = deepDocument('flow-seqs', 150, 'a: 1\n');
    expect(checkYamlText(ok, 'f', TEMPLATE_LIMITS)).toBeUndefined();
    expect(parseYaml('f.yaml', ok).diagnostics).toEqual([]);
  });

  it('does not count what is not nesting: quotes, comments and block scalars', () => {
    const brackets = '['.repeat(500);
    const text = [
      `a: "${brackets}"`,
      `b: '${brackets}'`,
      `c: x${brackets}`,
      `# ${brackets}`,
      `d: |`,
      ...Array.from({ length: 300 }, (_, i) => `${' '.repeat(2 + i)}line ${brackets}`),
      `e: "multi`,
      `  line ${brackets}"`,
      `f: [ "${brackets}", '${brackets}' ]`,
    ].join('\n');
    expect(checkYamlText(text, 'f', TEMPLATE_LIMITS)).toBeUndefined();
    expect(parseDocument(text).errors).toEqual([]);
  });

  it('the depth scan that skips plain lines finds the same first place as the scan that reads every character (differential)', () => {
    const rand = seededRandom(16_2026);
    const pieces = ['a', 'key', ':', ': ', '- ', '? ', ' ', '  ', '#', ' # c', '"', "'", '[', ']', '{', '}', ',', '|', '>', '&x ', '!t ', '\t', '\r', 'x'.repeat(30)];
    const texts: string[] = [];
    for (let n = 0; n < 600; n++) texts.push(hostileDocument(rand, (['template', 'state', 'settings'] as const)[n % 3]!, 0.05));
    for (const kind of ['block-maps', 'compact-seqs', 'flow-seqs', 'flow-maps'] as DeepKind[]) for (const levels of [1, 5, 9, 10, 11, 30]) texts.push(deepDocument(kind, levels));
    // Lines of random pieces, indented at random: quotes, brackets and block scalars across lines, long lines of indicators.
    texts.push(...piecedLines(rand, pieces, 1500));
    let found = 0;
    for (const text of texts) {
      // Small limits put lines on both sides of the "cannot break the limit" bound.
      for (const max of [1, 2, 3, 5, 8, 13, 200]) {
        const full = scanDepth(text, max, false);
        expect(scanDepth(text, max), `max ${max}: ${JSON.stringify(text.slice(0, 200))}`).toEqual(full);
        if (full) found++;
      }
    }
    expect(found).toBeGreaterThan(1000); // the limit was crossed often enough to compare places
  });

  it('10,000 nested block maps: a located E_YAML_TOO_DEEP, not a stack overflow', async () => {
    const text = deepDocument('block-maps', 10_000);
    const result = await compileService('x.yaml', memoryReader({ 'x.yaml': text }), { profiles: profilesReader(), cache: createCompileCache() });
    expect(result.diagnostics).toMatchObject([{ code: 'E_YAML_TOO_DEEP', file: 'x.yaml', line: 202, column: 201 }]);
  });

  it('refuses a file over the size limit, counted in UTF-8 bytes', () => {
    const small: YamlLimits = { ...SETTINGS_LIMITS, maxBytes: 100 };
    expect(checkYamlText(`a: "${'é'.repeat(45)}"`, 'k.yaml', small)).toBeUndefined();
    expect(checkYamlText(`a: "${'é'.repeat(50)}"`, 'k.yaml', small)).toMatchObject({ code: 'E_YAML_TOO_LARGE', file: 'k.yaml', line: 1, column: 1 });
    const big = `inputs: {a: "${'x'.repeat(SETTINGS_LIMITS.maxBytes)}"}\n`;
    expect(parseSettings(big).diagnostics).toMatchObject([{ code: 'E_YAML_TOO_LARGE', file: 'kaidu.yaml' }]);
  });

  it('the fast reader refuses what the library refuses: an implicit key over 1024 characters', () => {
    const text = `${'k'.repeat(1100)}: 1\n`;
    expect(parseDocument(text).errors.length).toBeGreaterThan(0);
    expect(parseFast(text)).toBeUndefined();
    // State files are read strictly: the library's error comes through (templates are read leniently, `strict: false`).
    expect(parseServiceState(text, 'state/h/s.yaml').diagnostics.some((d) => d.code === 'E_STATE_YAML' && /1024/.test(d.message))).toBe(true);
    const fine = `${'k'.repeat(1000)}: 1\n`;
    expect(parseFast(fine)).toBeDefined();
  });

  it('legitimate aliases still read as copies of their anchors', () => {
    const text = 'tosca_definitions_version: tosca_2_0\nd: &d {a: 1, b: [1, 2]}\ne: *d\nf: [*d, *d]\n';
    const src = parseYaml('f.yaml', text);
    expect(src.diagnostics).toEqual([]);
    expect(toJS(src, src.root)).toEqual({ tosca_definitions_version: 'tosca_2_0', d: { a: 1, b: [1, 2] }, e: { a: 1, b: [1, 2] }, f: [{ a: 1, b: [1, 2] }, { a: 1, b: [1, 2] }] });
  });
});
