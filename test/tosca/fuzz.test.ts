import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { memoryReader } from '../support/memory-reader.js';
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
// The examples always; the shared conformance corpus when it sits beside the project.
const corpus = [...yamlFiles(join(ROOT, 'test', 'fixtures', 'tosca')), ...yamlFiles(join(ROOT, 'examples')), ...yamlFiles(join(ROOT, 'profiles')), ...yamlFiles(join(ROOT, '..', 'shared', 'conformance'))].filter((f) => !f.endsWith('kaidu.yaml'));
const REPLACEMENTS = ['', '~', '[]', '{}', '42', '-1.5', 'true', '"x"', '{ $concat: [ a ] }', '{ $get_input: nope }', '{ get_property: [ SELF, x ] }', '&a x', '*a', '"{{"', ': :', '- - -', '$$x', '9 GiB', 'tosca:Nope', '[ 1, [ 2, { a: b } ] ]'];

function mutate(text: string, rand: () => number): string {
  const lines = text.split('\n');
  const i = Math.floor(rand() * lines.length);
  const j = Math.floor(rand() * lines.length);
  switch (Math.floor(rand() * 8)) {
    case 0:
      lines.splice(i, 1);
      break;
    case 1:
      lines.splice(i, 0, lines[j] ?? '');
      break;
    case 2:
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      break;
    case 3:
      lines[i] = '  '.repeat(Math.floor(rand() * 4)) + (lines[i] ?? '').trimStart();
      break;
    case 4:
      lines[i] = (lines[i] ?? '').replace(/:\s.*$/, `: ${REPLACEMENTS[Math.floor(rand() * REPLACEMENTS.length)]}`);
      break;
    case 5:
      lines[i] = '\t' + (lines[i] ?? '');
      break;
    case 6:
      lines[i] = (lines[i] ?? '').replace(/[A-Za-z]+/, (w) => w.split('').reverse().join(''));
      break;
    default:
      lines[i] = (lines[i] ?? '').slice(0, Math.floor(rand() * (lines[i]?.length ?? 0)));
  }
  return lines.join('\n');
}

describe('compiler fuzz', () => {
  it('1,200 mutations of real templates give diagnostics, never an exception', async () => {
    expect(corpus.length).toBeGreaterThan(3);
    const rand = seededRandom(20261124);
    const profiles = profilesReader();
    const cache = createCompileCache();
    let withErrors = 0;
    for (let n = 0; n < 1200; n++) {
      const file = corpus[Math.floor(rand() * corpus.length)]!;
      const base = join(file, '..');
      // The file's neighbours come along, so relative imports keep working.
      const files: Record<string, string> = {};
      for (const f of yamlFiles(base)) files[relative(base, f)] = readFileSync(f, 'utf8');
      const entry = relative(base, file);
      let text = files[entry]!;
      for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) text = mutate(text, rand);
      files[entry] = text;
      const result = await compileService(entry, memoryReader(files), { profiles, cache });
      const internal = result.diagnostics.filter((d) => d.code === 'E_TOSCA_INTERNAL');
      expect(internal, `case ${n} (${entry}):\n${text}`).toEqual([]);
      for (const d of result.diagnostics) {
        expect(d.line).toBeGreaterThanOrEqual(1);
        expect(d.column).toBeGreaterThanOrEqual(1);
        expect(typeof d.file).toBe('string');
      }
      if (result.diagnostics.some((d) => d.severity === 'error')) withErrors++;
    }
    // The mutations do break things: most cases must produce an error diagnostic.
    expect(withErrors).toBeGreaterThan(300);
  }, 120_000);
});
