import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { notifyAgents } from '../../src/review/notify.js';
import { fleetTemplates, hostName } from '../support/relay-fleet.js';
import { tempDir } from '../support/temp-dir.js';
import { startReceiver, type Receiver } from './http-receiver.js';

const env = { ...process.env, GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'd@example.com', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'd@example.com', GIT_CONFIG_NOSYSTEM: '1' };

/** A bare hub with the given files on main, and a state branch for h0001; returns the commits. */
function hubWith(files: Record<string, string>): { gitdir: string; main: string; state: string } {
  const root = tempDir('kaidu-notify-fleet-');
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env }).toString().trim();
  git(root, 'init', '-q', '-b', 'main', 'work');
  const work = join(root, 'work');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(work, path, '..'), { recursive: true });
    writeFileSync(join(work, path), text);
  }
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'templates');
  const main = git(work, 'rev-parse', 'HEAD');
  git(work, 'checkout', '-q', '--orphan', 'kaidu/state/h0001');
  git(work, 'rm', '-q', '-r', '--cached', '.');
  mkdirSync(join(work, 'state', 'h0001'), { recursive: true });
  writeFileSync(join(work, 'state', 'h0001', 'fleet.yaml'), 'schema: kaidu/state/v1\n');
  git(work, 'add', 'state');
  git(work, 'commit', '-q', '-m', 'state of h0001');
  const state = git(work, 'rev-parse', 'HEAD');
  git(root, 'clone', '-q', '--bare', 'work', 'hub.git');
  git(join(root, 'hub.git'), 'fetch', '-q', join(root, 'work'), 'kaidu/state/h0001:kaidu/state/h0001');
  // As on a hub: HEAD names the deployed branch.
  git(join(root, 'hub.git'), 'symbolic-ref', 'HEAD', 'refs/heads/main');
  return { gitdir: join(root, 'hub.git'), main, state };
}

const receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});

async function agents(n: number): Promise<Receiver[]> {
  for (let i = 0; i < n; i++) receivers.push(await startReceiver());
  return receivers;
}

describe('kaidu notify with a fleet', () => {
  it('calls only the named roots, with before, and nobody else', async () => {
    const r = await agents(5);
    const hosts = r.map((x, i) => `    ${hostName(i)}: { url: "${x.url}" }`).join('\n');
    const { gitdir, main } = hubWith({ ...fleetTemplates(5), 'kaidu.yaml': `fleet:\n  roots: [h0003, h0001]\n  hosts:\n${hosts}\n` });
    const before = 'b'.repeat(40);
    const result = await notifyAgents({ repo: { gitdir }, rev: main, ref: 'refs/heads/main', before, token: 't' });
    expect(result.agents.map((a) => [a.host, a.ok])).toEqual([['h0003', true], ['h0001', true]]);
    expect(r.map((x) => x.received.length)).toEqual([0, 1, 0, 1, 0]);
    expect(JSON.parse(r[1]!.received[0]!.raw.toString())).toEqual({ ref: 'refs/heads/main', after: main, before });
  });

  it('without named roots, compiles the templates and calls the tree\'s default roots (the first three hosts by name)', async () => {
    const r = await agents(5);
    const hosts = r.map((x, i) => `    ${hostName(i)}: { url: "${x.url}" }`).join('\n');
    // The templates name hosts 1..4 only: h0000 has a URL but is not in the fleet.
    const templates = fleetTemplates(5);
    templates['services/fleet.yaml'] = templates['services/fleet.yaml']!.replace(/    h0000:\n      type: kaidu:Host\n/, '').replace(/    d0:\n[\s\S]*?(?=    d1:)/, '');
    const { gitdir, main } = hubWith({ ...templates, 'kaidu.yaml': `fleet:\n  hosts:\n${hosts}\n` });
    const result = await notifyAgents({ repo: { gitdir }, rev: main, profiles: profilesReader() });
    expect(result.skipped).toBeUndefined();
    expect(result.fleet).toEqual({ hosts: 4, roots: ['h0001', 'h0002', 'h0003'] });
    expect(r.map((x) => x.received.length)).toEqual([0, 1, 1, 1, 0]);
  });

  it('tells the roots about a host\'s state branch, reading the settings from the templates', async () => {
    const r = await agents(3);
    const hosts = r.map((x, i) => `    ${hostName(i)}: { url: "${x.url}" }`).join('\n');
    const { gitdir, state } = hubWith({ ...fleetTemplates(3), 'kaidu.yaml': `fleet:\n  roots: [h0000]\n  hosts:\n${hosts}\n` });
    const result = await notifyAgents({ repo: { gitdir }, rev: state, ref: 'refs/heads/kaidu/state/h0001' });
    expect(result.agents.map((a) => a.host)).toEqual(['h0000']);
    expect(JSON.parse(r[0]!.received[0]!.raw.toString())).toEqual({ ref: 'refs/heads/kaidu/state/h0001', after: state });
    // Other refs still start nothing.
    expect((await notifyAgents({ repo: { gitdir }, rev: state, ref: 'refs/heads/kaidu/state/../x' })).skipped).toContain('not the deployed branch');
  });
});
