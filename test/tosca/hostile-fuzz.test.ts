import { describe, expect, it } from 'vitest';
import { createCompileCache } from '../../src/tosca/index.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { seededRandom } from '../support/seeded-random.js';
import { fuzzOne, hostileDocument, type Target } from '../support/hostile-yaml.js';

describe('hostile YAML fuzz (seeded; the 10,000-document run is `npm run bench -- fuzz`)', () => {
  it('1,000 generated hostile documents through the compiler, the state reader and the settings reader: diagnostics, never an exception or an internal error', async () => {
    const rand = seededRandom(20261202);
    const profiles = profilesReader();
    const cache = createCompileCache();
    const targets: Target[] = ['template', 'state', 'settings'];
    const failures: string[] = [];
    for (let n = 0; n < 1000; n++) {
      // Big cases a tenth of the bench's size: the same kinds of input, in a test run's time.
      const text = hostileDocument(rand, targets[n % 3]!, 0.1);
      const outcome = await fuzzOne(text, profiles, cache);
      if (outcome.violations.length) failures.push(`case ${n}: ${outcome.violations.join('; ')}\n${text.slice(0, 300)}`);
    }
    expect(failures.slice(0, 5)).toEqual([]);
  }, 300_000);
});
