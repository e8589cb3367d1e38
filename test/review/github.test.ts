import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { register as registerPrComment } from '../../src/cli/commands/pr-comment.js';
import { isKaiduError } from '../../src/errors/kaidu-error.js';
import { renderJson } from '../../src/plan/index.js';
import { planMarker } from '../../src/review/comment-body.js';
import { GitHubReview } from '../../src/review/github.js';
import { publishPlan } from '../../src/review/publish.js';
import { runKaidu } from './cli-run.js';
import { action, brokenPlan, makePlan, smallPlan } from './plan-fixtures.js';
import { tempDir } from '../support/temp-dir.js';

const API = 'https://api.github.com';
const TOKEN = 'ghs_SeCrEtToKeN0123456789';
const SHA = 'c0ffee'.padEnd(40, '0');

/** An issue comment as GET /repos/{owner}/{repo}/issues/{n}/comments returns it. */
function issueComment(id: number, body: string, login = 'someone', type = 'User') {
  return {
    url: `${API}/repos/acme/web/issues/comments/${id}`,
    html_url: `https://github.com/acme/web/pull/12#issuecomment-${id}`,
    issue_url: `${API}/repos/acme/web/issues/12`,
    id,
    node_id: `IC_kwDO${id}`,
    user: { login, id: 1000 + id, node_id: 'MDQ6VXNlcjE=', type, site_admin: false },
    created_at: '2026-01-02T10:00:00Z',
    updated_at: '2026-01-02T10:00:00Z',
    author_association: 'MEMBER',
    body,
    reactions: { url: `${API}/repos/acme/web/issues/comments/${id}/reactions`, total_count: 0 },
    performed_via_github_app: null,
  };
}

/** A commit status as POST /repos/{owner}/{repo}/statuses/{sha} returns it. */
function statusReply(body: { state: string; description?: string; context?: string; target_url?: string }) {
  return {
    url: `${API}/repos/acme/web/statuses/${SHA}`,
    avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
    id: 31337,
    node_id: 'SC_kwDO',
    state: body.state,
    description: body.description ?? null,
    target_url: body.target_url ?? null,
    context: body.context ?? 'default',
    created_at: '2026-01-02T10:00:00Z',
    updated_at: '2026-01-02T10:00:00Z',
    creator: { login: 'github-actions[bot]', id: 41898282, type: 'Bot', site_admin: false },
  };
}

const ghEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ GITHUB_TOKEN: TOKEN, GITHUB_REPOSITORY: 'acme/web', ...extra });

