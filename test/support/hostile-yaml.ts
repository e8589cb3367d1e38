/**
 * Hostile YAML, as an attacker (or a clumsy user) would write it: alias bombs, deep nesting, big
 * files, odd bytes, odd names. Used by the limit tests, the seeded fuzz test and `npm run bench -- fuzz`.
 */
import { parseDocument } from 'yaml';
import { compileService, type CompileCache } from '../../src/tosca/compile.js';
import type { Diagnostic } from '../../src/tosca/diagnostic.js';
import type { SourceReader } from '../../src/tosca/model.js';
import { parseFast } from '../../src/tosca/yaml-fast.js';
import { checkYamlText, STATE_LIMITS } from '../../src/tosca/yaml-limits.js';
import { parseServiceState } from '../../src/state/parse.js';
import { parseSettings } from '../../src/repository/settings.js';
import { memoryReader } from './memory-reader.js';

/** "Billion laughs": `levels` anchors, each a list of `width` aliases of the one before. */
export function aliasBomb(levels: number, width: number, head = 'tosca_definitions_version: tosca_2_0\n'): string {
  const lines = [head.trimEnd(), 'a0: &a0 [lol]'];
  for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(',')}]`);
  return lines.join('\n') + '\n';
}

/** A billion-laughs file padded (with a long first anchor) to about `bytes` bytes. */
export function paddedAliasBomb(bytes: number): string {
  const head = 'tosca_definitions_version: tosca_2_0\n';
  const bomb = aliasBomb(12, 20, head);
  const pad = Math.max(0, bytes - bomb.length - 20);
  return bomb.replace('a0: &a0 [lol]', `a0: &a0 ["${'l'.repeat(pad)}"]`);
}

export type DeepKind = 'block-maps' | 'compact-seqs' | 'flow-seqs' | 'flow-maps';

/** `levels` nested collections of one kind under a key `x`. */
export function deepDocument(kind: DeepKind, levels: number, head = 'tosca_definitions_version: tosca_2_0\n'): string {
  switch (kind) {
    case 'block-maps': {
      // One space more per level: the smallest block nesting there is.
      const parts = [head, 'x:\n'];
      for (let i = 1; i <= levels; i++) parts.push(' '.repeat(i), 'k:\n');
      return parts.join('');
    }
    case 'compact-seqs':
      return `${head}x:\n${'- '.repeat(levels)}a\n`;
    case 'flow-seqs':
      return `${head}x: ${'['.repeat(levels)}${']'.repeat(levels)}\n`;
    case 'flow-maps':
      return `${head}x: ${'{a: '.repeat(levels)}1${'}'.repeat(levels)}\n`;
  }
}

const NAMES = ['..', '.', '...', '../x', '/etc/passwd', 'a/b', '.hidden', 'a\u0000b', 'x\u001b[31m', 'é', '__proto__', 'constructor', '', ' ', '-', '?', '*', '&a', '!!str', '%TAG'];
const ODD = ['\u0000', '\u0007', '\u001b', '\u007f', '\ufeff', '\u2028', '\u2029', '\r', '\r\n', '\t', '\ud800', '\uffff', '#', ':', '- ', '? ', '|', '>', '"', "'", '{', '}', '[', ']', ',', '&', '*', '!', '%', '@', '`'];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function int(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** What a generated document is fed to. */
/**
 * `count` texts of up to 12 lines, each indented at random and made of up to 14 of `pieces`: quotes,
 * brackets and block scalars across lines, long lines of indicators (for differential tests of the
 * depth scans).
 */
export function piecedLines(rand: () => number, pieces: readonly string[], count: number): string[] {
  const texts: string[] = [];
  for (let n = 0; n < count; n++) {
    const lines: string[] = [];
    for (let l = Math.floor(rand() * 12); l >= 0; l--) {
      let line = ' '.repeat(Math.floor(rand() * 10));
      for (let k = Math.floor(rand() * 14); k >= 0; k--) line += pieces[Math.floor(rand() * pieces.length)];
      lines.push(line);
    }
    texts.push(lines.join('\n'));
  }
  return texts;
}

