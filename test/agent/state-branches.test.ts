/**
 * Agents write their state to their own branch (`kaidu/state/<host>`), read only the branches
 * they need, and take over a repository whose state is still on the templates branch.
 * Real agents (child processes), a real git http-backend hub, real managed processes.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, startHarness, webService, type Harness, type RunningAgent, WEB_DB_SERVICE } from '../support/agent-harness.js';

const exec = promisify(execFile);
const KAIDU_YAML = 'branch: main\n';
const FAST_RETRY = ['--retry-base-ms', '100', '--retry-max-ms', '800'];

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const git = async (cwd: string, ...args: string[]) => (await exec('git', ['-c', 'user.name=Op', '-c', 'user.email=op@example.invalid', ...args], { cwd })).stdout.trim();
const hubDir = (harness: Harness) => join(harness.dir, 'hub', 'hub.git');

interface Status {
  seen: string | null;
  lastPass: { result: string } | null;
  stateRepairs: unknown[];
}
const status = async (a: RunningAgent) => (await (await fetch(`${a.url}/status`)).json()) as Status;

interface StatusJson {
  nodes: { host: string; node: string; status: string }[];
  hosts: { host: string; source: string; stateCommit: string | null; templatesRevision: string | null; behind: number | null }[];
  templatesRevision: string;
}
/** `kaidu status --repo URL --json`; exit code 1 (state files with errors) is expected only when `problems`. */
async function kaiduStatus(url: string, problems = false): Promise<StatusJson> {
  const r = await exec(process.execPath, [BIN, 'status', '--repo', url, '--json']).then(
    (x) => ({ code: 0, stdout: x.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
  expect(r.code).toBe(problems ? 1 : 0);
  return JSON.parse(r.stdout) as StatusJson;
}

/** Branches straight into the hub's repository (one `git fast-import`), each a root commit with one file. */
async function branchesOnHub(harness: Harness, names: string[]): Promise<void> {
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const stream = names.map((n) => `commit refs/heads/${n}\ncommitter Other <o@example.invalid> 1700000000 +0000\n${data(`state of ${n}\n`)}M 100644 inline state/${n.split('/').pop()}/other.yaml\n${data('not valid state: this host is not in the templates\n')}`).join('');
  await new Promise<void>((resolve, reject) => {
    const child = execFile('git', ['fast-import', '--quiet'], { cwd: hubDir(harness) }, (err) => (err ? reject(err) : resolve()));
    child.stdin!.end(stream);
  });
}

describe('agents and their state branches', () => {
  it('each host writes only kaidu/state/<host>, recording the templates revision; the templates branch gets no agent commit; an agent fetches only its own and its dependencies’ branches of 32', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web-db.yaml': WEB_DB_SERVICE });
    await branchesOnHub(h, Array.from({ length: 30 }, (_, i) => `kaidu/state/other-${i}`));
    const a = await h.startAgent('host-a');
    const b = await h.startAgent('host-b');
    await Promise.all([h.waitReady(a), h.waitReady(b)]);
    const state = await h.until('both hosts running', async () => {
      const s = await h!.state();
      return s['host-a']?.['web-db']?.nodes.web?.status === 'running' && s['host-b']?.['web-db']?.nodes.db?.status === 'running' ? s : undefined;
    });
    // web got db's address through host-b's state branch.
    expect(JSON.stringify(state['host-a']!['web-db']!.nodes.web)).toContain(String(state['host-b']!['web-db']!.nodes['db-port']!.attributes.port));

    const main = await git(hubDir(h), 'rev-parse', 'main');
    expect(await git(hubDir(h), 'log', '--format=%B', 'main')).not.toContain('Kaidu-Host');
    for (const host of ['host-a', 'host-b']) {
      expect(await git(hubDir(h), 'ls-tree', '-r', '--name-only', `kaidu/state/${host}`)).toBe(`state/${host}/web-db.yaml`);
      const message = await git(hubDir(h), 'log', '-1', '--format=%B', `kaidu/state/${host}`);
      expect(message).toContain(`Kaidu-Host: ${host}`);
      expect(message).toContain(`Kaidu-Revision: ${main}`);
    }
    // What each agent's mirror holds: host-a needs host-b (web connects to db-port); host-b needs nobody.
    const mirrored = async (x: RunningAgent) => (await git(join(x.dataDir, 'hub.git'), 'for-each-ref', '--format=%(refname)', 'refs/heads/kaidu')).split('\n').filter(Boolean).sort();
    expect(await mirrored(a)).toEqual(['refs/heads/kaidu/state/host-a', 'refs/heads/kaidu/state/host-b']);
    expect(await mirrored(b)).toEqual(['refs/heads/kaidu/state/host-b']);

    // kaidu status reads the branches, and says how far each host lags behind the templates.
    const st = await kaiduStatus(h.url, true);
    expect(st.templatesRevision).toBe(main);
    const byHost = Object.fromEntries(st.hosts.map((x) => [x.host, x]));
    expect(byHost['host-a']).toEqual({ host: 'host-a', source: 'branch', stateCommit: await git(hubDir(h), 'rev-parse', 'kaidu/state/host-a'), templatesRevision: main, behind: 0 });
    expect(byHost['host-b']).toMatchObject({ source: 'branch', templatesRevision: main, behind: 0 });
    // A branch whose files are not valid state is reported, never read as empty.
    expect(byHost['other-0']).toMatchObject({ source: 'branch', templatesRevision: null, behind: null });
  }, 300_000);

  it('migration: state still on the templates branch is taken over (no second process), the host then writes its branch, and from then on the branch wins', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web.yaml': webService('host-a', 'hello') });
    let a = await h.startAgent('host-a', FAST_RETRY);
    await h.waitReady(a);
    const first = await h.until('running', async () => (await h!.state())['host-a']?.web?.nodes);
    const pid = first.web!.attributes.pid as number;
    a.proc.kill('SIGTERM');
    expect(await a.exited).toBe(0);

    // The repository as an older Kaidu left it: state/host-a/ on main, no state branch.
    const text = await git(hubDir(h), 'show', 'kaidu/state/host-a:state/host-a/web.yaml');
    await git(hubDir(h), 'update-ref', '-d', 'refs/heads/kaidu/state/host-a');
    await h.push({ 'state/host-a/web.yaml': text + '\n' }, 'state as an older Kaidu wrote it');
    const before = await kaiduStatus(h.url);
    expect(before.hosts).toEqual([expect.objectContaining({ host: 'host-a', source: 'templates', stateCommit: null })]);
    expect(before.nodes.find((n) => n.node === 'web')?.status).toBe('running');

    a = await h.startAgent('host-a', FAST_RETRY);
    await h.waitReady(a);
    const migrated = await h.until('the host’s own branch written', async () => (await git(hubDir(h!), 'rev-parse', '-q', '--verify', 'refs/heads/kaidu/state/host-a').catch(() => '')) || undefined);
    const now = (await h.state())['host-a']!.web!.nodes;
    expect(now.web!.status).toBe('running');
    expect(now.web!.attributes.pid).toBe(pid); // re-adopted, not started again
    expect((await kaiduStatus(h.url)).hosts).toEqual([expect.objectContaining({ host: 'host-a', source: 'branch', stateCommit: migrated })]);

    // The old file on main is no longer this host's state: damaging it changes nothing.
    const damaged = await h.push({ 'state/host-a/web.yaml': 'nodes: [unclosed\n' }, 'a stale file damaged');
    await h.until('the agent saw the commit', async () => (await status(a)).seen === damaged && (await status(a)).lastPass !== null);
    expect((await status(a)).stateRepairs).toEqual([]);
    expect((await h.state())['host-a']!.web!.nodes.web!.status).toBe('running');
    // Removing state/ from main once every host has its branch (the documented step) changes nothing either.
    const removed = await h.push({ 'state/host-a/web.yaml': null }, 'state lives on kaidu/state/<host> now');
    await h.until('the agent saw the removal', async () => (await status(a)).seen === removed);
    const after = await kaiduStatus(h.url);
    expect(after.hosts).toEqual([expect.objectContaining({ host: 'host-a', source: 'branch' })]);
    expect(after.nodes.find((n) => n.node === 'web')?.status).toBe('running');
    expect(await git(hubDir(h), 'rev-parse', 'refs/heads/kaidu/state/host-a')).toBe(migrated);
  }, 300_000);

  it('a hub on a local path: with no webhook at all, host-a sees host-b’s state branch move (the watcher) and converges', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web-db.yaml': WEB_DB_SERVICE });
    h.relay = false;
    const a = await h.startAgent('host-a', [], hubDir(h));
    const b = await h.startAgent('host-b', [], hubDir(h));
    await Promise.all([h.waitReady(a), h.waitReady(b)]);
    await h.until('both hosts running', async () => {
      const s = await h!.state();
      return s['host-a']?.['web-db']?.nodes.web?.status === 'running' && s['host-b']?.['web-db']?.nodes.db?.status === 'running';
    });
    expect(await git(hubDir(h), 'log', '--format=%B', 'main')).not.toContain('Kaidu-Host');
  }, 300_000);

  it('a foreign commit on the host’s branch: the next state commit builds on it, and a later change applies', async () => {
    h = await startHarness({ 'kaidu.yaml': KAIDU_YAML, 'services/web.yaml': webService('host-a', 'one') });
    const a = await h.startAgent('host-a', FAST_RETRY);
    await h.waitReady(a);
    await h.until('running', async () => (await h!.state())['host-a']?.web?.nodes.web?.status === 'running');
    const foreign = await h.push({ 'NOTE.txt': 'an operator was here\n' }, 'a foreign commit', { branch: 'kaidu/state/host-a' });
    const rev = await h.push({ 'services/web.yaml': webService('host-a', 'two') }, 'change');
    await h.until('the change applied', async () => (await h!.state())['host-a']?.web?.nodes.web?.revision === rev);
    expect(await git(hubDir(h), 'merge-base', '--is-ancestor', foreign, 'kaidu/state/host-a').then(() => true, () => false)).toBe(true);
    expect(await git(hubDir(h), 'show', 'kaidu/state/host-a:NOTE.txt')).toBe('an operator was here');
  }, 300_000);
});
