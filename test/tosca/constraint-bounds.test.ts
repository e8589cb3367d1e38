/**
 * 1.3 numeric bound constraints (`greater_or_equal: 1`, `less_than: 4 GB`, ...) are checked
 * without the general validation path (values.ts `boundsOf`): the same verdicts and messages, in
 * the same order, as constraints that take the general path, for integers, floats and scalar units.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { fsReader, profilesReader } from '../../src/cli/fs-reader.js';

const profiles = profilesReader();
const cache = createCompileCache();
const dir = mkdtempSync(join(tmpdir(), 'kaidu-bounds-'));
let n = 0;

/** Error messages of a 1.3 file with one property `p` of `type` with `constraints`, given `value` on two nodes. */
async function check(type: string, constraints: string, value: string): Promise<string[]> {
  const file = `b${n++}.yaml`;
  writeFileSync(join(dir, file), [
    'tosca_definitions_version: tosca_simple_yaml_1_3',
    'node_types:',
    '  T:',
    '    derived_from: tosca.nodes.Root',
    '    properties:',
    `      p: { type: ${type}, constraints: ${constraints} }`,
    'topology_template:',
    '  node_templates:',
    // Two nodes: the second one uses the bounds worked out for the first.
    ...['a', 'b'].flatMap((name) => [`    ${name}:`, '      type: T', `      properties: { p: ${value} }`]),
    '',
  ].join('\n'));
  const r = await compileService(file, fsReader(dir), { profiles, cache });
  return r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);
}

const at = (message: string) => [`11:21 E_TOSCA_VALIDATION node "a" (T) property "p": ${message}`, `14:21 E_TOSCA_VALIDATION node "b" (T) property "p": ${message}`];

describe('1.3 numeric bound constraints', () => {
  it.each([
    ['greater_than', '1', '2', '1'],
    ['greater_or_equal', '1', '1', '0'],
    ['less_than', '1', '0', '1'],
    ['less_or_equal', '1', '1', '2'],
  ])('integer %s %s: passes %s, fails %s with the constraint named', async (op, limit, ok, bad) => {
    expect(await check('integer', `[ { ${op}: ${limit} } ]`, ok)).toEqual([]);
    expect(await check('integer', `[ { ${op}: ${limit} } ]`, bad)).toEqual(at(`${bad} violates the constraint ${op}: ${limit}`));
  });

  it('compares scalar units by their normalized number, naming the literal as written', async () => {
    expect(await check('scalar-unit.size', '[ { greater_or_equal: 1 GB } ]', '1000 MB')).toEqual([]);
    expect(await check('scalar-unit.size', '[ { greater_or_equal: 1 GB } ]', '999 MB')).toEqual(at('999000000 violates the constraint greater_or_equal: "1 GB"'));
    expect(await check('float', '[ { less_than: 0.5 } ]', '0.25')).toEqual([]);
    expect(await check('float', '[ { less_than: 0.5 } ]', '0.5')).toEqual(at('0.5 violates the constraint less_than: 0.5'));
  });

  it('reports every bound a value breaks, in the order written', async () => {
    expect(await check('integer', '[ { greater_than: 5 }, { less_or_equal: 2 } ]', '3')).toEqual([
      'node "a" (T) property "p": 3 violates the constraint greater_than: 5',
      'node "a" (T) property "p": 3 violates the constraint less_or_equal: 2',
      'node "b" (T) property "p": 3 violates the constraint greater_than: 5',
      'node "b" (T) property "p": 3 violates the constraint less_or_equal: 2',
    ].map((m) => `${m.includes('"a"') ? '11:21' : '14:21'} E_TOSCA_VALIDATION ${m}`));
  });

  it('mixed with a constraint that is not a bound, or a literal that is not a number, takes the general path with the same verdicts', async () => {
    expect(await check('integer', '[ { greater_or_equal: 1 }, { valid_values: [ 1, 3 ] } ]', '0')).toEqual([
      ...at('0 violates the constraint greater_or_equal: 1').slice(0, 1),
      '11:21 E_TOSCA_VALIDATION node "a" (T) property "p": 0 violates the constraint valid_values: [1,3]',
      ...at('0 violates the constraint greater_or_equal: 1').slice(1),
      '14:21 E_TOSCA_VALIDATION node "b" (T) property "p": 0 violates the constraint valid_values: [1,3]',
    ]);
    // A literal the general path cannot compare decides nothing for the values (no verdict either
    // way); the operand itself is refused once, at its place in the definition (1.3 §3.6.3).
    expect(await check('integer', '[ { greater_than: ten } ]', '3')).toEqual(['6:58 E_TOSCA_VALUE_TYPE greater_than in the constraint of property "p" of T: expected an integer, got the string "ten"']);
  });
});