export type Target = 'template' | 'state' | 'settings';

const STATE_HEAD = 'schema: kaidu/state/v1\nhost: h\nservice: s\nrevision: r\nupdatedAt: t\nnodes:\n';
const TEMPLATE_HEAD = 'tosca_definitions_version: tosca_2_0\nservice_template:\n  node_templates:\n';

/** A plausible body for each target, to mutate. */
function base(target: Target, rand: () => number): string {
  const name = rand() < 0.5 ? 'n' : pick(rand, NAMES);
  const key = JSON.stringify(name);
  if (target === 'state') return `${STATE_HEAD}  ${key}:\n    type: kaidu:Process\n    status: running\n    fingerprint: f\n    revision: r\n    appliedAt: t\n    properties: {a: 1}\n    attributes: {pid: 1}\n`;
  if (target === 'settings') return `branch: main\nservices_dir: services\nagents:\n  - host: ${key}\n    url: http://127.0.0.1:1\ninputs:\n  ${key}: {a: [1, 2]}\n`;
  return `${TEMPLATE_HEAD}    ${key}:\n      type: kaidu:Directory\n      properties:\n        path: /tmp/x\n      requirements:\n        - host: ${key}\n`;
}

/** One generated hostile document for `target`. */
export function hostileDocument(rand: () => number, target: Target, scale = 1): string {
  return hostileCase(rand, target, scale).text;
}

/** Kinds of generated documents, by the number `hostileCase` reports. */
export const CASE_KINDS = ['alias bomb', 'deep nesting', 'alias oddities', 'big file', 'odd bytes', 'random bytes', 'long key or odd name', 'many aliases', 'shuffled lines', 'tags and directives'] as const;

/** One generated hostile document for `target`, with the kind of case it is. */
export function hostileCase(rand: () => number, target: Target, scale = 1): { kind: (typeof CASE_KINDS)[number]; text: string } {
  const k = int(rand, 0, 9);
  return { kind: CASE_KINDS[k]!, text: generate(k, rand, target, scale) };
}

/** `scale` shrinks the big cases (files of many keys, many aliases) for a quick run; limits are still crossed. */
function generate(kind: number, rand: () => number, target: Target, scale: number): string {
  const head = target === 'template' ? 'tosca_definitions_version: tosca_2_0\n' : target === 'state' ? STATE_HEAD.replace('nodes:\n', '') : '';
  switch (kind) {
    case 0:
      return aliasBomb(int(rand, 2, 40), int(rand, 1, 30), head);
    case 1:
      return deepDocument(pick(rand, ['block-maps', 'compact-seqs', 'flow-seqs', 'flow-maps'] as const), int(rand, 1, 3000), head);
    case 2: {
      // An alias to its own anchor, or to one not defined yet, or a deep node aliased deeper.
      const deep = deepDocument('flow-seqs', int(rand, 1, 150), '').replace('x: ', 'd: &d ');
      return pick(rand, [`${head}a: &a [1, *a]\n`, `${head}a: *nope\n`, `${head}${deep}e: ${'['.repeat(int(rand, 1, 150))}*d${']'.repeat(1)}\n`, `${head}*a : 1\n`, `&r [*r]\n`]);
    }
    case 3: {
      // A big file: many keys, or one long line.
      const n = int(rand, 1, Math.ceil(4000 * scale));
      return rand() < 0.5 ? `${base(target, rand)}${Array.from({ length: n }, (_, i) => `k${i}: ${'v'.repeat(int(rand, 0, 40))}`).join('\n')}\n` : `${head}x: "${'y'.repeat(n * 200)}"\n`;
    }
    case 4: {
      // Odd bytes sprinkled over a plausible body.
      let text = base(target, rand);
      for (let k = int(rand, 1, 8); k > 0; k--) {
        const at = int(rand, 0, text.length);
        text = text.slice(0, at) + pick(rand, ODD) + text.slice(at);
      }
      return text;
    }
    case 5: {
      // Random bytes.
      const n = int(rand, 0, 400);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(rand() < 0.8 ? int(rand, 32, 126) : int(rand, 0, 0xffff));
      return s;
    }
    case 6:
      // A key longer than YAML allows for an implicit key, or a name of every odd kind.
      return rand() < 0.5 ? `${head}${'k'.repeat(int(rand, 1000, 3000))}: 1\n` : base(target, rand);
    case 7: {
      // Many anchors and aliases, each small (legitimate-looking, near the limits).
      const n = int(rand, 1, Math.ceil(3000 * scale));
      return `${head}d: &d {a: 1, b: [1, 2, 3]}\nl:\n${Array.from({ length: n }, () => '  - *d').join('\n')}\n`;
    }
    case 8: {
      // Lines of a plausible body shuffled and re-indented.
      const lines = base(target, rand).split('\n');
      for (let k = int(rand, 1, 6); k > 0; k--) {
        const i = int(rand, 0, lines.length - 1);
        lines[i] = ' '.repeat(int(rand, 0, 12)) + lines[int(rand, 0, lines.length - 1)]!.trimStart();
      }
      return lines.join('\n');
    }
    default: {
      // Tags, directives, several documents, block scalars with odd headers.
      const odd = pick(rand, ['%YAML 1.1\n---\n', '--- !!map\n', '---\na: 1\n---\nb: 2\n', 'x: !!binary AAAA\n', 'x: |9\n  a\n', 'x: >+\n\n a\n', 'x: !<tag:yaml.org,2002:str> 1\n', '? [a, b]\n: c\n', 'x: !!set {a, b}\n', 'x: !!omap [a: 1]\n']);
      return head + odd + base(target, rand).replace(head, '');
    }
  }
}

