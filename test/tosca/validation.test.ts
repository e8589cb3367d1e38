import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { fsReader, profilesReader } from '../../src/cli/fs-reader.js';

const profiles = profilesReader();
const cache = createCompileCache();
const dir = mkdtempSync(join(tmpdir(), 'kaidu-validation-'));
let n = 0;

/** Problems of a 2.0 file with one property of `type` validated by `clause`, given `value` (line 11). */
async function check(type: string, clause: string, value: string): Promise<string[]> {
  const file = `t${n++}.yaml`;
  writeFileSync(join(dir, file), [
    'tosca_definitions_version: tosca_2_0',
    'node_types:',
    '  T:',
    '    derived_from: tosca:Root',
    '    properties:',
    `      p: { type: ${type}, entry_schema: { type: any }, validation: ${clause} }`.replace(type === 'list' || type === 'map' ? '' : ', entry_schema: { type: any }', ''),
    'service_template:',
    '  node_templates:',
    '    n:',
    '      type: T',
    `      properties: { p: ${value} }`,
    '',
  ].join('\n'));
  const r = await compileService(file, fsReader(dir), { profiles, cache });
  return r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column} ${d.code}`);
}

describe('TOSCA 2.0 validation clauses', () => {
  // [type, clause, a value that passes, a value that fails]
  const cases: Array<[string, string, string, string]> = [
    ['integer', '{ $greater_than: [ $value, 1 ] }', '2', '1'],
    ['integer', '{ $greater_or_equal: [ $value, 1 ] }', '1', '0'],
    ['integer', '{ $less_than: [ $value, 1 ] }', '0', '1'],
    ['integer', '{ $less_or_equal: [ $value, 1 ] }', '1', '2'],
    ['integer', '{ $equal: [ $value, 3 ] }', '3', '4'],
    ['integer', '{ $in_range: [ $value, [ 1, 3 ] ] }', '3', '4'],
    ['integer', '{ $valid_values: [ $value, [ 1, 3 ] ] }', '3', '2'],
    ['string', '{ $matches: [ $value, "[a-z]+" ] }', 'abc', 'ab1'],
    ['string', '{ $has_prefix: [ $value, ab ] }', 'abc', 'bc'],
    ['string', '{ $has_suffix: [ $value, bc ] }', 'abc', 'ab'],
    ['string', '{ $contains: [ $value, b ] }', 'abc', 'ac'],
    ['list', '{ $contains: [ $value, b ] }', '[ a, b ]', '[ a ]'],
    ['list', '{ $has_entry: [ $value, b ] }', '[ a, b ]', '[ a ]'],
    ['map', '{ $has_entry: [ $value, b ] }', '{ x: b }', '{ x: a }'],
    ['map', '{ $has_key: [ $value, x ] }', '{ x: 1 }', '{ y: 1 }'],
    ['map', '{ $has_all_keys: [ $value, [ x, y ] ] }', '{ x: 1, y: 2 }', '{ x: 1 }'],
    ['map', '{ $has_any_key: [ $value, [ x, y ] ] }', '{ y: 2 }', '{ z: 1 }'],
    ['list', '{ $has_all_entries: [ $value, [ a, b ] ] }', '[ b, a ]', '[ a ]'],
    ['list', '{ $has_any_entry: [ $value, [ a, b ] ] }', '[ b ]', '[ c ]'],
    ['boolean', '{ $not: { $equal: [ $value, false ] } }', 'true', 'false'],
    ['boolean', '{ $xor: [ $value, true ] }', 'false', 'true'],
    ['integer', '{ $and: [ { $greater_than: [ $value, 0 ] }, { $less_than: [ $value, 9 ] } ] }', '5', '9'],
    ['integer', '{ $or: [ { $equal: [ $value, 0 ] }, { $equal: [ $value, 9 ] } ] }', '9', '5'],
    ['string', '{ $less_or_equal: [ { $length: $value }, 3 ] }', 'abc', 'abcd'],
    ['map', '{ $equal: [ { $value: [ x ] }, 1 ] }', '{ x: 1 }', '{ x: 2 }'],
  ];

  it.each(cases)('%s %s: passes %s, fails %s at the value', async (type, clause, ok, bad) => {
    expect(await check(type, clause, ok)).toEqual([]);
    expect(await check(type, clause, bad)).toEqual(['11:21 E_TOSCA_VALIDATION']);
  });

  it('reports a malformed clause at the clause, not at a value', async () => {
    // The range's own column; a range no value fits then fails the value too.
    expect(await check('integer', '{ $in_range: [ $value, [ 3, 1 ] ] }', '2')).toEqual(['6:62 E_TOSCA_WRONG_SHAPE', '11:21 E_TOSCA_VALIDATION']);
    expect(await check('integer', '{ $greter_than: [ $value, 1 ] }', '2')).toEqual(['6:41 E_TOSCA_UNKNOWN_FUNCTION']);
    expect(await check('integer', '{ $value: x }', '2')).toEqual(['6:49 E_TOSCA_WRONG_SHAPE']);
    expect(await check('integer', 'hello', '2')).toEqual(['6:39 E_TOSCA_WRONG_SHAPE']);
  });
});
