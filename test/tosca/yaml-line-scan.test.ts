import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { parseFast } from '../../src/tosca/yaml-fast.js';
import { parseYaml } from '../../src/tosca/yaml-source.js';
import { checkYamlLines, checkYamlText, scanDepth, TEMPLATE_LIMITS, type YamlLimits } from '../../src/tosca/yaml-limits.js';
import { memoryReader } from '../support/memory-reader.js';
import { deepDocument, hostileDocument, type DeepKind, piecedLines } from '../support/hostile-yaml.js';
import { seededRandom } from '../support/seeded-random.js';

// Templates the fast reader may read get their depth check and their line table from one pass
// over the lines (checkYamlLines): these tests hold that pass to the depth scan that reads every
// character, and to a line table made the obvious way.

const MAX = TEMPLATE_LIMITS.maxDepth;
const KINDS: DeepKind[] = ['block-maps', 'compact-seqs', 'flow-seqs', 'flow-maps'];

/** The line table of a text, made by splitting it. */
function splitTable(text: string) {
  const lineStart: number[] = [];
  const contentStart: number[] = [];
  const lineEnd: number[] = [];
  const content: number[] = [];
  let at = 0;
  text.split('\n').forEach((l, i) => {
    const spaces = l.length - l.replace(/^ +/, '').length;
    lineStart.push(at);
    contentStart.push(at + spaces);
    lineEnd.push(at + l.length);
    if (spaces < l.length && l[spaces] !== '#') content.push(i);
    at += l.length + 1;
  });
  return { lineStart, contentStart, lineEnd, content };
}

/** A template whose first node template's property holds `value` (lines after the first indented under it). */
function templateWith(value: string): string {
  const head = 'tosca_definitions_version: tosca_2_0\ntopology_template:\n  node_templates:\n    a:\n      type: tosca.nodes.Root\n    n:\n      type: tosca.nodes.Root\n      properties:\n        p: ';
  return head + value.split('\n').join('\n          ') + '\n';
}

