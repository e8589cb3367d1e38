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
