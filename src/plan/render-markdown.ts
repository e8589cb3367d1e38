import type { Plan } from './model.js';

export interface MarkdownOptions {
  /** Link to the full plan (e.g. the CI run), shown when details had to be folded away. */
  fullPlanUrl?: string;
  /** Upper bound on the output length in characters (GitHub comments: 65,535). */
  maxLength?: number;
}

/** Markdown for a pull-request review. (Being written by the lead; stub.) */
export function renderMarkdown(plan: Plan, _options: MarkdownOptions = {}): string {
  return `# Kaidu plan\n\n${JSON.stringify(plan.summary)}\n`;
}
