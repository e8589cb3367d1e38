import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { fsReader, profilesReader } from '../../src/cli/fs-reader.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'tosca', 'grammar');
const profiles = profilesReader();
const cache = createCompileCache();

const targetOf = async (file: string, node: string, requirement: string) => {
  const r = await compileService(file, fsReader(DIR), { profiles, cache });
  return r.service?.nodes[node]?.requirements.find((x) => x.name === requirement)?.target;
};

describe('requirements with node filters', () => {
  it('1.3: a requirement with no target takes the first node its filter accepts, not the first of its type', async () => {
    expect(await targetOf('node-filters-valid-1.3.yaml', 'app', 'host')).toBe('big');
    expect(await targetOf('node-filters-valid-1.3.yaml', 'app_explicit', 'host')).toBe('big');
  });

  it('2.0: the condition clause picks the target by a scalar-unit capability property', async () => {
    expect(await targetOf('node-filters-2.0.yaml', 'chosen', 'host')).toBe('big');
  });
});

describe('function values across a relationship', () => {
  it('get_property of TARGET in a relationship property reads the target node', async () => {
    const r = await compileService('functions-valid-1.3.yaml', fsReader(DIR), { profiles, cache });
    expect(r.service?.nodes.disk?.requirements[0]?.relationship.properties.location).toBe('/mnt/vol-1');
  });
});
