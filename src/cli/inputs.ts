import { readFile } from 'node:fs/promises';
import { KaiduError } from '../errors/kaidu-error.js';

/** commander collector for repeatable `--input NAME=VALUE`. */
export function collectInput(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `NAME=VALUE` pairs (values read as YAML scalars, so `3` is a number) over an optional YAML file. */
export async function readInputs(pairs: string[] | undefined, file: string | undefined): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  if (!file && !pairs?.length) return out;
  // Loaded only when there are inputs: `kaidu --version` and `--help` do not pay for a YAML parser.
  const [{ parse }, { parseLimited, SETTINGS_LIMITS }] = await Promise.all([import('yaml'), import('../tosca/yaml-limits.js')]);
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new KaiduError('E_USAGE', `cannot read inputs file ${file}: ${(err as Error).message}`);
    }
    // The same limits as every other YAML file (an alias bomb here would otherwise end as an internal error).
    const read = parseLimited(text, file, SETTINGS_LIMITS, { prettyErrors: false });
    const problem = [...read.diagnostics, ...(read.doc?.errors ?? []).map((e) => ({ message: e.message.split('\n')[0]!, line: read.lines.linePos(e.pos[0]).line, column: read.lines.linePos(e.pos[0]).col }))][0];
    if (problem || !read.doc) throw new KaiduError('E_USAGE', `inputs file ${file}:${problem?.line ?? 1}:${problem?.column ?? 1}: ${problem?.message ?? 'unreadable'}`);
    const data = read.doc.toJS({ maxAliasCount: -1 }) as unknown;
    if (data !== null && (typeof data !== 'object' || Array.isArray(data))) throw new KaiduError('E_USAGE', `inputs file ${file} must be a map of input names to values`);
    Object.assign(out, data ?? {});
  }
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new KaiduError('E_USAGE', `--input expects NAME=VALUE, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = parse(raw) ?? raw;
    } catch {
      value = raw;
    }
    out[pair.slice(0, eq)] = value;
  }
  return out;
}
