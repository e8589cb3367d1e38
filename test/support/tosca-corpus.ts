import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Diagnostic } from '../../src/tosca/diagnostic.js';

/** What one corpus file says it must produce: `# expect: valid`, or `# expect: CODE LINE [text]` per problem. */
export interface CorpusCase {
  file: string;
  valid: boolean;
  expects: Array<{ code: string; line: number; text: string }>;
}

/**
 * The YAML files of a TOSCA test corpus folder with the expectations their headers state; `text`
 * is found in the message or the hint of the problem at that line.
 */
export function corpusCases(dir: string): CorpusCase[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      const expects = [...text.matchAll(/^# expect: (\S+)(?: (\d+))?(?: (.*))?$/gm)].map((m) => ({ code: m[1]!, line: m[2] ? Number(m[2]) : 0, text: m[3]?.trim() ?? '' }));
      return { file, valid: expects.some((e) => e.code === 'valid'), expects };
    });
}

/**
 * Checks a compile's diagnostics against what the file states: a valid file has no error; each
 * expected problem is there (code, line, text, severity by its prefix). With `exact`, an invalid
 * file has no error it does not name.
 */
export function expectCase(c: CorpusCase, diagnostics: readonly Diagnostic[], exact = false): void {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const shown = JSON.stringify(diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.code} ${d.message} | ${d.hint ?? ''}`), null, 1);
  if (c.valid) {
    expect(errors, shown).toEqual([]);
    return;
  }
  for (const e of c.expects) {
    const hit = diagnostics.find((d) => d.code === e.code && d.line === e.line && d.file === c.file && `${d.message} ${d.hint ?? ''}`.includes(e.text));
    expect(hit, `${e.code} at line ${e.line} "${e.text}" in ${shown}`).toBeDefined();
    expect(hit!.severity).toBe(e.code.startsWith('E_') ? 'error' : 'warning');
  }
  if (exact) expect(errors.length, shown).toBe(c.expects.filter((e) => e.code.startsWith('E_')).length);
}
