import { expect, it } from 'vitest';
import { loadRepository, ServiceMemo } from '../../src/repository/index.js';
import { createCompileCache } from '../../src/tosca/index.js';
import type { SourceReader } from '../../src/tosca/model.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { memoryReader } from '../support/memory-reader.js';

const svc = (i: number, cmd = 'sleep') => `tosca_definitions_version: tosca_2_0\nservice_template:\n  node_templates:\n    h: { type: kaidu:Host, properties: { name: host-${i % 3} } }\n    p: { type: kaidu:Process, properties: { command: [${cmd}, '${i}'] }, requirements: [ { host: h } ] }\n`;

it('a one-file change recompiles only the service that reads it', async () => {
  const files: Record<string, string> = { 'kaidu.yaml': 'branch: main\n' };
  for (let i = 0; i < 50; i++) files[`services/s${i}.yaml`] = svc(i);
  const reads: string[] = [];
  const counting = (): SourceReader => {
    const inner = memoryReader(files);
    const withIds = { ...inner, fileId: async (p: string) => (await inner.readFile(p))?.id };
    return { ...withIds, readFile: async (p) => (reads.push(p), inner.readFile(p)), fileId: withIds.fileId };
  };
  const memo = new ServiceMemo();
  const cache = createCompileCache();
  const profiles = profilesReader();
  const first = await loadRepository(counting(), { profiles, memo, cache });
  expect(first.services).toHaveLength(50);
  expect(reads.filter((r) => r.startsWith('services/'))).toHaveLength(50);
  files['services/s7.yaml'] = svc(7, 'sleepier');
  reads.length = 0;
  const second = await loadRepository(counting(), { profiles, memo, cache });
  expect(reads.filter((r) => r.startsWith('services/'))).toEqual(['services/s7.yaml']);
  expect(second.services.find((s) => s.name === 's7')!.nodes.p!.properties.command).toEqual(['sleepier', '7']);
  expect(second.topology.nodes['s8/p']!.host).toBe('host-2');
});

it('told what a tree diff changed, the memo trusts the rest without looking up a file id', async () => {
  const files: Record<string, string> = { 'kaidu.yaml': 'branch: main\n' };
  for (let i = 0; i < 20; i++) files[`services/s${i}.yaml`] = svc(i);
  // s3 uses a profile of the repository that is not there yet: it searches profiles/ and fails
  files['services/s3.yaml'] = `tosca_definitions_version: tosca_2_0\nimports: [ { profile: acme.base:1.0 } ]\nservice_template:\n  node_templates:\n    h: { type: kaidu:Host }\n    p: { type: Thing, requirements: [ { host: h } ] }\n`;
  files['profiles/other.yaml'] = 'tosca_definitions_version: tosca_2_0\nprofile: other:1.0\n';
  let idLookups = 0;
  const reads: string[] = [];
  const reader = (): SourceReader => {
    const inner = memoryReader(files);
    return { ...inner, readFile: async (p) => (reads.push(p), inner.readFile(p)), fileId: async (p) => (idLookups++, (await inner.readFile(p))?.id) };
  };
  const memo = new ServiceMemo();
  const cache = createCompileCache();
  const profiles = profilesReader();
  const first = await loadRepository(reader(), { profiles, memo, cache, revision: 'r1' });
  expect(first.failedServices).toEqual(['s3']);
  expect(memo.revision).toBe('r1');

  files['services/s7.yaml'] = svc(7, 'sleepier');
  idLookups = 0;
  reads.length = 0;
  const second = await loadRepository(reader(), { profiles, memo, cache, revision: 'r2', changedSince: { revision: 'r1', paths: ['services/s7.yaml'] } });
  expect(idLookups).toBe(0);
  expect(reads.filter((r) => r.startsWith('services/'))).toEqual(['services/s7.yaml']);
  expect(second.services.find((s) => s.name === 's7')!.nodes.p!.properties.command).toEqual(['sleepier', '7']);

  // a profile file added where s3 looked for its profile: s3 is compiled again, and now works
  files['profiles/acme.yaml'] = 'tosca_definitions_version: tosca_2_0\nprofile: acme.base:1.0\nnode_types:\n  Thing: { derived_from: kaidu:Process, properties: { command: { type: list, default: [ sleep, "1" ] } } }\n';
  reads.length = 0;
  const third = await loadRepository(reader(), { profiles, memo, cache, revision: 'r3', changedSince: { revision: 'r2', paths: ['profiles/acme.yaml'] } });
  expect(reads).toContain('services/s3.yaml');
  expect(third.failedServices).toEqual([]);

  // a diff from another revision than the memo's last one is not trusted: ids are compared
  files['services/s9.yaml'] = svc(9, 'sleepiest');
  idLookups = 0;
  const fourth = await loadRepository(reader(), { profiles, memo, cache, revision: 'r5', changedSince: { revision: 'r4', paths: [] } });
  expect(idLookups).toBeGreaterThan(0);
  expect(fourth.services.find((s) => s.name === 's9')!.nodes.p!.properties.command).toEqual(['sleepiest', '9']);
});
