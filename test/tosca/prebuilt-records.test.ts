/**
 * The profiles' readings prebuilt at build time (document/prebuilt-records.ts): the same results as
 * reading the YAML, used only when they were made from exactly the text read now, and never
 * trusted when stale, damaged, missing or made for another build.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { compileService, createCompileCache, type CompileCache } from '../../src/tosca/index.js';
import { fsReader, readOnce } from '../../src/cli/fs-reader.js';
import { buildRecordStore, openRecordStore, recordStoreKey, type PrebuiltRecords } from '../../src/tosca/document/prebuilt-records.js';
import { encodeRecord, decodeRecord, RecordCodecError } from '../../src/tosca/document/record-codec.js';
import type { SourceReader } from '../../src/tosca/model.js';
import type { FileRecord } from '../../src/tosca/document/records.js';
import type { Unit } from '../../src/tosca/loader.js';
import { memoryReader } from '../support/memory-reader.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROFILES = join(ROOT, 'profiles');
const KEY = recordStoreKey('test-build');

/** Kaidu's profiles from disk, with a store attached (or none), as the CLI's profilesReader makes them. */
function profiles(prebuilt?: PrebuiltRecords, change?: (path: string, text: string) => string): SourceReader {
  const disk = fsReader(PROFILES);
  const reader: SourceReader = readOnce({
    readFile: async (path) => {
      const f = await disk.readFile(path);
      return f && change ? { path, text: change(path, f.text), id: `${f.id}+changed` } : f;
    },
    listDir: (path) => disk.listDir(path),
  });
  if (prebuilt) reader.prebuilt = prebuilt;
  return reader;
}

async function store(): Promise<Buffer> {
  const built = await buildRecordStore(profiles(), KEY);
  expect(built.skipped).toEqual([]);
  expect(built.files.sort()).toEqual(['kaidu/profile.yaml', 'tosca-simple-1.0/normative.yaml', 'tosca-simple-1.1/normative.yaml', 'tosca-simple-1.2/normative.yaml', 'tosca-simple-1.3/normative.yaml', 'tosca-simple-2.0/profile.yaml']);
  return built.bytes;
}

/** Every TOSCA file of the examples and the test fixtures (valid and broken ones). */
function corpus(): string[] {
  const out: string[] = [];
  for (const top of ['examples', 'test/fixtures/tosca']) {
    for (const e of readdirSync(join(ROOT, top), { recursive: true, withFileTypes: true })) {
      if (e.isFile() && /\.ya?ml$/.test(e.name) && !(e.parentPath ?? e.path).includes('.kaidu')) out.push(join(e.parentPath ?? e.path, e.name));
    }
  }
  return out.sort();
}

/** Each file compiled on its own (one cache for all, as `validate` does): results as JSON. */
async function compileAll(files: string[], reader: SourceReader, cache: CompileCache = createCompileCache()): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    const r = await compileService(file.slice(dirname(file).length + 1), fsReader(dirname(file), { confined: false }), { profiles: reader, cache });
    out.push(`${file}\n${JSON.stringify(r)}`);
  }
  return out;
}

/** The profile files a compile read from their YAML (the parse cache keeps those, not prebuilt ones). */
const parsedProfiles = (cache: CompileCache) => [...(cache as unknown as { docs: Map<string, unknown> }).docs.keys()].filter((k) => k.startsWith('profiles:'));

const ONE_13 = 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    c:\n      type: tosca.nodes.Compute\n      capabilities:\n        host:\n          properties: { num_cpus: 2, mem_size: 2 GB }\n';

/** Where the bytes of a file's entry lie in the store (found by content, as the serializer lays strings out as it likes). */
function entryOffset(store: Uint8Array, path: string): number {
  const entry = (deserialize(store) as { tosca: Record<string, { bytes: Uint8Array }> }).tosca[path]!.bytes;
  return Buffer.from(store).indexOf(Buffer.from(entry.subarray(200, 264))) + 20;
}

