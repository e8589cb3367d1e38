import type { PlainValue } from '../state/model.js';
import { formatDiagnostic } from '../tosca/diagnostic.js';
import type { Action, ActionKind, Plan } from './model.js';

export interface TextOptions {
  color: boolean;
  /** Show unchanged nodes too. */
  verbose?: boolean;
}

const SYMBOL: Record<ActionKind, string> = { create: '+', update: '~', delete: '-', noop: ' ', wait: '…' };
const COLOR: Record<ActionKind, string> = { create: '32', update: '33', delete: '31', noop: '2', wait: '36' };

/** Colour only when the caller says so: on a TTY and without NO_COLOR (see `useColor`). */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export function formatValue(v: PlainValue | undefined): string {
  if (v === undefined) return '(none)';
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
}

/** For a --base/--head plan: which state it was planned against, and what that state holds. */
export function stateLine(plan: Plan, code: (s: string) => string = (s) => s): string | undefined {
  if (!plan.baseRevision) return undefined;
  const base = code(plan.baseRevision.slice(0, 12));
  const head = code(plan.revision.slice(0, 12));
  const st = plan.baseState;
  const holds = !st ? '' : st.nodes === 0 ? ': none is recorded there, so every node is new' : `: ${st.nodes} node${st.nodes === 1 ? '' : 's'} on ${st.hosts} host${st.hosts === 1 ? '' : 's'}`;
  return `Templates at ${head}, planned against the state recorded at ${base}${holds}.`;
}

export function summaryLine(s: Record<ActionKind, number>): string {
  return `${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.wait} waiting, ${s.noop} unchanged`;
}

/** Terraform-like text: `+` create, `~` update, `-` delete, `…` wait, grouped by host and wave. */
export function renderText(plan: Plan, options: TextOptions): string {
  const paint = (code: string, s: string) => (options.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const out: string[] = [];
  const against = stateLine(plan);
  if (against) out.push(against, '');
  for (const d of plan.diagnostics) out.push(paint(d.severity === 'error' ? '31' : '33', formatDiagnostic(d)));
  if (plan.diagnostics.length) out.push('');
  for (const h of plan.hosts) {
    const shown = h.waves.flat().filter((a) => options.verbose || a.kind !== 'noop');
    out.push(paint('1', `Host ${h.host}: ${summaryLine(h.summary)}`));
    if (shown.length === 0) {
      out.push('  no changes', '');
      continue;
    }
    h.waves.forEach((wave, i) => {
      const acts = wave.filter((a) => options.verbose || a.kind !== 'noop');
      if (acts.length === 0) return;
      out.push(paint('2', `  wave ${i + 1}`));
      for (const a of acts) out.push(...actionLines(a, paint));
    });
    out.push('');
  }
  out.push(paint('1', `Plan: ${summaryLine(plan.summary)}.`));
  return out.join('\n') + '\n';
}

function actionLines(a: Action, paint: (c: string, s: string) => string): string[] {
  const lines = [paint(COLOR[a.kind], `  ${SYMBOL[a.kind]} ${a.node} (${a.type})${a.destructive ? ' [destructive]' : ''}: ${a.reason}`)];
  if (a.kind === 'update' || a.kind === 'create') {
    for (const c of a.changes) {
      lines.push(
        c.old === undefined
          ? paint(COLOR.create, `      + ${c.path} = ${formatValue(c.new)}`)
          : c.new === undefined
            ? paint(COLOR.delete, `      - ${c.path} = ${formatValue(c.old)}`)
            : paint(COLOR.update, `      ~ ${c.path}: ${formatValue(c.old)} → ${formatValue(c.new)}`),
      );
    }
  }
  return lines;
}
