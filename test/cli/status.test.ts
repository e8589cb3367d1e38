import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';

async function repoWith(files: Record<string, string>): Promise<string> {
  const dir = tempDir('kaidu-status-');
  await writeFile(join(dir, 'kaidu.yaml'), 'branch: main\n');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const stateFile = (nodes: string) => `schema: kaidu/state/v1\nhost: host-a\nservice: web\nrevision: working-tree\nupdatedAt: 2026-01-01T00:00:00.000Z\nnodes:${nodes}\n`;

describe('kaidu status says what is true', () => {
  it('with no state file: nothing committed to state/, not a claim about the agents', async () => {
    const r = await kaidu(['status'], await repoWith({}));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('No state: no state branch (kaidu/state/<host>) and no state file in state/ (an agent commits state/<host>/<service>.yaml to its branch kaidu/state/<host> after its first pass that has something to apply).\n');
    expect(r.stdout).not.toContain('no agent has applied anything');
  });

  it('with state files that list no node (all removed): names them', async () => {
    const r = await kaidu(['status'], await repoWith({ 'state/host-a/web.yaml': stateFile(' {}') }));
    expect(r.stdout.split('\n\n')[0]).toBe('No nodes recorded: state/host-a/web.yaml lists none (their nodes were deleted, or not applied yet).');
    // Outside git: where the state was read, and no lag claimed.
    expect(r.stdout).toMatch(/\nhost-a\s+templates branch \(not migrated\)\s+-\s+working-tree\s+unknown\n/);
  });

  it('shows a waiting node as waiting, and a revision that is not a commit id whole', async () => {
    const nodes = `
  web:
    type: kaidu:Process
    status: pending
    fingerprint: ''
    revision: working-tree
    appliedAt: 2026-01-01T00:00:00.000Z
    error: waits for web/db-port@host-b to be running
    properties: {}
    attributes: {}
  db:
    type: kaidu:Process
    status: failed
    fingerprint: sha256:x
    revision: 0123456789abcdef0123456789abcdef01234567
    appliedAt: 2026-01-01T00:00:00.000Z
    error: "exit code 3\\nboom"
    properties: {}
    attributes: {}`;
    const r = await kaidu(['status'], await repoWith({ 'state/host-a/web.yaml': stateFile(nodes) }));
    expect(r.stderr).toBe('');
    const web = r.stdout.split('\n').find((l) => /\bweb\s+Process/.test(l))!;
    expect(web).toMatch(/pending\s+waiting for web\/db-port@host-b\s+working-tree$/);
    expect(web).not.toContain('error');
    const db = r.stdout.split('\n').find((l) => /\bdb\s+Process/.test(l))!;
    expect(db).toMatch(/failed\s+error: exit code 3\s+0123456789$/);
  });

  it('status --repo with an unreachable hub gives a hint for this command, not for an agent', async () => {
    const r = await kaidu(['status', '--repo', 'http://127.0.0.1:1/hub.git'], await repoWith({}));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot be reached');
    expect(r.stderr).toContain('hint: check the URL and that the server is up, then run kaidu status again');
    expect(r.stderr).not.toMatch(/agent/);
  });
});
