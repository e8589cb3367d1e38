import { stringify as stringifyYaml } from 'yaml';
import type { PlainValue } from '../state/model.js';
import { mermaidId, mermaidLabel } from '../topology/mermaid.js';
import type { Action, ActionKind, Plan } from './model.js';
import { stateLine, summaryLine } from './render-text.js';

export interface MarkdownOptions {
  /** Link to the full plan (e.g. the CI run), shown when details had to be folded away. */
  fullPlanUrl?: string;
  /** Upper bound on the output length in characters (GitHub comments: 65,535). */
  maxLength?: number;
  /** A title line; default "Kaidu plan". */
  title?: string;
}

const ICON: Record<ActionKind, string> = { create: '🟢 create', update: '🟡 update', delete: '🔴 delete', noop: 'unchanged', wait: '⏳ wait' };
const SYMBOL: Record<ActionKind, string> = { create: '+', update: '~', delete: '-', noop: ' ', wait: '…' };

/** Values longer than this, or with a line break, go in a fenced block under the table. */
const INLINE_MAX = 80;

function asText(v: PlainValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function isLong(v: PlainValue | undefined): boolean {
  if (v === undefined) return false;
  const s = asText(v);
  return s.length > INLINE_MAX || s.includes('\n') || (typeof v !== 'string' && JSON.stringify(v).includes('\\n'));
}

/** A code span that shows the text exactly: a delimiter longer than any run of backticks inside. */
export function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || (text.startsWith(' ') && text.endsWith(' ') && text.trim() !== '') ? ' ' : '';
  return fence + pad + text + pad + fence;
}

/** A fenced block that no line of the text can close early. */
export function fencedBlock(text: string, lang = ''): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text.replace(/\n$/, '')}\n${fence}`;
}

/** A long value as lines: a string as is, a list or map as YAML (multi-line strings as blocks). */
function longText(v: PlainValue): string {
  return typeof v === 'string' ? v : stringifyYaml(v, { lineWidth: 0, aliasDuplicateObjects: false });
}

function cell(v: PlainValue | undefined): string {
  if (v === undefined) return '';
  if (isLong(v)) return '_(below)_';
  // Inside a table a pipe must be escaped even in a code span (GitHub's table rule).
  return codeSpan(asText(v)).replace(/\|/g, '\\|');
}

function esc(s: string): string {
  return s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
}

/** Mermaid picture of the changed nodes and their direct neighbours, grouped by host. */
function mermaid(plan: Plan): string | undefined {
  const all = new Map<string, Action>();
  for (const h of plan.hosts) for (const a of h.waves.flat()) all.set(a.node, a);
  const changed = [...all.values()].filter((a) => a.kind !== 'noop');
  if (changed.length === 0) return undefined;
  const shown = new Set(changed.map((a) => a.node));
  for (const a of changed) for (const d of a.dependsOn) shown.add(d);
  for (const a of all.values()) if (a.dependsOn.some((d) => changed.some((c) => c.node === d))) shown.add(a.node);
  if (shown.size > 150) return undefined; // too big to be a useful picture
  const id = mermaidId;
  const byHost = new Map<string, string[]>();
  for (const n of [...shown].sort()) {
    const host = all.get(n)?.host ?? plan.placement[n] ?? '?';
    (byHost.get(host) ?? byHost.set(host, []).get(host)!).push(n);
  }
  const lines = ['```mermaid', 'flowchart LR'];
  for (const [host, ids] of [...byHost].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  subgraph ${id('host:' + host)}["${mermaidLabel(host)}"]`);
    for (const n of ids) {
      const a = all.get(n);
      lines.push(`    ${id(n)}["${mermaidLabel(`${a && a.kind !== 'noop' ? SYMBOL[a.kind] + ' ' : ''}${n}`)}"]`);
    }
    lines.push('  end');
  }
  for (const a of all.values()) for (const d of a.dependsOn) if (shown.has(a.node) && shown.has(d)) lines.push(`  ${id(a.node)} -->|needs| ${id(d)}`);
  for (const a of all.values()) for (const w of a.waitingFor ?? []) {
    const target = w.replace(/@[^@]*$/, '');
    if (shown.has(a.node) && shown.has(target)) lines.push(`  ${id(a.node)} -.->|waits for| ${id(target)}`);
  }
  // The legend: one box per kind of change present, and what an arrow means.
  const kinds = (['create', 'update', 'delete', 'wait'] as const).filter((k) => changed.some((a) => a.kind === k));
  lines.push(`  subgraph legend["legend: A --needs--> B: B first"]`);
  for (const k of kinds) lines.push(`    legend_${k}["${mermaidLabel(`${SYMBOL[k]} ${k === 'wait' ? 'waits for another host' : k}`)}"]`);
  if (shown.size > changed.length) lines.push(`    legend_noop["unchanged"]`);
  lines.push('  end');
  lines.push('  classDef create fill:#d4f7d4,stroke:#2a7a2a', '  classDef update fill:#fff3c4,stroke:#a07800', '  classDef delete fill:#ffd6d6,stroke:#a00000', '  classDef wait fill:#e0e8ff,stroke:#3050a0');
  for (const a of changed) lines.push(`  class ${id(a.node)} ${a.kind}`);
  for (const k of kinds) lines.push(`  class legend_${k} ${k}`);
  lines.push('```');
  return lines.join('\n');
}

