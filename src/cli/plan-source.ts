import type { Plan } from '../plan/model.js';

export interface PlanSourceOptions {
  /** Repository working tree (or any directory inside a git repository). */
  cwd: string;
  /** With base/head: read templates and state from those git revisions, no checkout. */
  base?: string;
  head?: string;
  host?: string;
  inputs?: Record<string, unknown>;
}

/** Compile and plan a repository (stub: being written by the lead). */
export async function loadPlan(_opts: PlanSourceOptions): Promise<Plan> {
  throw new Error('loadPlan: not implemented yet');
}
