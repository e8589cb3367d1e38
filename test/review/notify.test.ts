import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerNotify } from '../../src/cli/commands/trigger.js';
import { notifyAgents } from '../../src/review/notify.js';
import { runKaidu } from './cli-run.js';
import { startReceiver, type Receiver } from './http-receiver.js';
import { tempDir } from '../support/temp-dir.js';

const env = { ...process.env, GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'd@example.com', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'd@example.com', GIT_CONFIG_NOSYSTEM: '1' };

/** A bare hub holding one commit with `kaidu.yaml`; returns its path and the commit. */
function hubWith(kaiduYaml: string): { hub: string; sha: string } {
  const root = tempDir('kaidu-notify-');
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env }).toString().trim();
  git(root, 'init', '-q', '-b', 'main', 'work');
  writeFileSync(join(root, 'work', 'kaidu.yaml'), kaiduYaml);
  git(join(root, 'work'), 'add', '.');
  git(join(root, 'work'), 'commit', '-q', '-m', 'settings');
  git(root, 'clone', '-q', '--bare', 'work', 'hub.git');
  return { hub: join(root, 'hub.git'), sha: git(join(root, 'work'), 'rev-parse', 'HEAD') };
}

let agent: Receiver | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
});

describe('kaidu notify', () => {
  it('posts {ref, after} with the bearer token from a file to every agent, and reports the unreachable one', async () => {
    agent = await startReceiver((r) => (r.headers.authorization === 'Bearer from-file' ? 202 : 401));
    const { hub, sha } = hubWith(`branch: prod\nagents:\n  - host: a\n    url: ${agent.url}/\n  - host: b\n    url: http://127.0.0.1:1\n`);
    const tokenFile = join(hub, 'token');
    writeFileSync(tokenFile, 'from-file\n');
    // As git runs a hook in a bare repository: cwd is the repository, GIT_DIR=.
    const run = await runKaidu(['notify', '--rev', sha, '--ref', 'refs/heads/prod'], [registerNotify], { cwd: hub, env: { GIT_DIR: '.', KAIDU_HOOK_TOKEN_FILE: tokenFile } });
    expect(run.code).toBe(0);
    expect(agent.received).toHaveLength(1);
    expect(agent.received[0]!.url).toBe('/hooks/generic');
    expect(JSON.parse(agent.received[0]!.raw.toString())).toEqual({ ref: 'refs/heads/prod', after: sha });
    expect(run.stdout).toContain(`kaidu notify: a (${agent.url}/hooks/generic): 202`);
    expect(run.stdout).toContain('could not notify b (http://127.0.0.1:1/hooks/generic)');
  });

  it('skips other branches, deletions and repositories without agents', async () => {
    const { hub, sha } = hubWith('agents: []\n');
    const repo = { gitdir: hub };
    expect((await notifyAgents({ repo, rev: sha, ref: 'refs/heads/wip' })).skipped).toContain('not the deployed branch');
    expect((await notifyAgents({ repo, rev: '0'.repeat(40), ref: 'refs/heads/main' })).skipped).toContain('deleted');
    expect((await notifyAgents({ repo, rev: sha })).skipped).toContain('no agents');
  });

  it("a host's state commit (its branch kaidu/state/<host>, no kaidu.yaml there) goes to the other agents of the hub's HEAD, not back to that host", async () => {
    agent = await startReceiver(() => 202);
    const { hub } = hubWith(`agents:\n  - host: a\n    url: ${agent.url}/\n  - host: b\n    url: ${agent.url}/b\n`);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: hub, env }).toString().trim();
    // A root commit holding only state/b/, as an agent writes its branch.
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: hub, env, input: 'schema: kaidu/state/v1\n' }).toString().trim();
    const inner = execFileSync('git', ['mktree'], { cwd: hub, env, input: `100644 blob ${blob}\tweb.yaml\n` }).toString().trim();
    const mid = execFileSync('git', ['mktree'], { cwd: hub, env, input: `040000 tree ${inner}\tb\n` }).toString().trim();
    const root = execFileSync('git', ['mktree'], { cwd: hub, env, input: `040000 tree ${mid}\tstate\n` }).toString().trim();
    const commit = git('commit-tree', root, '-m', 'kaidu(b): apply');
    git('update-ref', 'refs/heads/kaidu/state/b', commit);
    const res = await notifyAgents({ repo: { gitdir: hub }, rev: commit, ref: 'refs/heads/kaidu/state/b' });
    expect(res.skipped).toBeUndefined();
    expect(res.agents.map((a) => a.host)).toEqual(['a']);
    expect(agent.received.map((r) => JSON.parse(r.raw.toString()))).toEqual([{ ref: 'refs/heads/kaidu/state/b', after: commit }]);
  });

  it('never fails, even outside a repository', async () => {
    const run = await runKaidu(['notify', '--rev', 'HEAD'], [registerNotify], { cwd: tmpdir(), env: {} });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('kaidu notify:');
  });
});