function planFile(plan = smallPlan()): string {
  const dir = tempDir('kaidu-pr-');
  const file = join(dir, 'plan.json');
  writeFileSync(file, renderJson(plan));
  return file;
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

describe('GitHub pull request comment', () => {
  it('creates the comment when none of ours exists, and sets a success status', async () => {
    let posted: { body: string } | undefined;
    let status: Record<string, unknown> | undefined;
    const scope = nock(API, { reqheaders: { authorization: `Bearer ${TOKEN}`, accept: 'application/vnd.github+json' } })
      .get('/repos/acme/web/issues/12/comments')
      .query({ per_page: '100' })
      .reply(200, [issueComment(1, 'LGTM'), issueComment(2, '<!-- kaidu-plan:other -->\nanother service')])
      .post('/repos/acme/web/issues/12/comments', (b: { body: string }) => ((posted = b), true))
      .reply(201, (_uri: string, b: { body: string }) => issueComment(99, b.body, 'github-actions[bot]', 'Bot'))
      .post(`/repos/acme/web/statuses/${SHA}`, (b: Record<string, unknown>) => ((status = b), true))
      .reply(201, (_uri: string, b: { state: string }) => statusReply(b));

    const run = await runKaidu(['pr-comment', '--pr', '12', '--sha', SHA, '--plan-file', planFile()], [registerPrComment], { env: ghEnv() });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(scope.isDone()).toBe(true);
    expect(posted!.body.startsWith(planMarker() + '\n')).toBe(true);
    expect(status).toMatchObject({ state: 'success', context: 'kaidu/plan', target_url: 'https://github.com/acme/web/pull/12#issuecomment-99' });
    expect((status!.description as string).length).toBeLessThanOrEqual(140);
    expect(run.stdout).toContain('Posted the plan comment on pull request acme/web#12');
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });

  it('updates our comment in place (PATCH, not POST) when it is on the second page', async () => {
    const page2 = `${API}/repositories/4242/issues/12/comments?per_page=100&page=2`;
    let patched: { body: string } | undefined;
    const scope = nock(API)
      .get('/repos/acme/web/issues/12/comments')
      .query({ per_page: '100' })
      .reply(200, Array.from({ length: 100 }, (_, i) => issueComment(i + 1, `comment ${i}`)), {
        Link: `<${page2}>; rel="next", <${API}/repositories/4242/issues/12/comments?per_page=100&page=2>; rel="last"`,
      })
      .get('/repositories/4242/issues/12/comments')
      .query({ per_page: '100', page: '2' })
      .reply(200, [issueComment(555, `${planMarker()}\nold plan`, 'github-actions[bot]', 'Bot'), issueComment(556, 'after')], {
        Link: `<${API}/repositories/4242/issues/12/comments?per_page=100&page=1>; rel="prev", <${API}/repositories/4242/issues/12/comments?per_page=100&page=1>; rel="first"`,
      })
      .patch('/repos/acme/web/issues/comments/555', (b: { body: string }) => ((patched = b), true))
      .reply(200, (_uri: string, b: { body: string }) => issueComment(555, b.body, 'github-actions[bot]', 'Bot'));
    // No POST to the comments is mocked: creating a second comment would fail the test.

    const host = new GitHubReview({ repo: 'acme/web', pr: 12, token: TOKEN });
    const result = await publishPlan(host, smallPlan());
    expect(scope.isDone()).toBe(true);
    expect(result.comment).toEqual({ id: 555, action: 'updated', url: 'https://github.com/acme/web/pull/12#issuecomment-555' });
    expect(patched!.body.startsWith(planMarker())).toBe(true);
    expect(result.status).toBeUndefined();
  });

  it('leaves an identical comment alone', async () => {
    const host = new GitHubReview({ repo: 'acme/web', pr: 12, token: TOKEN });
    const first = await (async () => {
      nock(API).get('/repos/acme/web/issues/12/comments').query(true).reply(200, []).post('/repos/acme/web/issues/12/comments').reply(201, (_u: string, b: { body: string }) => issueComment(7, b.body));
      return publishPlan(host, smallPlan());
    })();
    const scope = nock(API).get('/repos/acme/web/issues/12/comments').query(true).reply(200, [issueComment(7, first.body)]);
    const again = await publishPlan(host, smallPlan());
    expect(scope.isDone()).toBe(true);
    expect(again.comment.action).toBe('unchanged');
  });

  it('keys tell several kaidu comments on one pull request apart', async () => {
    let patchedId: string | undefined;
    nock(API)
      .get('/repos/acme/web/issues/12/comments')
      .query(true)
      .reply(200, [issueComment(1, `${planMarker()}\nunkeyed`), issueComment(2, `${planMarker('billing')}\nbilling`)])
      .patch(/\/repos\/acme\/web\/issues\/comments\/\d+/)
      .reply(200, (uri: string, b: { body: string }) => ((patchedId = uri.split('/').pop()), issueComment(Number(patchedId), b.body)));
    await publishPlan(new GitHubReview({ repo: 'acme/web', pr: 12, token: TOKEN }), smallPlan(), { key: 'billing' });
    expect(patchedId).toBe('2');
  });

  it('sets a failure status when the templates do not compile', async () => {
    let status: { state: string; description: string } | undefined;
    nock(API)
      .get('/repos/acme/web/issues/12/comments')
      .query(true)
      .reply(200, [])
      .post('/repos/acme/web/issues/12/comments')
      .reply(201, (_u: string, b: { body: string }) => issueComment(5, b.body))
      .post(`/repos/acme/web/statuses/${SHA}`, (b: { state: string; description: string }) => ((status = b), true))
      .reply(201, (_u: string, b: { state: string }) => statusReply(b));
    const run = await runKaidu(['pr-comment', '--pr', '12', '--sha', SHA, '--plan-file', planFile(brokenPlan())], [registerPrComment], { env: ghEnv() });
    expect(run.code).toBe(0);
    expect(status!.state).toBe('failure');
    expect(status!.description).toContain('services/web.yaml:7');
    expect(status!.description.length).toBeLessThanOrEqual(140);
    expect(run.stdout).toContain('Set status kaidu/plan to failure');
  });

  it('keeps a long error description within 140 characters', async () => {
    let status: { description: string } | undefined;
    const plan = makePlan({ h: [action('create', 'web/x')] }, [
      { severity: 'error', code: 'E_X', message: 'x'.repeat(400), file: 'services/a-very-long-name.yaml', line: 1, column: 1 },
    ]);
    nock(API)
      .get('/repos/acme/web/issues/12/comments').query(true).reply(200, [])
      .post('/repos/acme/web/issues/12/comments').reply(201, (_u: string, b: { body: string }) => issueComment(5, b.body))
      .post(`/repos/acme/web/statuses/${SHA}`, (b: { description: string }) => ((status = b), true)).reply(201, {});
    await publishPlan(new GitHubReview({ repo: 'acme/web', pr: 12, token: TOKEN }), plan, { sha: SHA });
    expect(status!.description.length).toBe(140);
  });

  it('talks to GitHub Enterprise at --api-url', async () => {
    const ghe = 'https://ghe.example.com';
    const scope = nock(ghe)
      .get('/api/v3/repos/acme/web/issues/12/comments')
      .query(true)
      .reply(200, [])
      .post('/api/v3/repos/acme/web/issues/12/comments')
      .reply(201, (_u: string, b: { body: string }) => ({ ...issueComment(3, b.body), html_url: 'https://ghe.example.com/acme/web/pull/12#issuecomment-3' }))
      .post(`/api/v3/repos/acme/web/statuses/${SHA}`)
      .reply(201, (_u: string, b: { state: string }) => statusReply(b));
    const run = await runKaidu(['pr-comment', '--api-url', `${ghe}/api/v3/`, '--pr', '12', '--sha', SHA, '--plan-file', planFile()], [registerPrComment], { env: ghEnv() });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(scope.isDone()).toBe(true);
  });

  it('reads the pull request, head commit and run link from the Actions environment', async () => {
    const dir = tempDir('kaidu-event-');
    const eventPath = join(dir, 'event.json');
    writeFileSync(eventPath, JSON.stringify({ action: 'synchronize', number: 34, pull_request: { number: 34, html_url: 'https://github.com/acme/web/pull/34', head: { sha: SHA, ref: 'feature' }, base: { sha: 'f'.repeat(40) } } }));
    let status: { target_url?: string } | undefined;
    let body = '';
    nock(API)
      .get('/repos/acme/web/issues/34/comments').query(true).reply(200, [])
      .post('/repos/acme/web/issues/34/comments', (b: { body: string }) => ((body = b.body), true)).reply(201, (_u: string, b: { body: string }) => ({ ...issueComment(8, b.body), html_url: undefined }))
      .post(`/repos/acme/web/statuses/${SHA}`, (b: { target_url?: string }) => ((status = b), true)).reply(201, {});
    const env = ghEnv({ GITHUB_EVENT_PATH: eventPath, GITHUB_SHA: 'merge'.padEnd(40, '1'), GITHUB_SERVER_URL: 'https://github.com', GITHUB_RUN_ID: '777' });
    const run = await runKaidu(['pr-comment', '--json', '--plan-file', planFile()], [registerPrComment], { env });
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { comment: { id: number }; status: { sha: string; state: string } };
    expect(out.comment.id).toBe(8);
    expect(out.status).toMatchObject({ sha: SHA, state: 'success' });
    // Without a comment link the status points at the run.
    expect(status!.target_url).toBe('https://github.com/acme/web/actions/runs/777');
    expect(body.startsWith(planMarker())).toBe(true);
  });

  it('--dry-run prints the comment and calls no API', async () => {
    const run = await runKaidu(['pr-comment', '--dry-run', '--plan-file', planFile()], [registerPrComment], { env: {} });
    expect(run.code).toBe(0);
    expect(run.stdout.startsWith(planMarker() + '\n')).toBe(true);
  });

  it('refuses a file that is not a saved plan', async () => {
    const file = planFile();
    writeFileSync(file, '{"hello": 1}');
    const run = await runKaidu(['pr-comment', '--dry-run', '--plan-file', file], [registerPrComment], { env: {} });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('is not a saved plan');
  });

  it('says which variable is empty when there is no token', async () => {
    const run = await runKaidu(['pr-comment', '--pr', '1', '--plan-file', planFile()], [registerPrComment], { env: { GITHUB_REPOSITORY: 'acme/web' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('GITHUB_TOKEN');
  });
});

describe('GitHub API failures', () => {
  const args = () => ['pr-comment', '--pr', '12', '--sha', SHA, '--plan-file', planFile()];

  it('401: the token was rejected', async () => {
    nock(API).get('/repos/acme/web/issues/12/comments').query(true).reply(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    const run = await runKaidu(args(), [registerPrComment], { env: ghEnv() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the token was rejected');
    expect(run.stderr).toContain('Bad credentials');
    expect(run.stderr).not.toContain(TOKEN);
  });

  it('403 with no requests left: rate limit, with the reset time', async () => {
    const reset = 1_893_456_000; // 2030-01-01T00:00:00Z
    nock(API)
      .get('/repos/acme/web/issues/12/comments')
      .query(true)
      .reply(403, { message: 'API rate limit exceeded for installation ID 123.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' }, {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-used': '5000',
        'x-ratelimit-reset': String(reset),
        'x-ratelimit-resource': 'core',
      });
    const run = await runKaidu(args(), [registerPrComment], { env: ghEnv() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('rate limit');
    expect(run.stderr).toContain('2030-01-01T00:00:00.000Z');
  });

  it('403 otherwise: a permission problem', async () => {
    nock(API)
      .get('/repos/acme/web/issues/12/comments').query(true).reply(200, [])
      .post('/repos/acme/web/issues/12/comments')
      .reply(403, { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment', status: '403' }, { 'x-ratelimit-remaining': '4999' });
    const run = await runKaidu(args(), [registerPrComment], { env: ghEnv() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('not allowed');
    expect(run.stderr).toContain('Resource not accessible by integration');
    expect(run.stderr).toContain('pull-requests: write');
  });

  it('404: names the pull request and says the token may not see it', async () => {
    nock(API).get('/repos/acme/web/issues/12/comments').query(true).reply(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/issues/comments#list-issue-comments', status: '404' });
    const run = await runKaidu(args(), [registerPrComment], { env: ghEnv() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('pull request acme/web#12 was not found');
    expect(run.stderr).toContain('or the token cannot see it');
  });

  it('5xx: E_API', async () => {
    nock(API).get('/repos/acme/web/issues/12/comments').query(true).reply(502, 'Bad Gateway');
    const err = await new GitHubReview({ repo: 'acme/web', pr: 12, token: TOKEN }).upsertComment('x', planMarker()).catch((e: unknown) => e);
    expect(isKaiduError(err, 'E_API')).toBe(true);
    expect((err as Error).message).toContain('502');
  });

  it('an unreachable API is E_API and names the host, not the token', async () => {
    const err = await new GitHubReview({ repo: 'acme/web', pr: 12, token: TOKEN, apiUrl: 'https://ghe.invalid/api/v3' }).upsertComment('x', planMarker()).catch((e: unknown) => e);
    expect(isKaiduError(err, 'E_API')).toBe(true);
    expect((err as Error).message).toContain('https://ghe.invalid');
    expect(JSON.stringify(err) + String((err as Error).message)).not.toContain(TOKEN);
  });
});
