import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseServiceState, serializeServiceState, writeFileAtomic, type ServiceState } from '../../src/state/index.js';
import { tempDir } from '../support/temp-dir.js';

const sample: ServiceState = {
  schema: 'kaidu/state/v1',
  host: 'host-a',
  service: 'web',
  revision: 'abc123',
  updatedAt: '2026-11-24T07:00:00.000Z',
  nodes: {
    web: {
      type: 'kaidu:Process',
      fingerprint: 'sha256:1',
      status: 'running',
      properties: { command: ['node', 'server.js'], env: { B: '2', A: '1' } },
      attributes: { pid: 4242, started_at: '2026-11-24T07:00:00.000Z' },
      revision: 'abc123',
      appliedAt: '2026-11-24T07:00:00.000Z',
      dependsOn: ['web-port'],
    },
    'web-port': { type: 'kaidu:Port', fingerprint: 'sha256:2', status: 'running', properties: {}, attributes: { port: 20000 }, revision: 'abc123', appliedAt: '2026-11-24T07:00:00.000Z' },
  },
};

describe('state files', () => {
  it('round-trips and is deterministic', () => {
    const text = serializeServiceState(sample);
    const parsed = parseServiceState(text, 'state/host-a/web.yaml', { host: 'host-a', service: 'web' });
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.state).toEqual(sample);
    // Same content in another key order serializes to the same bytes.
    const shuffled = { ...sample, nodes: { 'web-port': sample.nodes['web-port']!, web: sample.nodes.web! } };
    expect(serializeServiceState(shuffled)).toBe(text);
    expect(text.indexOf('  web:')).toBeLessThan(text.indexOf('  web-port:'));
    expect(text).toMatch(/env:\n\s+A: "1"\n\s+B: "2"/);
  });

  it('reports a hand-edited file with file, line and column', () => {
    const text = serializeServiceState(sample).replace('status: running', 'status: sleeping');
    const parsed = parseServiceState(text, 'state/host-a/web.yaml');
    expect(parsed.state).toBeUndefined();
    const d = parsed.diagnostics[0]!;
    expect(d.code).toBe('E_STATE_STATUS');
    expect(d.file).toBe('state/host-a/web.yaml');
    const line = text.split('\n').findIndex((l) => l.includes('sleeping')) + 1;
    expect(d.line).toBe(line);
  });

  it('reports corrupt YAML and missing fields', () => {
    expect(parseServiceState('nodes: [\n', 'x.yaml').diagnostics[0]!.code).toBe('E_STATE_YAML');
    const missing = parseServiceState('schema: kaidu/state/v1\nhost: a\n', 'x.yaml');
    expect(missing.diagnostics.map((d) => d.message)).toContain('missing field "service"');
    const wrongHost = parseServiceState(serializeServiceState(sample), 'state/b/web.yaml', { host: 'host-b' });
    expect(wrongHost.diagnostics[0]!.code).toBe('E_STATE_HOST');
  });

  it('writes atomically, leaving no temp file', async () => {
    const dir = tempDir('kaidu-state-');
    const path = join(dir, 'state', 'host-a', 'web.yaml');
    await writeFileAtomic(path, 'one\n');
    await writeFileAtomic(path, 'two\n');
    expect(await readFile(path, 'utf8')).toBe('two\n');
    expect(await readdir(join(dir, 'state', 'host-a'))).toEqual(['web.yaml']);
    await writeFile(join(dir, 'blocker'), 'x');
    await expect(writeFileAtomic(join(dir, 'blocker', 'x.yaml'), 'y')).rejects.toMatchObject({ code: 'E_STATE_WRITE' });
  });
});