/** What one document did to the three readers: how long it took, and anything that must never happen. */
export interface FuzzOutcome {
  /** Wall-clock time, and CPU time of the process (what a loaded machine does not inflate). */
  ms: number;
  cpuMs: number;
  /** Exceptions that escaped, internal errors, diagnostics without a place, readers disagreeing. */
  violations: string[];
}

/**
 * Feeds one document to the template compiler (as `kaidu validate` does), the state reader and the
 * settings reader, and checks the fast reader against the library on it.
 */
export async function fuzzOne(text: string, profiles: SourceReader, cache: CompileCache): Promise<FuzzOutcome> {
  const violations: string[] = [];
  const start = performance.now();
  const cpu = process.cpuUsage();
  const check = (reader: string, diagnostics: readonly Diagnostic[]): void => {
    for (const d of diagnostics) {
      if (d.code.endsWith('_INTERNAL')) violations.push(`${reader}: ${d.code} ${d.message}`);
      if (!(d.line >= 1 && d.column >= 1) || typeof d.file !== 'string') violations.push(`${reader}: diagnostic without a place: ${JSON.stringify(d)}`);
    }
  };
  try {
    const result = await compileService('x.yaml', memoryReader({ 'x.yaml': text }), { profiles, cache });
    check('template', result.diagnostics);
  } catch (err) {
    violations.push(`template: exception ${String(err)}`);
  }
  try {
    check('state', parseServiceState(text, 'state/h/s.yaml', { host: 'h', service: 's' }).diagnostics);
  } catch (err) {
    violations.push(`state: exception ${String(err)}`);
  }
  try {
    check('settings', parseSettings(text).diagnostics);
  } catch (err) {
    violations.push(`settings: exception ${String(err)}`);
  }
  try {
    // What the fast reader reads (state files take it as is), the library reads the same, without errors.
    const fast = checkYamlText(text, 'f', STATE_LIMITS) ? undefined : parseFast(text);
    if (fast) {
      const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
      if (doc.errors.length > 0) violations.push(`fast reader accepts what the library refuses: ${doc.errors[0]!.message.split('\n')[0]}`);
      else if (JSON.stringify(fast.root === null ? null : (fast.root as unknown as { toJSON(): unknown }).toJSON()) !== JSON.stringify(doc.toJS())) violations.push('fast reader and library read different data');
    }
  } catch (err) {
    violations.push(`fast reader: exception ${String(err)}`);
  }
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, violations };
}
