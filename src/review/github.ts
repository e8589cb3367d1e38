/**
 * GitHub (and GitHub Enterprise Server) review host: the plan as one issue comment on the pull
 * request, found again by its marker, and a commit status `kaidu/plan`.
 * REST API version 2022-11-28.
 */
import { KaiduError } from '../errors/kaidu-error.js';
import { apiList, apiRequest, apiUrlOf, type ApiClient, type FetchLike } from './api-request.js';
import { GITHUB_COMMENT_LIMIT } from './comment-body.js';
import { STATUS_CONTEXT, type PlanStatus } from './plan-status.js';
import { upsertStickyComment, type HostComment, type PostedComment, type ReviewHost } from './publish.js';

export const GITHUB_API_URL = 'https://api.github.com';

export interface GitHubOptions {
  /** `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise Server. */
  apiUrl?: string;
  /** `OWNER/NAME`. */
  repo: string;
  pr: number;
  token: string;
  /** Name of the variable the token came from, for the hint when it is rejected. */
  tokenEnv?: string;
  fetch?: FetchLike;
}

/** The fields of an issue comment we read (GET /repos/{owner}/{repo}/issues/{n}/comments). */
interface IssueComment {
  id: number;
  body?: string | null;
  html_url?: string;
}

export class GitHubReview implements ReviewHost {
  readonly provider = 'github';
  readonly subject: string;
  readonly maxCommentLength = GITHUB_COMMENT_LIMIT;
  private readonly client: ApiClient;
  private readonly repoPath: string;

  constructor(private readonly options: GitHubOptions) {
    const [owner, name, extra] = options.repo.split('/');
    if (!owner || !name || extra !== undefined) throw new KaiduError('E_USAGE', `--repo must be OWNER/NAME, not "${options.repo}"`);
    if (!Number.isInteger(options.pr) || options.pr <= 0) throw new KaiduError('E_USAGE', `--pr must be a pull request number, not "${options.pr}"`);
    this.repoPath = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
    this.subject = `pull request ${options.repo}#${options.pr}`;
    this.client = {
      apiUrl: options.apiUrl ?? GITHUB_API_URL,
      headers: {
        Accept: 'application/vnd.github+json',
        Authorization: `Bearer ${options.token}`,
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': 'kaidu',
      },
      subject: this.subject,
      authHint: `check the token in ${options.tokenEnv ?? 'GITHUB_TOKEN'} (and --api-url for GitHub Enterprise)`,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    };
  }

  private url(path: string): string {
    return apiUrlOf(this.client.apiUrl, `${this.repoPath}${path}`);
  }

  /** Our earlier comment: the first one whose body carries the marker. */
  async findComment(marker: string): Promise<IssueComment | undefined> {
    const comments = await apiList<IssueComment>(this.client, this.url(`/issues/${this.options.pr}/comments?per_page=100`));
    return comments.find((c) => typeof c.body === 'string' && c.body.includes(marker));
  }

  upsertComment(body: string, marker: string): Promise<PostedComment> {
    return upsertStickyComment(
      {
        find: async () => asHostComment(await this.findComment(marker)),
        create: async (text) => asHostComment((await apiRequest<IssueComment>(this.client, 'POST', this.url(`/issues/${this.options.pr}/comments`), { body: text })).body),
        update: async (id, text) => asHostComment((await apiRequest<IssueComment>(this.client, 'PATCH', this.url(`/issues/comments/${id}`), { body: text })).body),
      },
      body,
    );
  }

  async setStatus(sha: string, status: PlanStatus): Promise<void> {
    await apiRequest(this.client, 'POST', this.url(`/statuses/${encodeURIComponent(sha)}`), {
      state: status.state,
      context: STATUS_CONTEXT,
      description: status.description,
      ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
    });
  }
}

function asHostComment(c: IssueComment | null | undefined): HostComment | undefined {
  return c ? { id: c.id, body: c.body, url: c.html_url } : undefined;
}
