/**
 * Publishing a plan for review: one sticky comment on the pull (merge) request and a commit
 * status. The review host (GitHub, GitLab) is behind one small interface.
 */
import type { Plan } from '../plan/index.js';
import { commentBody, planMarker } from './comment-body.js';
import { planStatus, type PlanStatus } from './plan-status.js';

export interface PostedComment {
  id: number;
  /** Web address of the comment, when the host says it. */
  url?: string;
  action: 'created' | 'updated' | 'unchanged';
}

export interface ReviewHost {
  readonly provider: 'github' | 'gitlab';
  /** The pull or merge request, in words (`pull request acme/web#12`). */
  readonly subject: string;
  /** Longest comment the host accepts. */
  readonly maxCommentLength: number;
  /** Updates the comment carrying `marker` in place, or creates it. */
  upsertComment(body: string, marker: string): Promise<PostedComment>;
  setStatus(sha: string, status: PlanStatus): Promise<void>;
}

/** A host's comment in the fields the sticky comment needs (each host maps its own API's). */
export interface HostComment {
  id: number;
  body?: string | null | undefined;
  url?: string | undefined;
}

/** One host's calls on the comments of one pull (merge) request. */
export interface CommentThread {
  /** Our earlier comment, if any. */
  find(): Promise<HostComment | undefined>;
  /** What the host answers: the written comment, or nothing when it does not say. */
  create(body: string): Promise<Partial<HostComment> | undefined>;
  update(id: number, body: string): Promise<Partial<HostComment> | undefined>;
}

/**
 * The sticky comment: our earlier comment is edited in place, or left alone when the body is the
 * same (an edit would notify reviewers for nothing); created only when there is none.
 */
export async function upsertStickyComment(thread: CommentThread, body: string): Promise<PostedComment> {
  const existing = await thread.find();
  if (existing && existing.body === body) return posted(existing.id, 'unchanged', existing.url);
  const written = existing ? await thread.update(existing.id, body) : await thread.create(body);
  // Where the host's answer leaves out the id or the address, the found comment's stand.
  return posted(written?.id ?? existing!.id, existing ? 'updated' : 'created', written?.url ?? existing?.url);
}

function posted(id: number, action: PostedComment['action'], url: string | undefined): PostedComment {
  return { id, action, ...(url ? { url } : {}) };
}

export interface PublishOptions {
  /** Commit the status is set on; none: no status. */
  sha?: string;
  key?: string;
  fullPlanUrl?: string;
}

export interface PublishResult {
  comment: PostedComment;
  status?: PlanStatus;
  body: string;
}

export async function publishPlan(host: ReviewHost, plan: Plan, options: PublishOptions = {}): Promise<PublishResult> {
  const body = commentBody(plan, {
    maxLength: host.maxCommentLength,
    ...(options.key ? { key: options.key } : {}),
    ...(options.fullPlanUrl ? { fullPlanUrl: options.fullPlanUrl } : {}),
  });
  const comment = await host.upsertComment(body, planMarker(options.key));
  // The status links to the comment: that is where a reviewer reads why it is red.
  const status = options.sha ? planStatus(plan, comment.url ?? options.fullPlanUrl) : undefined;
  if (options.sha && status) await host.setStatus(options.sha, status);
  return { comment, body, ...(status ? { status } : {}) };
}