describe('one pass over the lines: depth limit and line table', () => {
  it('refuses what the full depth scan refuses, at the same place, and otherwise gives the table of the text (differential)', () => {
    const rand = seededRandom(2026_12_03);
    const pieces = ['a', 'key', ':', ': ', '- ', '? ', ' ', '  ', '#', ' # c', '"', "'", '[', ']', '{', '}', ',', '|', '>', '&x ', '!t ', '\t', '\r', '---', '%', 'x'.repeat(30)];
    const texts: string[] = ['', '\n', 'a', '   ', '#', '\n\n  \n'];
    for (let n = 0; n < 300; n++) texts.push(hostileDocument(rand, (['template', 'state', 'settings'] as const)[n % 3]!, 0.05));
    for (const kind of KINDS) for (const levels of [1, 5, 9, 10, 11, 30]) texts.push(deepDocument(kind, levels));
    texts.push(...piecedLines(rand, pieces, 1500));
    let refused = 0;
    let tables = 0;
    for (const text of texts) {
      for (const maxDepth of [1, 2, 3, 5, 8, 13, 200]) {
        const limits: YamlLimits = { ...TEMPLATE_LIMITS, maxDepth };
        const checked = checkYamlLines(text, 'f.yaml', limits);
        const full = scanDepth(text, maxDepth, false);
        expect(checked.refused, `max ${maxDepth}: ${JSON.stringify(text.slice(0, 200))}`).toEqual(checkYamlText(text, 'f.yaml', limits));
        expect(checked.refused && { line: checked.refused.line, column: checked.refused.column }).toEqual(full);
        if (checked.refused) {
          refused++;
          continue;
        }
        const t = checked.lines!;
        expect({ lineStart: [...t.lineStart], contentStart: [...t.contentStart], lineEnd: [...t.lineEnd], content: [...t.content] }, JSON.stringify(text.slice(0, 200))).toEqual(splitTable(text));
        tables++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
    expect(tables).toBeGreaterThan(1000);
  });

  it('a table longer than its first guess (lines shorter than 16 characters) is whole', () => {
    const text = Array.from({ length: 5000 }, (_, i) => `- ${i % 10}`).join('\n');
    const checked = checkYamlLines(text, 'f.yaml', TEMPLATE_LIMITS);
    expect(checked.lines!.lineStart.length).toBe(5000);
    expect([...checked.lines!.lineStart]).toEqual(splitTable(text).lineStart);
    expect(parseFast(text, undefined, checked.lines)!.lines.linePos(text.lastIndexOf('-'))).toEqual({ line: 5000, col: 1 });
  });

  it('a template the fast reader would read is refused one level over the limit, in every kind of nesting, where the full scan says', () => {
    for (const kind of KINDS) {
      const over = deepDocument(kind, MAX + 1);
      const under = deepDocument(kind, MAX - 1);
      // The texts are in the fast reader's subset: only the depth check keeps it from reading them.
      expect(parseFast(under), kind).toBeDefined();
      const at = scanDepth(over, MAX, false)!;
      expect(at, kind).toBeDefined();
      expect(parseYaml('x.yaml', over).diagnostics, kind).toEqual([expect.objectContaining({ code: 'E_YAML_TOO_DEEP', file: 'x.yaml', line: at.line, column: at.column })]);
      expect(parseYaml('x.yaml', under).diagnostics, kind).toEqual([]);
    }
    // The place, independently: block maps one space deeper per line break the limit on the 202nd line.
    expect(parseYaml('x.yaml', deepDocument('block-maps', 10_000)).diagnostics).toMatchObject([{ code: 'E_YAML_TOO_DEEP', line: 202, column: 201 }]);
    expect(parseYaml('x.yaml', deepDocument('compact-seqs', 10_000)).diagnostics).toMatchObject([{ code: 'E_YAML_TOO_DEEP', line: 3, column: 2 * (MAX - 1) + 1 }]);
  });

  it('a text the fast reader never reads (carriage returns, a byte order mark) is checked as before, then read by the library', () => {
    for (const kind of KINDS) {
      // Deep enough that the library alone would overflow its stack or stop somewhere else.
      const deep = deepDocument(kind, kind === 'block-maps' ? 1000 : 10_000);
      for (const text of [deep.replace(/\n/g, '\r\n'), `\ufeff${deep}`]) {
        const at = scanDepth(text, MAX, false)!;
        expect(at, kind).toBeDefined();
        expect(parseYaml('x.yaml', text).diagnostics, kind).toEqual([expect.objectContaining({ code: 'E_YAML_TOO_DEEP', line: at.line, column: at.column })]);
      }
      const under = deepDocument(kind, MAX - 1).replace(/\n/g, '\r\n');
      expect(parseYaml('x.yaml', under).diagnostics, kind).toEqual([]);
    }
  });

  it('nesting too deep inside a node template body (read on demand) is refused before any reading, through the compiler too', async () => {
    const deep: Record<string, string> = {
      'block-maps': Array.from({ length: MAX }, (_, i) => `${' '.repeat(2 * i)}k:`).join('\n').replace(/^k:\n/, 'k:\n'),
      'compact-seqs': `\n${'- '.repeat(MAX)}a`,
      'flow-seqs': `${'['.repeat(MAX)}${']'.repeat(MAX)}`,
      'flow-maps': `${'{a: '.repeat(MAX)}1${'}'.repeat(MAX)}`,
    };
    for (const [kind, value] of Object.entries(deep)) {
      const text = templateWith(kind === 'block-maps' ? `\n${value}` : value);
      const at = scanDepth(text, MAX, false);
      expect(at, kind).toBeDefined();
      expect(at!.line, kind).toBeGreaterThan(8); // inside the body of `n`
      expect(parseYaml('x.yaml', text).diagnostics, kind).toEqual([expect.objectContaining({ code: 'E_YAML_TOO_DEEP', line: at!.line, column: at!.column })]);
      const result = await compileService('x.yaml', memoryReader({ 'x.yaml': text }), { profiles: profilesReader(), cache: createCompileCache() });
      expect(result.diagnostics, kind).toMatchObject([{ code: 'E_YAML_TOO_DEEP', file: 'x.yaml', line: at!.line, column: at!.column }]);
    }
    // Ten levels fewer is read, on demand, without a diagnostic.
    const fine = templateWith(`${'['.repeat(MAX - 20)}${']'.repeat(MAX - 20)}`);
    expect(parseYaml('x.yaml', fine).diagnostics).toEqual([]);
  });

  it('brackets hidden in quotes and block scalars over several lines are not nesting, and real nesting after them is still found', () => {
    const hidden = '['.repeat(3 * MAX);
    const before = [
      'tosca_definitions_version: tosca_2_0',
      `a: "one ${hidden}`,
      `  two ${hidden}"`,
      `b: 'one ${hidden}`,
      `  it''s ${hidden}'`,
      'c: |',
      `  ${hidden}`,
      `    ${hidden}`,
      'd: >-',
      `  ${hidden}`,
      `# ${hidden}`,
    ];
    const accepted = [...before, 'e: 1', ''].join('\n');
    expect(checkYamlLines(accepted, 'f.yaml', TEMPLATE_LIMITS).refused).toBeUndefined();
    expect(parseDocument(accepted).errors).toEqual([]);
    expect(parseYaml('f.yaml', accepted).diagnostics).toEqual([]);
    for (const deep of [`e: ${'['.repeat(MAX)}${']'.repeat(MAX)}`, `e:\n${'- '.repeat(MAX)}a`]) {
      const text = [...before, deep, ''].join('\n');
      const ds = parseYaml('f.yaml', text).diagnostics;
      expect(ds, deep.slice(0, 10)).toMatchObject([{ code: 'E_YAML_TOO_DEEP', line: deep.startsWith('e:\n') ? before.length + 2 : before.length + 1 }]);
      expect({ line: ds[0]!.line, column: ds[0]!.column }).toEqual(scanDepth(text, MAX, false));
    }
  });

  it('the fast reader leaves to the library what its lines show is not one plain document', () => {
    for (const text of ['a: 1\n---\nb: 2\n', '---\n---\na: 1\n', '%YAML 1.2\n---\na: 1\n', 'a: 1\n...\n', 'a:\n\tb: 1\n', '--- a: 1\n', '  %x: 1\n']) {
      expect(parseFast(text), JSON.stringify(text)).toBeUndefined();
    }
    // Two start markers are two documents, even with nothing between them: the library says so.
    expect(parseDocument('---\n---\na: 1\n').errors.map((e) => e.code)).toEqual(['MULTIPLE_DOCS']);
    expect(parseYaml('x.yaml', '---\n---\na: 1\n').diagnostics).toMatchObject([{ code: 'E_TOSCA_YAML', line: 2, column: 1 }]);
    for (const text of ['---\na: 1\n', '# c\n\n--- # top\na: 1\n', 'a: 50%\nb: "x\ty"\n', 'a:\n  - ---x\n']) {
      const fast = parseFast(text);
      expect(fast, JSON.stringify(text)).toBeDefined();
      expect((fast!.root as unknown as { toJSON(): unknown }).toJSON()).toEqual(parseDocument(text).toJS());
    }
  });
});
