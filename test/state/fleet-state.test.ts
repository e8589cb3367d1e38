import { describe, expect, it } from 'vitest';
import { readFleetState } from '../../src/state/fleet-state.js';
import { memoryReader } from '../support/memory-reader.js';

const stateFile = (host: string, service: string, revision: string, status = 'running') => `schema: kaidu/state/v1
host: ${host}
service: ${service}
revision: ${revision}
updatedAt: 2026-11-24T07:00:00.000Z
nodes:
  web:
    type: kaidu:Process
    status: ${status}
    fingerprint: sha256:x
    revision: ${revision}
    appliedAt: 2026-11-24T07:00:00.000Z
    properties: {}
    attributes: {}
`;
const R1 = 'a1'.repeat(20);
const R2 = 'b2'.repeat(20);

describe('the state of the fleet at a revision', () => {
  it("a host's branch wins over state/<host>/ in the templates; a host without a branch falls back to the templates (migration)", async () => {
    const templates = memoryReader({
      'kaidu.yaml': 'branch: main\n',
      'state/a/web.yaml': stateFile('a', 'web', R1, 'failed'), // stale: a has a branch
      'state/b/web.yaml': stateFile('b', 'web', R1),
    });
    const fleet = await readFleetState({
      templates,
      stateDir: 'state',
      branches: [{ host: 'a', commit: 'c'.repeat(40), templatesRevision: R2, reader: memoryReader({ 'state/a/web.yaml': stateFile('a', 'web', R2) }) }],
    });
    expect(fleet.diagnostics).toEqual([]);
    expect(fleet.snapshot.a!.web!.nodes.web!.status).toBe('running');
    expect(fleet.snapshot.b!.web!.nodes.web!.status).toBe('running');
    expect(fleet.origins).toEqual({
      a: { source: 'branch', commit: 'c'.repeat(40), templatesRevision: R2 },
      b: { source: 'templates', commit: null, templatesRevision: R1 },
    });
  });

  it("reads a branch only below state/<its host>/: another host's files there are not its to say", async () => {
    const fleet = await readFleetState({
      templates: memoryReader({}),
      stateDir: 'state',
      branches: [{ host: 'a', commit: 'c'.repeat(40), templatesRevision: null, reader: memoryReader({ 'state/a/web.yaml': stateFile('a', 'web', R1), 'state/b/web.yaml': stateFile('b', 'web', R1) }) }],
    });
    expect(Object.keys(fleet.snapshot)).toEqual(['a']);
    expect(fleet.origins.a!.templatesRevision).toBeNull();
  });

  it('an emptied branch means no state (never a fall back to stale files in the templates); a damaged file is frozen with its location', async () => {
    const fleet = await readFleetState({
      templates: memoryReader({ 'state/a/web.yaml': stateFile('a', 'web', R1), 'state/b/web.yaml': stateFile('b', 'web', R1) }),
      stateDir: 'state',
      branches: [
        { host: 'a', commit: 'c'.repeat(40), templatesRevision: R2, reader: memoryReader({}) },
        { host: 'b', commit: 'd'.repeat(40), templatesRevision: R2, reader: memoryReader({ 'state/b/web.yaml': 'nodes: [unclosed\n' }) },
      ],
    });
    expect(fleet.snapshot.a).toBeUndefined();
    expect(fleet.origins.a).toMatchObject({ source: 'branch' });
    expect(fleet.frozen).toEqual({ b: ['web'] });
    expect(fleet.invalidFiles).toEqual(['state/b/web.yaml']);
    expect(fleet.diagnostics[0]).toMatchObject({ file: 'state/b/web.yaml', line: expect.any(Number), column: expect.any(Number) });
  });

  it('only the hosts asked for (an agent reads itself and the hosts it depends on)', async () => {
    const fleet = await readFleetState({
      templates: memoryReader({ 'state/b/web.yaml': stateFile('b', 'web', R1), 'state/c/web.yaml': stateFile('c', 'web', R1) }),
      stateDir: 'state',
      branches: [{ host: 'a', commit: 'c'.repeat(40), templatesRevision: R2, reader: memoryReader({ 'state/a/web.yaml': stateFile('a', 'web', R2) }) }],
      hosts: new Set(['a', 'c']),
    });
    expect(Object.keys(fleet.snapshot).sort()).toEqual(['a', 'c']);
  });
});