describe('prebuilt profile records', () => {
  it('give the same results as the YAML for every example and fixture, and are used', async () => {
    const files = corpus();
    expect(files.length).toBeGreaterThan(50);
    const prebuilt = openRecordStore(await store(), KEY)!;
    expect(prebuilt).toBeDefined();
    const cache = createCompileCache();
    const fromStore = await compileAll(files, profiles(prebuilt), cache);
    const yamlCache = createCompileCache();
    const fromYaml = await compileAll(files, profiles(), yamlCache);
    // Problems included: the comparison is not of clean results only.
    expect(fromYaml.join('\n')).toMatch(/"severity":"error"/);
    for (let i = 0; i < files.length; i++) expect(fromStore[i]).toBe(fromYaml[i]);
    expect(parsedProfiles(yamlCache).length).toBeGreaterThanOrEqual(3);
    expect(parsedProfiles(cache)).toEqual([]);
  });

  it('a record decoded is the record read, linked to its new unit, with its calls where they were written', async () => {
    const bytes = await store();
    const prebuilt = openRecordStore(bytes, KEY)!;
    const text = readFileSync(join(PROFILES, 'kaidu/profile.yaml'), 'utf8');
    const hit = prebuilt.lookup('kaidu/profile.yaml', text)!;
    expect(hit.versionText).toBe('tosca_2_0');
    const unit = { marker: 'unit' } as unknown as Unit;
    const record = hit.record(unit);
    const interfaces = Object.values(record.types).flat().flatMap((t) => [...t.interfaces, ...t.artifacts, ...t.requirements]);
    expect(interfaces.length).toBeGreaterThan(0);
    for (const i of interfaces) expect(i.unit).toBe(unit);
  });

  it("the profiles' index is kept as data, for its text only", async () => {
    const prebuilt = openRecordStore(await store(), KEY)!;
    const text = readFileSync(join(PROFILES, 'index.yaml'), 'utf8');
    expect(prebuilt.data('index.yaml', text)).toEqual(parseYaml(text));
    expect(prebuilt.data('index.yaml', `${text}\n# changed\n`)).toBeUndefined();
    expect(prebuilt.data('other.yaml', text)).toBeUndefined();
  });

  it('a changed profile is read from its YAML, and the change is seen', async () => {
    const prebuilt = openRecordStore(await store(), KEY)!;
    // tosca.nodes.Compute of 1.3 gets a required property with no default: a compile must miss it.
    const change = (path: string, text: string) => (path === 'tosca-simple-1.3/normative.yaml' ? text.replace(/(  tosca\.nodes\.Compute:\n    derived_from: tosca\.nodes\.Abstract\.Compute\n)/, '$1    properties:\n      added_by_test: { type: string, required: true }\n') : text);
    expect(change('tosca-simple-1.3/normative.yaml', readFileSync(join(PROFILES, 'tosca-simple-1.3/normative.yaml'), 'utf8'))).toContain('added_by_test');
    const cache = createCompileCache();
    const changed = await compileService('s.yaml', memoryReader({ 's.yaml': ONE_13 }), { profiles: profiles(prebuilt, change), cache });
    const yaml = await compileService('s.yaml', memoryReader({ 's.yaml': ONE_13 }), { profiles: profiles(undefined, change) });
    expect(JSON.stringify(changed)).toBe(JSON.stringify(yaml));
    expect(changed.diagnostics.map((d) => d.message).join('\n')).toContain('added_by_test');
    // Only the changed file was read from YAML; the others still came from the store.
    expect(parsedProfiles(cache)).toEqual(['profiles:tosca-simple-1.3/normative.yaml']);
  });

  it('a byte damaged anywhere in the store is found: the store or that entry is refused, no record read differs', async () => {
    const bytes = await store();
    const texts = ['index.yaml', 'kaidu/profile.yaml', 'tosca-simple-1.0/normative.yaml', 'tosca-simple-1.1/normative.yaml', 'tosca-simple-1.2/normative.yaml', 'tosca-simple-1.3/normative.yaml', 'tosca-simple-2.0/profile.yaml'].map((p): [string, string] => [p, readFileSync(join(PROFILES, p), 'utf8')]);
    const unit = {} as Unit;
    const good = openRecordStore(bytes, KEY)!;
    const read = (s: PrebuiltRecords | undefined) => texts.map(([p, t]) => (p === 'index.yaml' ? s?.data(p, t) : s?.lookup(p, t)?.record(unit)));
    const expected = read(good);
    expect(expected.every((r) => r !== undefined)).toBe(true);
    let positions = 0;
    for (let at = 0; at < bytes.length; at += 1201) {
      const b = Buffer.from(bytes);
      b[at] = b[at]! ^ 0x04;
      const got = read(openRecordStore(b, KEY));
      expect(got.some((r) => r === undefined), `damage at byte ${at} went unnoticed`).toBe(true);
      for (let i = 0; i < got.length; i++) if (got[i] !== undefined) expect(got[i], `${texts[i]![0]} with damage at byte ${at}`).toEqual(expected[i]);
      positions++;
    }
    expect(positions).toBeGreaterThan(50);
  });

  it('a damaged, truncated, foreign or empty store is not trusted: the YAML is read, with the same results', async () => {
    const bytes = await store();
    const expected = JSON.stringify(await compileService('s.yaml', memoryReader({ 's.yaml': ONE_13 }), { profiles: profiles() }));
    const cases: Array<[string, Uint8Array, string]> = [
      ['truncated', bytes.subarray(0, bytes.length - 1000), KEY],
      ['empty', new Uint8Array(0), KEY],
      ['not a store', Buffer.from('{"format":"kaidu-profile-records/3"}'), KEY],
      ['another build', bytes, recordStoreKey('other-build')],
    ];
    for (const [name, b, key] of cases) {
      const prebuilt = openRecordStore(b, key);
      expect(prebuilt, name).toBeUndefined();
      const cache = createCompileCache();
      const r = await compileService('s.yaml', memoryReader({ 's.yaml': ONE_13 }), { profiles: profiles(prebuilt), cache });
      expect(JSON.stringify(r), name).toBe(expected);
      expect(parsedProfiles(cache).length, name).toBeGreaterThanOrEqual(3);
    }
    // A damaged entry: that file is read from its YAML, the others from the store, same results.
    const at = entryOffset(bytes, 'tosca-simple-1.3/normative.yaml');
    expect(at).toBeGreaterThan(0);
    const damaged = Buffer.from(bytes);
    damaged[at] = damaged[at]! ^ 0x01;
    const cache = createCompileCache();
    const r = await compileService('s.yaml', memoryReader({ 's.yaml': ONE_13 }), { profiles: profiles(openRecordStore(damaged, KEY)), cache });
    expect(JSON.stringify(r)).toBe(expected);
    expect(parsedProfiles(cache)).toEqual(['profiles:tosca-simple-1.3/normative.yaml']);
  });

  it('refuses to encode what is not plain data, and keeps what JSON would lose', () => {
    const unit = {} as Unit;
    const base = (): FileRecord => ({ version: 'tosca_2_0', versionAt: 0, imports: [], functions: [], repositories: [], types: { data: [], capability: [], interface: [], artifact: [], relationship: [], node: [], group: [], policy: [] } });
    class Thing {}
    expect(() => encodeRecord({ ...base(), extra: new Thing() } as unknown as FileRecord, unit)).toThrow(RecordCodecError);
    expect(() => encodeRecord({ ...base(), extra: () => 1 } as unknown as FileRecord, unit)).toThrow(RecordCodecError);
    const shared = { n: 1 };
    const odd = { ...base(), extra: { u: undefined, nan: NaN, inf: -Infinity, a: shared, b: shared, m: new Map([['k', 1]]), s: new Set(['x']), self: unit } } as unknown as FileRecord;
    const other = { other: true } as unknown as Unit;
    const back = decodeRecord(encodeRecord(odd, unit), other) as unknown as { extra: Record<string, unknown> };
    expect(Object.keys(back.extra)).toContain('u');
    expect(back.extra.nan).toBeNaN();
    expect(back.extra.inf).toBe(-Infinity);
    expect(back.extra.a).toBe(back.extra.b);
    expect(back.extra.m).toEqual(new Map([['k', 1]]));
    expect(back.extra.s).toEqual(new Set(['x']));
    expect(back.extra.self).toBe(other);
    // The record encoded is left as it was.
    expect((odd as unknown as { extra: { self: unknown } }).extra.self).toBe(unit);
  });
});
