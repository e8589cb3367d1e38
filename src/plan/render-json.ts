import type { Plan } from './model.js';

/**
 * The `--json` form: the plan itself (schema `kaidu/plan/v1`, documented in the README), with a
 * fixed key order so equal plans are byte-identical.
 */
export function renderJson(plan: Plan): string {
  return JSON.stringify(plan, null, 2) + '\n';
}

export function parsePlanJson(text: string): Plan {
  return JSON.parse(text) as Plan;
}
