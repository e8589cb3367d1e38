/**
 * The text of the sticky plan comment: a hidden marker (so a later run finds and updates the same
 * comment), then the Markdown plan, kept under the review host's size limit.
 */
import { renderMarkdown, type Plan } from '../plan/index.js';

/** GitHub refuses issue comments longer than this (characters). */
export const GITHUB_COMMENT_LIMIT = 65_535;
/** GitLab notes may be up to 1,000,000 characters. */
export const GITLAB_NOTE_LIMIT = 1_000_000;

/**
 * `<!-- kaidu-plan -->`, or `<!-- kaidu-plan:KEY -->` when several repositories or services post
 * to the same pull request. The key is restricted so it cannot close the HTML comment.
 */
export function planMarker(key?: string): string {
  if (key === undefined || key === '') return '<!-- kaidu-plan -->';
  const safe = key.replace(/[^A-Za-z0-9._/:@-]/g, '_');
  return `<!-- kaidu-plan:${safe} -->`;
}

export interface CommentBodyOptions {
  key?: string;
  fullPlanUrl?: string;
  maxLength?: number;
  title?: string;
}

export function commentBody(plan: Plan, options: CommentBodyOptions = {}): string {
  const marker = planMarker(options.key);
  const max = options.maxLength ?? GITHUB_COMMENT_LIMIT;
  const budget = max - marker.length - 1;
  const markdown = renderMarkdown(plan, {
    maxLength: budget,
    ...(options.fullPlanUrl ? { fullPlanUrl: options.fullPlanUrl } : {}),
    ...(options.title ? { title: options.title } : {}),
  });
  return `${marker}\n${fitMarkdown(markdown, budget, options.fullPlanUrl)}`;
}

const DETAILS = /<details>(\s*<summary>[\s\S]*?<\/summary>)?[\s\S]*?<\/details>/g;

/**
 * Makes Markdown fit in `max` characters whatever produced it: first the folded `<details>`
 * sections lose their content (largest first, the summaries stay), then the text is cut at a line
 * end, with open code fences and details closed, and a note with the link to the full plan.
 */
export function fitMarkdown(text: string, max: number, fullPlanUrl?: string): string {
  if (text.length <= max) return text;
  const stub = '\n\n_(cut to fit; see the full plan)_\n</details>';
  const blocks = [...text.matchAll(DETAILS)].map((m) => ({ start: m.index, end: m.index + m[0].length, summary: m[1] ?? '' }));
  const replaced = new Map<number, string>();
  let length = text.length;
  for (const b of [...blocks].sort((x, y) => y.end - y.start - (x.end - x.start))) {
    if (length <= max) break;
    const short = `<details>${b.summary}${stub}`;
    if (short.length >= b.end - b.start) continue;
    replaced.set(b.start, short);
    length -= b.end - b.start - short.length;
  }
  let out = text;
  if (replaced.size > 0) {
    const parts: string[] = [];
    let at = 0;
    for (const b of blocks) {
      const short = replaced.get(b.start);
      if (short === undefined) continue;
      parts.push(text.slice(at, b.start), short);
      at = b.end;
    }
    parts.push(text.slice(at));
    out = parts.join('');
  }
  if (out.length <= max) return out;
  const note = `\n\n---\n> [!NOTE]\n> The plan was cut to fit in a comment. ${fullPlanUrl ? `[See the full plan](${fullPlanUrl}).` : 'Run `kaidu plan` for the full plan.'}\n`;
  // Room for the note and for closing what the cut leaves open.
  const room = Math.max(0, max - note.length - 64);
  let cut = out.slice(0, room);
  const lineEnd = cut.lastIndexOf('\n');
  if (lineEnd > room / 2) cut = cut.slice(0, lineEnd);
  let closing = '';
  if ((cut.match(/^\s*```/gm) ?? []).length % 2 === 1) closing += '\n```';
  const open = (cut.match(/<details>/g) ?? []).length - (cut.match(/<\/details>/g) ?? []).length;
  for (let i = 0; i < open && closing.length < 48; i++) closing += '\n</details>';
  return (cut + closing + note).slice(0, max);
}
