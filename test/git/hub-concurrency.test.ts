import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openHub } from '../../src/git/index.js';
import { makeHub, type GitFixture } from '../support/git-fixtures.js';

const author = { name: 'kaidu agent', email: 'kaidu@example.invalid' };
let h: GitFixture;

beforeEach(async () => {
  h = await makeHub({ 'kaidu.yaml': 'branch: main\n', 'services/a.yaml': 'a: 1\n' });
});
afterEach(async () => h.cleanup());

describe('pushing while others push', () => {
  it('rebuilds the change on the new tip when someone pushed between our fetch and our push', async () => {
    const hub = await openHub({ url: h.url, dataDir: join(h.dir, 'agent'), branch: 'main' });
    const fetched = await hub.fetch();
    const theirs = await h.push({ 'services/b.yaml': 'b\n' }, 'someone else');
    const res = await hub.commitAndPush({ files: { 'state/host-a/s.yaml': 'ok\n' }, message: 'ours', author, trailers: { 'Kaidu-Host': 'host-a' } });
    expect(res.retries).toBe(1);
    const [ours, other, first] = await h.log();
    expect(ours).toMatchObject({ oid: res.oid, parents: [theirs], subject: 'ours' });
    expect(other).toMatchObject({ oid: theirs, parents: [fetched] });
    expect(first!.oid).toBe(fetched);
    expect(await h.files()).toEqual(['kaidu.yaml', 'services/a.yaml', 'services/b.yaml', 'state/host-a/s.yaml']);
    expect(await hub.tip()).toBe(res.oid);
  });

  it('gives up with E_GIT_PUSH_REJECTED when the retries run out, and keeps the hub intact', async () => {
    const hub = await openHub({ url: h.url, dataDir: join(h.dir, 'agent'), branch: 'main' });
    await hub.fetch();
    const theirs = await h.push({ 'services/b.yaml': 'b\n' }, 'someone else');
    const err = await hub.commitAndPush({ files: { 'state/x.yaml': 'x\n' }, message: 'ours', author }, { maxRetries: 0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_GIT_PUSH_REJECTED', message: expect.stringContaining('rejected the push 1 times') });
    expect(await h.tip()).toBe(theirs);
    // The next attempt (the next event) succeeds.
    expect((await hub.commitAndPush({ files: { 'state/x.yaml': 'x\n' }, message: 'ours', author })).oid).toBe(await h.tip());
  });

  it('five agents with their own mirrors, pushing at once, lose nothing', async () => {
    const hubs = await Promise.all([0, 1, 2, 3, 4].map((i) => openHub({ url: h.url, dataDir: join(h.dir, `agent-${i}`), branch: 'main' })));
    const base = await h.tip();
    await Promise.all(hubs.map((hub) => hub.fetch()));
    const results = await Promise.all(
      hubs.map((hub, i) => hub.commitAndPush({ files: { [`state/host-${i}/s.yaml`]: `host ${i}\n` }, message: `host-${i}`, author, trailers: { 'Kaidu-Host': `host-${i}` } }, { maxRetries: 20 })),
    );
    expect(results.reduce((n, r) => n + r.retries, 0)).toBeGreaterThan(0);
    const files = await h.files();
    for (let i = 0; i < 5; i++) expect(files).toContain(`state/host-${i}/s.yaml`);
    // One straight line of five commits on top of the base: every push was a fast-forward.
    const log = await h.log();
    expect(log.slice(0, 6).map((c) => c.oid).sort()).toEqual([...results.map((r) => r.oid!), base].sort());
    for (let i = 0; i < 5; i++) expect(log[i]!.parents).toEqual([log[i + 1]!.oid]);
  });
});