function actionDetails(a: Action): string {
  const head = `<details><summary><code>${SYMBOL[a.kind]} ${esc(a.node)}</code> (${esc(a.type)})${a.destructive ? ' ⚠️' : ''}: ${esc(a.reason)}</summary>\n\n`;
  const rows = a.changes.map((c) => `| ${codeSpan(c.path).replace(/\|/g, '\\|')} | ${cell(c.old)} | ${cell(c.new)} |`);
  const table = rows.length ? `| property | old | new |\n| --- | --- | --- |\n${rows.join('\n')}\n` : '_no property changes_\n';
  const long: string[] = [];
  for (const c of a.changes) {
    for (const [side, v] of [['old', c.old], ['new', c.new]] as const) {
      if (v !== undefined && isLong(v)) long.push(`\n${codeSpan(c.path)} ${side}:\n\n${fencedBlock(longText(v), typeof v === 'string' ? 'text' : 'yaml')}\n`);
    }
  }
  const deps = a.dependsOn.length ? `\nneeds: ${a.dependsOn.map((d) => codeSpan(d)).join(', ')}\n` : '';
  const wait = a.waitingFor?.length ? `\nwaiting for: ${a.waitingFor.map((d) => codeSpan(d)).join(', ')}\n` : '';
  return head + table + long.join('') + deps + wait + '\n</details>';
}

/**
 * Markdown a reviewer reads in a pull request: destructive actions first, counts per host,
 * every action with its property diff (folded), compile diagnostics, and a mermaid picture of
 * what changes. With `maxLength`, details are dropped host by host before anything else.
 */
export function renderMarkdown(plan: Plan, options: MarkdownOptions = {}): string {
  const errors = plan.diagnostics.filter((d) => d.severity === 'error');
  const warnings = plan.diagnostics.filter((d) => d.severity !== 'error');
  const head: string[] = [`## ${options.title ?? 'Kaidu plan'}`, ''];
  head.push(`**${summaryLine(plan.summary)}**${plan.baseRevision ? ` — \`${plan.baseRevision.slice(0, 12)}\` → \`${plan.revision.slice(0, 12)}\`` : ` at \`${plan.revision.slice(0, 12)}\``}`, '');
  const against = stateLine(plan, codeSpan);
  if (against) head.push(against, '');
  if (errors.length > 0) {
    head.push(`> [!CAUTION]\n> The templates do not compile: ${errors.length} error${errors.length === 1 ? '' : 's'}. Services with errors are left as they are.`, '');
  }
  const destructive = plan.hosts.flatMap((h) => h.waves.flat()).filter((a) => a.destructive);
  if (destructive.length > 0) {
    head.push(`> [!WARNING]\n> ${destructive.length} destructive action${destructive.length === 1 ? '' : 's'}:`);
    for (const a of destructive.slice(0, 50)) head.push(`> - \`${SYMBOL[a.kind]} ${a.node}\` on **${a.host}**: ${esc(a.reason)}`);
    if (destructive.length > 50) head.push(`> - … and ${destructive.length - 50} more`);
    head.push('');
  }
  head.push('| host | create | update | delete | wait | unchanged |', '| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const h of plan.hosts) head.push(`| ${h.host} | ${h.summary.create} | ${h.summary.update} | ${h.summary.delete} | ${h.summary.wait} | ${h.summary.noop} |`);
  head.push('');
  if (plan.diagnostics.length > 0) {
    head.push('### Diagnostics', '', '| severity | where | problem |', '| --- | --- | --- |');
    for (const d of [...errors, ...warnings].slice(0, 100)) head.push(`| ${d.severity} | \`${d.file}:${d.line}:${d.column}\` | ${d.code}: ${esc(d.message).replace(/\|/g, '\\|')} |`);
    if (plan.diagnostics.length > 100) head.push(`| | | … ${plan.diagnostics.length - 100} more |`);
    head.push('');
  }
  const picture = mermaid(plan);
  const tail: string[] = [];
  if (picture) tail.push('### What changes', '', picture, '');
  const sections = plan.hosts
    .map((h) => {
      const acts = h.waves.flat().filter((a) => a.kind !== 'noop');
      if (acts.length === 0) return undefined;
      return { host: h.host, full: [`### ${h.host}`, '', ...acts.map(actionDetails), ''].join('\n'), brief: [`### ${h.host}`, '', ...acts.map((a) => `- \`${SYMBOL[a.kind]} ${a.node}\` ${ICON[a.kind]}: ${esc(a.reason)}`), ''].join('\n') };
    })
    .filter((s): s is { host: string; full: string; brief: string } => s !== undefined);
  const footer = options.fullPlanUrl ? `\n[Full plan](${options.fullPlanUrl})\n` : '';
  const assemble = (body: string[], folded: boolean) =>
    [...head, ...body, ...tail].join('\n') + (folded ? `\n_Details were folded to fit.${options.fullPlanUrl ? '' : ' Run `kaidu plan` for the full plan.'}_\n` : '') + footer;
  const max = options.maxLength ?? Infinity;
  const parts = sections.map((s) => s.full);
  let text = assemble(parts, false);
  // Fold the largest host sections to one line per action until it fits.
  const order = sections.map((s, i) => ({ i, size: s.full.length })).sort((a, b) => b.size - a.size);
  for (const { i } of order) {
    if (text.length <= max) break;
    parts[i] = sections[i]!.brief;
    text = assemble(parts, true);
  }
  if (text.length > max) {
    tail.length = 0;
    text = assemble(parts, true);
  }
  if (text.length > max) {
    const note = `\n\n…plan cut to fit.${options.fullPlanUrl ? ` [Full plan](${options.fullPlanUrl})` : ''}\n`;
    text = text.slice(0, Math.max(0, max - note.length)) + note;
  }
  return text;
}
