/**
 * GitLab review host: the plan as one note on the merge request, found again by its marker, and a
 * commit status named `kaidu/plan` (REST API v4).
 */
import { KaiduError } from '../errors/kaidu-error.js';
import { apiList, apiRequest, apiUrlOf, type ApiClient, type FetchLike } from './api-request.js';
import { GITLAB_NOTE_LIMIT } from './comment-body.js';
import { STATUS_CONTEXT, type PlanStatus } from './plan-status.js';
import { upsertStickyComment, type HostComment, type PostedComment, type ReviewHost } from './publish.js';

export const GITLAB_API_URL = 'https://gitlab.com/api/v4';

export interface GitLabOptions {
  /** `https://gitlab.com/api/v4` or `https://HOST/api/v4`. */
  apiUrl?: string;
  /** Numeric project id or `group/sub/project` path. */
  project: string;
  mr: number;
  token: string;
  /** `private-token` (personal, project or group access token) or `bearer` (OAuth token). */
  auth?: 'private-token' | 'bearer';
  tokenEnv?: string;
  /** Web address of the merge request, to link the status to the note. */
  webUrl?: string;
  fetch?: FetchLike;
}

/** The fields of a note we read (GET /projects/:id/merge_requests/:iid/notes). */
interface Note {
  id: number;
  body?: string | null;
  system?: boolean;
}

/** GitLab's commit status states; a plan that could not be made is `failed` too. */
const STATE = { success: 'success', failure: 'failed', error: 'failed' } as const;

export class GitLabReview implements ReviewHost {
  readonly provider = 'gitlab';
  readonly subject: string;
  readonly maxCommentLength = GITLAB_NOTE_LIMIT;
  private readonly client: ApiClient;
  private readonly projectPath: string;

  constructor(private readonly options: GitLabOptions) {
    if (!options.project) throw new KaiduError('E_USAGE', '--repo must be a GitLab project id or path');
    if (!Number.isInteger(options.mr) || options.mr <= 0) throw new KaiduError('E_USAGE', `--pr must be a merge request iid, not "${options.mr}"`);
    this.projectPath = `/projects/${encodeURIComponent(options.project)}`;
    this.subject = `merge request ${options.project}!${options.mr}`;
    this.client = {
      apiUrl: options.apiUrl ?? GITLAB_API_URL,
      headers: {
        Accept: 'application/json',
        'User-Agent': 'kaidu',
        ...(options.auth === 'bearer' ? { Authorization: `Bearer ${options.token}` } : { 'PRIVATE-TOKEN': options.token }),
      },
      subject: this.subject,
      authHint: `check the token in ${options.tokenEnv ?? 'GITLAB_TOKEN'} (it needs the api scope) and --api-url`,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    };
  }

  private url(path: string): string {
    return apiUrlOf(this.client.apiUrl, `${this.projectPath}${path}`);
  }

  async findNote(marker: string): Promise<Note | undefined> {
    const notes = await apiList<Note>(this.client, this.url(`/merge_requests/${this.options.mr}/notes?per_page=100&sort=asc&order_by=created_at`));
    return notes.find((n) => !n.system && typeof n.body === 'string' && n.body.includes(marker));
  }

  upsertComment(body: string, marker: string): Promise<PostedComment> {
    return upsertStickyComment(
      {
        find: async () => this.asHostComment(await this.findNote(marker)),
        create: async (text) => this.asHostComment((await apiRequest<Note>(this.client, 'POST', this.url(`/merge_requests/${this.options.mr}/notes`), { body: text })).body),
        update: async (id, text) => this.asHostComment((await apiRequest<Note>(this.client, 'PUT', this.url(`/merge_requests/${this.options.mr}/notes/${id}`), { body: text })).body),
      },
      body,
    );
  }

  /** GitLab gives no web address for a note: it is the merge request's, with the note's anchor. */
  private asHostComment(n: Note | null | undefined): HostComment | undefined {
    if (!n) return undefined;
    return { id: n.id, body: n.body, ...(this.options.webUrl && n.id != null ? { url: `${this.options.webUrl}#note_${n.id}` } : {}) };
  }

  async setStatus(sha: string, status: PlanStatus): Promise<void> {
    await apiRequest(this.client, 'POST', this.url(`/statuses/${encodeURIComponent(sha)}`), {
      state: STATE[status.state],
      name: STATUS_CONTEXT,
      description: status.description,
      ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
    });
  }
}
