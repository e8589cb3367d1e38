import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRevision, resolveRevisionExpression } from '../../src/git/revision.js';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';

const exec = promisify(execFile);
let repo: string;
const git = async (...args: string[]) => (await exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: repo })).stdout.trim();
const service = (name: string) => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    local: { type: kaidu:Host }
    ${name}: { type: kaidu:Directory, properties: { path: /tmp/kaidu-never-applied/${name} }, requirements: [ { host: local } ] }
`;

beforeAll(async () => {
  repo = tempDir('kaidu-rev-');
  await mkdir(join(repo, 'services'));
  await writeFile(join(repo, 'kaidu.yaml'), 'branch: main\n');
  await writeFile(join(repo, 'services', 'one.yaml'), service('first'));
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-qm', 'one');
  await git('tag', '-a', 'v1', '-m', 'release one');
  await writeFile(join(repo, 'services', 'two.yaml'), service('second'));
  await git('add', '-A');
  await git('commit', '-qm', 'two');
  // A remote-tracking ref, as after `git fetch origin`.
  await git('update-ref', 'refs/remotes/origin/main', 'HEAD~1');
  // A merge, so that ^2 has something to find.
  await git('checkout', '-q', '-b', 'side', 'v1');
  await writeFile(join(repo, 'services', 'three.yaml'), service('third'));
  await git('add', '-A');
  await git('commit', '-qm', 'three');
  await git('checkout', '-q', 'main');
  await git('merge', '-q', '--no-edit', 'side');
});

describe('git revision syntax', () => {
  it('parses steps and refuses what git would refuse', () => {
    expect(parseRevision('main~2^2^{commit}')).toEqual({ base: 'main', steps: [{ kind: 'ancestor', n: 2 }, { kind: 'parent', n: 2 }, { kind: 'peel' }] });
    expect(parseRevision('HEAD^')).toEqual({ base: 'HEAD', steps: [{ kind: 'parent', n: 1 }] });
    expect(parseRevision('HEAD~')).toEqual({ base: 'HEAD', steps: [{ kind: 'ancestor', n: 1 }] });
    expect(parseRevision('HEAD~x')).toBeUndefined();
    expect(parseRevision('~1')).toBeUndefined();
    expect(parseRevision('HEAD^{tree}')).toBeUndefined();
  });

  it('resolves every form to the commit git itself names', async () => {
    const gitdir = join(repo, '.git');
    for (const rev of ['HEAD', 'HEAD~1', 'HEAD^', 'HEAD~2', 'HEAD^2', 'HEAD^1~1', 'main~', 'origin/main', 'v1', 'v1^{commit}', 'v1^{}', 'side']) {
      expect(await resolveRevisionExpression(gitdir, rev), rev).toBe(await git('rev-parse', `${rev}^{commit}`));
    }
    const short = (await git('rev-parse', 'HEAD~1')).slice(0, 7);
    expect(await resolveRevisionExpression(gitdir, short)).toBe(await git('rev-parse', 'HEAD~1'));
    expect(await resolveRevisionExpression(gitdir, `${short}~1`)).toBe(await git('rev-parse', 'HEAD~2'));
  });

  it('reports a revision that does not exist, with what it typed', async () => {
    const gitdir = join(repo, '.git');
    await expect(resolveRevisionExpression(gitdir, 'HEAD~10')).rejects.toThrow(/unknown revision "HEAD~10": [0-9a-f]{12} has no parent/);
    await expect(resolveRevisionExpression(gitdir, 'HEAD^3')).rejects.toThrow(/has no parent 3/);
    await expect(resolveRevisionExpression(gitdir, 'nope')).rejects.toThrow('unknown revision "nope"');
    await expect(resolveRevisionExpression(gitdir, 'HEAD@{1}')).rejects.toThrow('unknown revision "HEAD@{1}"');
    await expect(resolveRevisionExpression(gitdir, 'HEAD^{tree}')).rejects.toThrow(/not git revision syntax/);
  });

  it('works where the CLI takes a revision: plan --base HEAD~1 --head HEAD', async () => {
    const r = await kaidu(['plan', '--json', '--base', 'HEAD~1', '--head', 'HEAD'], repo);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.revision).toBe(await git('rev-parse', 'HEAD'));
    expect(plan.baseRevision).toBe(await git('rev-parse', 'HEAD~1'));
    // No state in the repository: the header says what it was planned against.
    expect(plan.baseState).toEqual({ hosts: 0, nodes: 0 });
    const text = await kaidu(['plan', '--base', 'main~1', '--head', 'side'], repo);
    expect(text.stdout.split('\n')[0]).toBe(`Templates at ${(await git('rev-parse', 'side')).slice(0, 12)}, planned against the state recorded at ${(await git('rev-parse', 'main~1')).slice(0, 12)}: none is recorded there, so every node is new.`);
    const md = await kaidu(['plan', '--base', 'main~1', '--head', 'side', '--format', 'markdown'], repo);
    expect(md.stdout).toContain(', planned against the state recorded at `');
    const bad = await kaidu(['plan', '--base', 'HEAD~9', '--head', 'HEAD'], repo);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown revision "HEAD~9"');
  });
});
