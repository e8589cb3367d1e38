import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What one corpus file says it must produce: `# expect: valid`, or `# expect: CODE LINE [text]` per problem. */
export interface CorpusCase {
  file: string;
  valid: boolean;
  expects: Array<{ code: string; line: number; text: string }>;
}

/**
 * The YAML files of a TOSCA test corpus folder with the expectations their headers state; `text`
 * is found in the message or the hint of the problem at that line.
 */
export function corpusCases(dir: string): CorpusCase[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      const expects = [...text.matchAll(/^# expect: (\S+)(?: (\d+))?(?: (.*))?$/gm)].map((m) => ({ code: m[1]!, line: m[2] ? Number(m[2]) : 0, text: m[3]?.trim() ?? '' }));
      return { file, valid: expects.some((e) => e.code === 'valid'), expects };
    });
}
