/** The commit status a plan earns: `kaidu/plan` is red when the templates do not compile. */
import { summaryLine, type Plan } from '../plan/index.js';

export const STATUS_CONTEXT = 'kaidu/plan';
/** GitHub refuses longer status descriptions. */
export const STATUS_DESCRIPTION_LIMIT = 140;

export type PlanStatusState = 'success' | 'failure' | 'error';

export interface PlanStatus {
  /** `error`: no plan could be computed at all (not the templates' fault, e.g. a bad revision). */
  state: PlanStatusState;
  description: string;
  targetUrl?: string;
}

export function planStatus(plan: Plan, targetUrl?: string): PlanStatus {
  const errors = plan.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const first = errors[0]!;
    const description = `${errors.length} error${errors.length === 1 ? '' : 's'}: templates do not compile (${first.file}:${first.line}: ${first.message})`;
    return withUrl({ state: 'failure', description: shorten(description) }, targetUrl);
  }
  return withUrl({ state: 'success', description: shorten(summaryLine(plan.summary)) }, targetUrl);
}

/** For a plan that could not be computed: the error's message, shortened. */
export function failedPlanStatus(message: string, targetUrl?: string): PlanStatus {
  return withUrl({ state: 'error', description: shorten(`no plan: ${message}`) }, targetUrl);
}

export function shorten(s: string, max = STATUS_DESCRIPTION_LIMIT): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : one.slice(0, max - 1) + '…';
}

function withUrl(status: PlanStatus, targetUrl: string | undefined): PlanStatus {
  return targetUrl ? { ...status, targetUrl } : status;
}
