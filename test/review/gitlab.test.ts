import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { register as registerPrComment } from '../../src/cli/commands/pr-comment.js';
import { renderJson } from '../../src/plan/index.js';
import { planMarker } from '../../src/review/comment-body.js';
import { GitLabReview } from '../../src/review/gitlab.js';
import { publishPlan } from '../../src/review/publish.js';
import { runKaidu } from './cli-run.js';
import { brokenPlan, smallPlan } from './plan-fixtures.js';
import { tempDir } from '../support/temp-dir.js';

const API = 'https://gitlab.example.com';
const TOKEN = 'glpat-SeCrEt0123456789';
const SHA = 'beef'.padEnd(40, '0');

/** A merge request note as GET /projects/:id/merge_requests/:iid/notes returns it. */
function note(id: number, body: string, system = false) {
  return {
    id,
    type: null,
    body,
    attachment: null,
    author: { id: 7, username: 'kaidu-bot', name: 'Kaidu Bot', state: 'active', locked: false, avatar_url: null, web_url: 'https://gitlab.example.com/kaidu-bot' },
    created_at: '2026-01-02T10:00:00.000Z',
    updated_at: '2026-01-02T10:00:00.000Z',
    system,
    noteable_id: 905,
    noteable_type: 'MergeRequest',
    project_id: 42,
    resolvable: false,
    confidential: false,
    internal: false,
    noteable_iid: 5,
    commands_changes: {},
  };
}

/** A commit status as POST /projects/:id/statuses/:sha returns it. */
function statusReply(b: { state: string; name?: string; description?: string }) {
  return { id: 93, sha: SHA, ref: 'feature', status: b.state, name: b.name ?? 'default', target_url: null, description: b.description ?? null, created_at: '2026-01-02T10:00:00.000Z', started_at: null, finished_at: '2026-01-02T10:00:00.000Z', allow_failure: false, coverage: null, pipeline_id: 1, author: { id: 7, username: 'kaidu-bot' } };
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

describe('GitLab merge request note', () => {
  it('creates the note when none of ours exists, with PRIVATE-TOKEN, and a failed status on compile errors', async () => {
    let status: Record<string, unknown> | undefined;
    let created = '';
    const scope = nock(`${API}/api/v4`, { reqheaders: { 'private-token': TOKEN } })
      .get('/projects/group%2Fsub%2Fweb/merge_requests/5/notes')
      .query({ per_page: '100', sort: 'asc', order_by: 'created_at' })
      .reply(200, [note(1, 'added 1 commit', true), note(2, 'looks fine')])
      .post('/projects/group%2Fsub%2Fweb/merge_requests/5/notes', (b: { body: string }) => ((created = b.body), true))
      .reply(201, (_u: string, b: { body: string }) => note(50, b.body))
      .post(`/projects/group%2Fsub%2Fweb/statuses/${SHA}`, (b: Record<string, unknown>) => ((status = b), true))
      .reply(201, (_u: string, b: { state: string }) => statusReply(b));
    const dir = tempDir('kaidu-gl-');
    writeFileSync(join(dir, 'plan.json'), renderJson(brokenPlan()));
    const env = { GITLAB_TOKEN: TOKEN, CI_MERGE_REQUEST_PROJECT_URL: 'https://gitlab.example.com/group/sub/web' };
    const run = await runKaidu(
      ['pr-comment', '--provider', 'gitlab', '--api-url', `${API}/api/v4`, '--repo', 'group/sub/web', '--pr', '5', '--sha', SHA, '--plan-file', join(dir, 'plan.json')],
      [registerPrComment],
      { env },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(scope.isDone()).toBe(true);
    expect(created.startsWith(planMarker())).toBe(true);
    expect(status).toMatchObject({ state: 'failed', name: 'kaidu/plan' });
    expect(run.stdout).toContain('merge request group/sub/web!5');
  });

  it('updates our note with PUT, found on a later page, sending a Bearer token', async () => {
    let put: { body: string } | undefined;
    let status: Record<string, unknown> | undefined;
    const scope = nock('https://gitlab.com/api/v4', { reqheaders: { authorization: `Bearer ${TOKEN}` } })
      .get('/projects/42/merge_requests/5/notes')
      .query(true)
      .reply(200, [note(1, 'first')], { Link: '<https://gitlab.com/api/v4/projects/42/merge_requests/5/notes?order_by=created_at&page=2&per_page=100&sort=asc>; rel="next", <https://gitlab.com/api/v4/projects/42/merge_requests/5/notes?order_by=created_at&page=1&per_page=100&sort=asc>; rel="first"', 'X-Next-Page': '2' })
      .get('/projects/42/merge_requests/5/notes')
      .query({ order_by: 'created_at', page: '2', per_page: '100', sort: 'asc' })
      .reply(200, [note(3, `${planMarker()}\nold`)])
      .put('/projects/42/merge_requests/5/notes/3', (b: { body: string }) => ((put = b), true))
      .reply(200, (_u: string, b: { body: string }) => note(3, b.body))
      .post(`/projects/42/statuses/${SHA}`, (b: Record<string, unknown>) => ((status = b), true))
      .reply(201, (_u: string, b: { state: string }) => statusReply(b));
    const host = new GitLabReview({ project: '42', mr: 5, token: TOKEN, auth: 'bearer' });
    const result = await publishPlan(host, smallPlan(), { sha: SHA });
    expect(scope.isDone()).toBe(true);
    expect(result.comment).toMatchObject({ id: 3, action: 'updated' });
    expect(put!.body.startsWith(planMarker())).toBe(true);
    expect(status).toMatchObject({ state: 'success', name: 'kaidu/plan' });
  });

  it('reads project, merge request and API from GitLab CI variables; 401 is a clear error', async () => {
    nock('https://gitlab.example.com/api/v4').get('/projects/42/merge_requests/9/notes').query(true).reply(401, { message: '401 Unauthorized' });
    const dir = tempDir('kaidu-gl-');
    writeFileSync(join(dir, 'plan.json'), renderJson(smallPlan()));
    const env = { GITLAB_CI: 'true', GITLAB_TOKEN: TOKEN, CI_PROJECT_ID: '42', CI_MERGE_REQUEST_IID: '9', CI_API_V4_URL: 'https://gitlab.example.com/api/v4', CI_COMMIT_SHA: SHA };
    const run = await runKaidu(['pr-comment', '--plan-file', join(dir, 'plan.json')], [registerPrComment], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the token was rejected');
    expect(run.stderr).toContain('GITLAB_TOKEN');
    expect(run.stderr).not.toContain(TOKEN);
  });
});
