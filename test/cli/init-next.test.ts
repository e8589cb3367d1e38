/**
 * A newcomer's path, for real: `kaidu init` as a child process, then every "Next:" line it prints
 * run by bash as written, then the steps of the GitHub workflow it wrote (against a stand-in
 * GitHub API and agent on 127.0.0.1). npm runs offline: the scaffold needs no registry.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const KAIDU = join(ROOT, 'bin', 'kaidu.js');

interface Run { code: number; stdout: string; stderr: string }

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c));
    p.stderr.on('data', (c: Buffer) => (stderr += c));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

// A stand-in for GitHub's REST API (no comment yet; creates answer 201) and for an agent's webhook.
const requests: Array<{ method: string; url: string; body: string }> = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c));
  req.on('end', () => {
    requests.push({ method: req.method!, url: req.url!, body });
    if (req.url!.startsWith('/hooks/')) return res.writeHead(202).end('{}');
    if (req.method === 'GET') return res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 1, body: '', user: { login: 'github-actions[bot]', type: 'Bot' } }));
  });
});
let api: string;
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('kaidu init, followed as printed', () => {
  it('every Next: line works as written, and so do the steps of the workflow it wrote', async () => {
    const root = tempDir('kaidu-newcomer-');
    const home = tempDir('kaidu-newcomer-home-');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      npm_config_offline: 'true',
      npm_config_cache: join(home, 'npm-cache'),
      npm_config_update_notifier: 'false',
      GIT_AUTHOR_NAME: 'New Comer', GIT_AUTHOR_EMAIL: 'new@example.invalid',
      GIT_COMMITTER_NAME: 'New Comer', GIT_COMMITTER_EMAIL: 'new@example.invalid',
    };
    const init = await exec(process.execPath, [KAIDU, 'init', 'deploy', '--host', 'local'], { cwd: root, env });
    const lines = init.stdout.split('\n');
    const next = lines.slice(lines.indexOf('Next:') + 1);
    const commands = next.slice(0, next.indexOf('')).map((l) => l.replace(/\s+#.*$/, '').trim());
    expect(commands[0]).toBe('cd deploy');
    expect(commands).toContain('npm install');
    const ran = await bash(commands.join('\n'), root, env);
    expect(ran.stderr + ran.stdout, 'the Next: lines').not.toMatch(/ERR!|npm error|: error /);
    expect(ran.code).toBe(0);
    const dir = join(root, 'deploy');
    const git = async (...args: string[]) => (await exec('git', args, { cwd: dir, env })).stdout.trim();
    expect(await git('log', '--format=%s')).toBe('kaidu init');
    expect(await git('config', 'core.hooksPath')).toBe('.githooks');

    // The pre-commit hook is live: a template that does not compile is refused.
    const hello = readFileSync(join(dir, 'services', 'hello.yaml'), 'utf8');
    writeFileSync(join(dir, 'services', 'hello.yaml'), hello.replace('type: kaidu:Process', 'type: kaidu:Nope'));
    const refused = await bash('git add -A && git commit -qm broken', dir, env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('kaidu pre-commit: the templates do not compile');
    await git('checkout', '--', 'services/hello.yaml');

    // A pull request: a branch that changes the greeting.
    const base = await git('rev-parse', 'HEAD');
    await git('checkout', '-q', '-b', 'change');
    writeFileSync(join(dir, 'services', 'hello.yaml'), hello.replace('hello from kaidu', 'hello again from kaidu'));
    expect(readFileSync(join(dir, 'services', 'hello.yaml'), 'utf8')).not.toBe(hello);
    await git('commit', '-qam', 'change the greeting');
    const head = await git('rev-parse', 'HEAD');

    // As actions/checkout leaves it: the repository's remote is origin (the workflow fetches the hosts' state branches from it).
    await exec('git', ['clone', '-q', '--bare', dir, join(root, 'origin.git')], { env });
    await git('remote', 'add', 'origin', join(root, 'origin.git'));
    const workflow = parse(readFileSync(join(dir, '.github', 'workflows', 'kaidu.yml'), 'utf8'));
    const event = join(home, 'event.json');
    writeFileSync(event, JSON.stringify({ number: 7, pull_request: { number: 7, head: { sha: head } } }));
    const expressions: Record<string, string> = {
      'github.event.pull_request.base.sha': base,
      'github.event.pull_request.head.sha': head,
      'secrets.GITHUB_TOKEN': 'test-token',
      'secrets.KAIDU_WEBHOOK_SECRET': 'webhook-secret',
      'vars.KAIDU_AGENT_URL': api,
    };
    const expand = (s: string) => s.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, e: string) => {
      if (!(e in expressions)) throw new Error(`the test does not know the expression ${e}`);
      return expressions[e]!;
    });
    const ciEnv = { ...env, CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_API_URL: api, GITHUB_REPOSITORY: 'you/deploy', GITHUB_EVENT_PATH: event, GITHUB_SHA: head, GITHUB_REF: 'refs/heads/main' };
    for (const job of ['plan', 'trigger']) {
      for (const step of workflow.jobs[job].steps as Array<{ run?: string; env?: Record<string, string> }>) {
        if (!step.run) continue;
        const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(v)]));
        const r = await bash(expand(step.run), dir, { ...ciEnv, ...stepEnv });
        expect(r.code, `${job}: ${step.run}\n${r.stdout}\n${r.stderr}`).toBe(0);
      }
    }
    expect(readFileSync(join(dir, 'kaidu-plan.json'), 'utf8')).toContain('"schema": "kaidu/plan/v1"');
    expect(requests.some((r) => r.method === 'POST' && r.url === '/repos/you/deploy/issues/7/comments' && r.body.includes('hello'))).toBe(true);
    expect(requests.some((r) => r.method === 'POST' && r.url.startsWith(`/repos/you/deploy/statuses/${head}`))).toBe(true);
    expect(requests.some((r) => r.method === 'POST' && r.url.startsWith('/hooks/'))).toBe(true);
  });
});
