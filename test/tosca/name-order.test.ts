import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compareNames, rootCollation } from '../../src/tosca/name-order.js';

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

describe('compareNames', () => {
  it('orders as localeCompare does, for simple names and others (a seeded sample of many pairs)', () => {
    // the alphabet of the fast path, and characters where code-unit order and the root collation disagree
    const alphabet = '-./0123456789abcdefghijklmnopqrstuvwxyz_:ABZ é';
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const word = (simpleOnly: boolean) => Array.from({ length: rand(7) }, () => alphabet[rand(simpleOnly ? 39 : alphabet.length)]).join('');
    for (let i = 0; i < 20000; i++) {
      const simple = i % 2 === 0;
      const a = word(simple);
      const b = word(simple);
      expect([a, b, sign(compareNames(a, b))]).toEqual([a, b, sign(a.localeCompare(b))]);
    }
  });

  it('sorts names with upper case, underscores or colons by the collation, not by code units', () => {
    expect(['b', 'A', 'a_b', 'a-b'].sort(compareNames)).toEqual(['A', 'a_b', 'a-b', 'b']);
    expect(['b', 'A', 'a_b', 'a-b'].sort()).not.toEqual(['A', 'a_b', 'a-b', 'b']);
  });

  it('takes the fast path only in locales that collate like the root', () => {
    expect(rootCollation({})).toBe(true);
    expect(rootCollation({ LANG: 'C.UTF-8' })).toBe(true);
    expect(rootCollation({ LANG: 'en_US.UTF-8' })).toBe(true);
    expect(rootCollation({ LANG: 'POSIX' })).toBe(true);
    expect(rootCollation({ LANG: 'da_DK.UTF-8' })).toBe(false);
    expect(rootCollation({ LANG: 'en_US.UTF-8', LC_MESSAGES: 'da_DK.UTF-8' })).toBe(false);
    expect(rootCollation({ LANG: 'da_DK.UTF-8', LC_ALL: 'C' })).toBe(true);
    expect(rootCollation({ LANG: 'lt_LT.UTF-8', LC_ALL: '' })).toBe(false);
  });

  it('in a Danish locale "aa" still sorts after "z", as localeCompare puts it there (a child process with that locale)', () => {
    // the built module (tests run after `npm run build`)
    const mod = fileURLToPath(new URL('../../dist/tosca/name-order.js', import.meta.url));
    const script = `const { compareNames } = await import(${JSON.stringify(mod)}); console.log(JSON.stringify([['aa', 'z'].sort(compareNames), ['aa', 'z'].sort((a, b) => a.localeCompare(b))]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, LC_ALL: 'da_DK.UTF-8' }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [ours, icu] = JSON.parse(r.stdout) as [string[], string[]];
    expect(icu).toEqual(['z', 'aa']);
    expect(ours).toEqual(icu);
  });
});
