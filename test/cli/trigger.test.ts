import { execFileSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { register as registerTrigger } from '../../src/cli/commands/trigger.js';
import { runKaidu } from '../review/cli-run.js';
import { startReceiver, type Received, type Receiver } from '../review/http-receiver.js';
import { tempDir } from '../support/temp-dir.js';

const SECRET = 'it-is-a-secret';
const AFTER = '1234567890abcdef1234567890abcdef12345678';

/** What the agent's receiver does: HMAC-SHA256 over the raw body, compared in constant time. */
function verifies(r: Received, secret: string): boolean {
  const sent = Buffer.from(String(r.headers['x-hub-signature-256'] ?? ''));
  const want = Buffer.from('sha256=' + createHmac('sha256', secret).update(r.raw).digest('hex'));
  return sent.length === want.length && timingSafeEqual(sent, want);
}

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const gitEnv = { GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@example.com', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@example.com', GIT_CONFIG_NOSYSTEM: '1', HOME: tmpdir() };

describe('kaidu trigger', () => {
  it('sends a push event signed as GitHub signs it', async () => {
    receiver = await startReceiver((r) => (verifies(r, SECRET) ? 202 : 401));
    const env = { KAIDU_WEBHOOK_SECRET: SECRET, GITHUB_REF: 'refs/heads/main', GITHUB_SHA: AFTER, GITHUB_REPOSITORY: 'acme/deploy' };
    const run = await runKaidu(['trigger', '--url', `${receiver.url}/hooks/github`, '--secret-env', 'KAIDU_WEBHOOK_SECRET'], [registerTrigger], { env, cwd: tmpdir() });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(': 202');
    const [r] = receiver.received;
    expect(r!.method).toBe('POST');
    expect(r!.url).toBe('/hooks/github');
    expect(r!.headers['x-github-event']).toBe('push');
    expect(r!.headers['x-github-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(r!.headers['user-agent']).toBe('kaidu-trigger');
    expect(r!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(r!.raw.toString('utf8')) as Record<string, any>;
    expect(body).toMatchObject({ ref: 'refs/heads/main', after: AFTER, repository: { full_name: 'acme/deploy', name: 'deploy' }, head_commit: { id: AFTER } });
    expect(typeof body.before).toBe('string');
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it('adds /hooks/github to a base URL, and takes --ref/--after', async () => {
    receiver = await startReceiver((r) => (verifies(r, SECRET) ? 200 : 401));
    const run = await runKaidu(['trigger', '--url', receiver.url, '--secret-env', 'S', '--ref', 'prod', '--after', AFTER, '--json'], [registerTrigger], { env: { S: SECRET }, cwd: tmpdir() });
    expect(run.code).toBe(0);
    expect(receiver.received[0]!.url).toBe('/hooks/github');
    expect(JSON.parse(receiver.received[0]!.raw.toString()).ref).toBe('refs/heads/prod');
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 200, ref: 'refs/heads/prod', after: AFTER });
  });

  it('defaults the commit to HEAD of the repository it runs in', async () => {
    const repo = tempDir('kaidu-trig-');
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...process.env, ...gitEnv } }).toString().trim();
    git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'kaidu.yaml'), 'branch: main\n');
    git('add', '.');
    git('commit', '-q', '-m', 'first templates');
    const head = git('rev-parse', 'HEAD');
    receiver = await startReceiver((r) => (verifies(r, SECRET) ? 202 : 401));
    const run = await runKaidu(['trigger', '--url', receiver.url, '--secret-env', 'S'], [registerTrigger], { env: { S: SECRET }, cwd: repo });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const body = JSON.parse(receiver.received[0]!.raw.toString()) as Record<string, any>;
    expect(body.after).toBe(head);
    expect(body.ref).toBe('refs/heads/main');
    expect(body.head_commit).toMatchObject({ id: head, message: 'first templates', author: { email: 'dev@example.com' } });
    expect(body.created).toBe(true);
  });

  it('generic: bearer token and {ref, after}', async () => {
    receiver = await startReceiver((r) => (r.headers.authorization === `Bearer ${SECRET}` ? 202 : 401));
    const run = await runKaidu(['trigger', '--provider', 'generic', '--url', receiver.url, '--secret-env', 'TOKEN', '--after', AFTER], [registerTrigger], { env: { TOKEN: SECRET }, cwd: tmpdir() });
    expect(run.code).toBe(0);
    const r = receiver.received[0]!;
    expect(r.url).toBe('/hooks/generic');
    expect(JSON.parse(r.raw.toString())).toEqual({ ref: 'refs/heads/main', after: AFTER });
    expect(r.headers['x-hub-signature-256']).toBeUndefined();
  });

  it('fails with the status when the agent refuses (wrong secret)', async () => {
    receiver = await startReceiver((r) => (verifies(r, 'the-agents-secret') ? 202 : 401));
    const run = await runKaidu(['trigger', '--url', receiver.url, '--secret-env', 'S', '--after', AFTER], [registerTrigger], { env: { S: SECRET }, cwd: tmpdir() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('answered 401');
    expect(run.stderr).not.toContain(SECRET);
  });

  it('fails clearly when nothing listens', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const run = await runKaidu(['trigger', '--url', `http://127.0.0.1:${port}`, '--secret-env', 'S', '--after', AFTER], [registerTrigger], { env: { S: SECRET }, cwd: tmpdir() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot reach http://127.0.0.1:${port}/hooks/github`);
    expect(run.stderr).toContain('ECONNREFUSED');
  });

  it('refuses to run without the secret', async () => {
    const run = await runKaidu(['trigger', '--url', 'http://127.0.0.1:1', '--secret-env', 'MISSING', '--after', AFTER], [registerTrigger], { env: {}, cwd: tmpdir() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('MISSING');
  });
});
