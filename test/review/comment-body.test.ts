import { describe, expect, it } from 'vitest';
import { commentBody, fitMarkdown, GITHUB_COMMENT_LIMIT, planMarker } from '../../src/review/comment-body.js';
import { planStatus } from '../../src/review/plan-status.js';
import { brokenPlan, hugePlan, smallPlan } from './plan-fixtures.js';

describe('comment body', () => {
  it('starts with the hidden marker, keyed when asked', () => {
    expect(commentBody(smallPlan()).startsWith('<!-- kaidu-plan -->\n')).toBe(true);
    expect(commentBody(smallPlan(), { key: 'billing' }).startsWith('<!-- kaidu-plan:billing -->\n')).toBe(true);
    // A key cannot end the HTML comment early.
    expect(planMarker('x --> <b>')).toBe('<!-- kaidu-plan:x_--___b_ -->');
  });

  it('keeps a huge plan within GitHub’s 65,535 characters, with the link to the full plan', () => {
    const plan = hugePlan();
    const url = 'https://github.com/acme/web/actions/runs/1';
    const body = commentBody(plan, { fullPlanUrl: url });
    expect(body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(body.startsWith(planMarker() + '\n')).toBe(true);
    expect(body).toContain(url);
    // Whatever got cut, no code fence or details section is left open.
    expect((body.match(/^\s*```/gm) ?? []).length % 2).toBe(0);
    expect((body.match(/<details>/g) ?? []).length).toBe((body.match(/<\/details>/g) ?? []).length);
  });

  it('honours a smaller limit too', () => {
    const body = commentBody(hugePlan(), { maxLength: 5000, fullPlanUrl: 'https://ci/run/1' });
    expect(body.length).toBeLessThanOrEqual(5000);
    expect(body).toContain('https://ci/run/1');
  });
});

describe('fitMarkdown', () => {
  const details = (name: string, size: number) => `<details><summary>${name}</summary>\n\n${'x'.repeat(size)}\n</details>`;

  it('returns text that fits unchanged', () => {
    expect(fitMarkdown('# plan\n', 100)).toBe('# plan\n');
  });

  it('empties the largest folded sections first and keeps every summary', () => {
    const text = ['# plan', details('small', 100), details('big', 5000), details('medium', 1000), 'the end'].join('\n');
    const out = fitMarkdown(text, 2000, 'https://ci/run');
    expect(out.length).toBeLessThanOrEqual(2000);
    expect(out).toContain('<summary>big</summary>');
    expect(out).toContain('<summary>small</summary>\n\n' + 'x'.repeat(100));
    expect(out).toContain('<summary>medium</summary>\n\n' + 'x'.repeat(1000));
    expect(out).toContain('the end');
    expect(out).not.toContain('cut to fit in a comment');
  });

  it('then cuts at a line end, closes an open code fence, and adds the note with the link', () => {
    const text = ['# plan', '```mermaid', ...Array.from({ length: 500 }, (_, i) => `  n${i} --> m${i}`), '```', 'tail'].join('\n');
    const out = fitMarkdown(text, 1000, 'https://ci/run/9');
    expect(out.length).toBeLessThanOrEqual(1000);
    expect(out).toContain('[See the full plan](https://ci/run/9)');
    expect((out.match(/^\s*```/gm) ?? []).length % 2).toBe(0);
    expect(out).toMatch(/n\d+ --> m\d+\n```/);
  });

  it('without a link, points at kaidu plan', () => {
    expect(fitMarkdown('y'.repeat(5000), 500)).toContain('Run `kaidu plan` for the full plan');
  });
});

describe('plan status', () => {
  it('is success with the summary, failure with the first error', () => {
    expect(planStatus(smallPlan())).toEqual({ state: 'success', description: '1 to create, 0 to update, 0 to delete, 0 waiting, 1 unchanged' });
    const failed = planStatus(brokenPlan(), 'https://x');
    expect(failed.state).toBe('failure');
    expect(failed.targetUrl).toBe('https://x');
    expect(failed.description).toMatch(/^1 error: templates do not compile \(services\/web\.yaml:7: /);
  });
});
