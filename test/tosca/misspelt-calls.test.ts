import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { fsReader, profilesReader } from '../../src/cli/fs-reader.js';
import { misspeltCall } from '../../src/tosca/functions/bare-calls.js';
import type { Value } from '../../src/tosca/model.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'tosca', 'grammar');
const profiles = profilesReader();
const cache = createCompileCache();

async function diagnostics(file: string): Promise<string[]> {
  const r = await compileService(file, fsReader(DIR), { profiles, cache });
  return r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`);
}

describe('a one-key map close to a function (functions/bare-calls.ts)', () => {
  it('is a misspelt call only when its value is written as that function\'s arguments', () => {
    const meant = (v: Value) => misspeltCall(v)?.near;
    expect(meant({ get_atribute: ['SELF', 'tosca_id'] })).toBe('get_attribute');
    expect(meant({ conact: ['a', 'b'] })).toBe('concat');
    expect(meant({ get_inptu: 'port' })).toBe('get_input');
    expect(meant({ get_inptu: ['port', 0] })).toBe('get_input');
    expect(meant({ tokken: ['a,b', ',', 0] })).toBe('token');
    expect(meant({ get_proprety: ['SELF', { $fn: 'get_input', args: ['name'] }] })).toBe('get_property');
    // token takes a list of three, concat a list, get_property at least two names, join a list first.
    expect(meant({ tokens: 5 })).toBeUndefined();
    expect(meant({ tokens: ['a', 'b'] })).toBeUndefined();
    expect(meant({ tokens: ['a', ',', -1] })).toBeUndefined();
    expect(meant({ concats: 1 })).toBeUndefined();
    expect(meant({ concats: [[1]] })).toBeUndefined();
    expect(meant({ joins: 2 })).toBeUndefined();
    expect(meant({ get_properties: 'all' })).toBeUndefined();
    expect(meant({ get_properties: ['SELF'] })).toBeUndefined();
    expect(meant({ get_inputs: [1, 2] })).toBeUndefined();
    // Not one key, a real call, a `$` name (the evaluator's), a key close to nothing.
    expect(meant({ get_atribute: ['SELF', 'x'], other: 1 })).toBeUndefined();
    expect(meant({ get_attribute: ['SELF', 'x'] })).toBeUndefined();
    expect(meant({ $get_atribute: ['SELF', 'x'] })).toBeUndefined();
    expect(meant({ weight: ['SELF', 'x'] })).toBeUndefined();
  });

  it('is quiet where it is not written as the arguments, typed or untyped', async () => {
    expect(await diagnostics('function-like-maps-1.3.yaml')).toEqual([]);
  });

  it('where a type governs the value: an error or a warning at the map\'s key, not at the property', async () => {
    const d = await diagnostics('function-typos-1.3.yaml');
    expect(d).toContain('39:20 E_TOSCA_UNKNOWN_FUNCTION');
    // Block style: the key is on the line after the property's.
    expect(d).toContain('45:11 E_TOSCA_UNKNOWN_FUNCTION');
    expect(d).toContain('43:21 W_TOSCA_FUNCTION_LIKE_MAP');
    // { tokens: 5 } for an integer is the map it is.
    expect(d).toContain('46:9 E_TOSCA_VALUE_TYPE');
    expect(d.filter((x) => x.startsWith('46:'))).toEqual(['46:9 E_TOSCA_VALUE_TYPE']);
  });

  it('where no type governs the value (inputs, artifact properties, outputs, workflows): an error at its key', async () => {
    const d = await diagnostics('function-typos-untyped-1.3.yaml');
    expect(d.filter((x) => x.includes(' E_'))).toEqual(
      ['26:20', '36:24', '42:19', '43:37', '44:25', '45:26', '51:21', '54:16', '57:9', '61:42', '62:44', '71:27', '73:62'].map((at) => `${at} E_TOSCA_UNKNOWN_FUNCTION`),
    );
  });

  it('2.0: a misspelt $call is reported once, at the call, also where nothing evaluates it', async () => {
    const d = await diagnostics('function-typos-untyped-2.0.yaml');
    expect(d.filter((x) => x.includes(' E_'))).toEqual(
      ['26:18', '36:22', '42:19', '43:35', '44:25', '50:19', '53:14', '57:42', '58:38', '66:25'].map((at) => `${at} E_TOSCA_UNKNOWN_FUNCTION`),
    );
  });
});

describe('a misspelt call in an output', () => {
  it('is reported once: by the output\'s type when it has one, else as untyped', async () => {
    expect(await diagnostics('output-typos-1.3.yaml')).toEqual(['14:16 E_TOSCA_UNKNOWN_FUNCTION', '16:16 E_TOSCA_UNKNOWN_FUNCTION', '19:16 W_TOSCA_FUNCTION_LIKE_MAP']);
  });
});

describe('a misspelt call in a policy trigger\'s action', () => {
  it('is reported at the call: 1.3 activities\' inputs, a 1.2 operation definition\'s inputs', async () => {
    expect(await diagnostics('trigger-function-typos-1.3.yaml')).toEqual(['37:30 E_TOSCA_UNKNOWN_FUNCTION']);
    expect(await diagnostics('trigger-function-typos-1.2.yaml')).toEqual(['26:26 E_TOSCA_UNKNOWN_FUNCTION']);
  });
});
