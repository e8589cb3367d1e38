/** Plans built by hand (the planner is tested elsewhere). */
import { emptySummary, PLAN_SCHEMA, type Action, type ActionKind, type Plan } from '../../src/plan/model.js';
import type { Diagnostic } from '../../src/tosca/diagnostic.js';

export function action(kind: ActionKind, node: string, host = 'host-a', changes = 1, valueSize = 20): Action {
  const service = node.split('/')[0]!;
  return {
    kind,
    node,
    service,
    key: node.split('/')[1] ?? node,
    host,
    type: 'kaidu:Process',
    types: ['kaidu:Process', 'tosca:Root'],
    reason: kind === 'create' ? 'not deployed yet' : kind === 'delete' ? 'removed from the templates' : 'properties changed',
    changes: Array.from({ length: kind === 'noop' ? 0 : changes }, (_, i) => ({ path: `properties.p${i}`, old: 'o'.repeat(valueSize), new: 'n'.repeat(valueSize) })),
    dependsOn: [],
    destructive: kind === 'delete',
  };
}

export function makePlan(byHost: Record<string, Action[]>, diagnostics: Diagnostic[] = []): Plan {
  const summary = emptySummary();
  const hosts = Object.entries(byHost)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([host, actions]) => {
      const s = emptySummary();
      for (const a of actions) {
        s[a.kind]++;
        summary[a.kind]++;
      }
      return { host, waves: [actions], summary: s };
    });
  const placement: Record<string, string> = {};
  for (const h of hosts) for (const a of h.waves.flat()) placement[a.node] = h.host;
  return { schema: PLAN_SCHEMA, revision: 'a'.repeat(40), baseRevision: 'b'.repeat(40), hosts, diagnostics, summary, placement };
}

export const smallPlan = (): Plan => makePlan({ 'host-a': [action('create', 'web/server'), action('noop', 'web/port')] });

export const brokenPlan = (): Plan =>
  makePlan({ 'host-a': [] }, [
    { severity: 'error', code: 'E_TOSCA_UNKNOWN_TYPE', message: 'unknown node type "kaidu:Proces"', file: 'services/web.yaml', line: 7, column: 13 },
  ]);

/** Thousands of actions with long property values: far over any comment limit when rendered in full. */
export function hugePlan(): Plan {
  const byHost: Record<string, Action[]> = {};
  for (let h = 0; h < 4; h++) {
    byHost[`host-${h}`] = Array.from({ length: 600 }, (_, i) => action(i % 7 === 0 ? 'delete' : 'update', `svc${i % 40}/node-${h}-${i}`, `host-${h}`, 6, 180));
  }
  return makePlan(byHost);
}
