/**
 * What a CI run tells about the change under review: GitHub Actions (`GITHUB_*` variables and the
 * event payload at `GITHUB_EVENT_PATH`) and GitLab CI (`CI_*` variables).
 */
import { readFile } from 'node:fs/promises';

export interface ReviewContext {
  /** GitHub `OWNER/NAME`; GitLab project id or path. */
  repo?: string;
  /** Pull request number or merge request iid. */
  pr?: number;
  /** The head commit of the change (not GitHub's merge commit). */
  sha?: string;
  apiUrl?: string;
  /** The CI run, where the full plan is in the log. */
  runUrl?: string;
  /** Web address of the pull or merge request. */
  webUrl?: string;
}

interface GitHubEventPayload {
  number?: number;
  pull_request?: { number?: number; html_url?: string; head?: { sha?: string } };
  /** issue_comment events on a pull request. */
  issue?: { number?: number; pull_request?: unknown };
}

export async function githubContext(env: NodeJS.ProcessEnv): Promise<ReviewContext> {
  let event: GitHubEventPayload = {};
  if (env.GITHUB_EVENT_PATH) {
    try {
      event = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, 'utf8')) as GitHubEventPayload;
    } catch {
      // No readable payload (a local run): the flags must say it.
    }
  }
  const pr = event.pull_request?.number ?? (event.issue?.pull_request ? event.issue.number : undefined) ?? event.number;
  const sha = event.pull_request?.head?.sha ?? env.GITHUB_SHA;
  const runUrl =
    env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL.replace(/\/+$/, '')}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  return definedOnly({
    repo: env.GITHUB_REPOSITORY,
    pr: typeof pr === 'number' ? pr : undefined,
    sha,
    apiUrl: env.GITHUB_API_URL,
    runUrl,
    webUrl: event.pull_request?.html_url,
  });
}

export function gitlabContext(env: NodeJS.ProcessEnv): ReviewContext {
  const iid = Number(env.CI_MERGE_REQUEST_IID);
  const project = env.CI_MERGE_REQUEST_PROJECT_URL ?? env.CI_PROJECT_URL;
  return definedOnly({
    repo: env.CI_PROJECT_ID ?? env.CI_PROJECT_PATH,
    pr: Number.isInteger(iid) && iid > 0 ? iid : undefined,
    sha: env.CI_MERGE_REQUEST_SOURCE_BRANCH_SHA || env.CI_COMMIT_SHA,
    apiUrl: env.CI_API_V4_URL,
    runUrl: env.CI_JOB_URL ?? env.CI_PIPELINE_URL,
    webUrl: project && Number.isInteger(iid) && iid > 0 ? `${project}/-/merge_requests/${iid}` : undefined,
  });
}

function definedOnly(ctx: { [K in keyof ReviewContext]: ReviewContext[K] | undefined }): ReviewContext {
  return Object.fromEntries(Object.entries(ctx).filter(([, v]) => v !== undefined && v !== '')) as ReviewContext;
}
