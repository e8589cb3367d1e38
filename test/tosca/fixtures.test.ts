import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { fsReader, profilesReader } from '../../src/cli/fs-reader.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'tosca', 'malformed');
const profiles = profilesReader();
const cache = createCompileCache();

/** Each malformed fixture says on its first line what it must produce: `# expect CODE LINE[:COL] [in FILE]`. */
const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((file) => {
    const m = /^# expect (\S+) (\d+)(?::(\d+))?(?: in (\S+))?/.exec(readFileSync(join(DIR, file), 'utf8'))!;
    return { file, code: m[1]!, line: Number(m[2]), column: m[3] ? Number(m[3]) : undefined, in: m[4] ?? file };
  });

describe('malformed fixtures: each problem has its code, file and line', () => {
  it.each(cases)('$file → $code at $line', async (c) => {
    const r = await compileService(c.file, fsReader(DIR), { profiles, cache });
    const d = r.diagnostics.find((x) => x.code === c.code);
    expect(d, JSON.stringify(r.diagnostics, null, 1)).toBeDefined();
    expect(d!.severity).toBe(c.code.startsWith('E_') ? 'error' : 'warning');
    expect(d!.file).toBe(c.in);
    expect(d!.line).toBe(c.line);
    if (c.column !== undefined) expect(d!.column).toBe(c.column);
    expect(d!.message.length).toBeGreaterThan(10);
  });
});
