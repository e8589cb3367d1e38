/**
 * Shapes the grammar vocabulary cannot say in one word: 1.x constraint clauses (1.3 §3.6.3) and
 * ranges of counts (`occurrences`, `count_range`: [min, max], max may be UNBOUNDED).
 * Each returns problems as [message, node, hint?]; the checker places them.
 */
import { didYouMean } from '../suggest.js';
import { entries, isMap, isScalar, isSeq, seqItems, type YamlNode } from '../yaml-source.js';

export type ClauseProblem = [message: string, node: unknown, hint?: string, code?: 'E_TOSCA_UNKNOWN_KEYWORD'];

type Operand = 'any' | 'comparable' | 'list' | 'range' | 'length' | 'string';

const OPERATORS: Record<string, Operand> = {
  equal: 'any',
  greater_than: 'comparable',
  greater_or_equal: 'comparable',
  less_than: 'comparable',
  less_or_equal: 'comparable',
  in_range: 'range',
  valid_values: 'list',
  length: 'length',
  min_length: 'length',
  max_length: 'length',
  pattern: 'string',
  schema: 'string',
};

const value = (n: unknown): unknown => (isScalar(n) ? n.value : undefined);

function describe(n: unknown): string {
  if (isMap(n)) return 'a map';
  if (isSeq(n)) return 'a list';
  return JSON.stringify(value(n));
}

/** A list of `- operator: operand` clauses. */
export function checkConstraints(node: YamlNode, what: string): ClauseProblem[] {
  const out: ClauseProblem[] = [];
  if (!isSeq(node)) return [[`${what} must be a list of clauses (- operator: operand), not ${describe(node)}`, node]];
  for (const item of seqItems(node)) {
    const clause = entries(item);
    if (!isMap(item) || clause.length !== 1) {
      out.push([`each constraint of ${what} must be one operator: operand, not ${isMap(item) ? `${clause.length} keys` : describe(item)}`, item]);
      continue;
    }
    const [op, operand, pair] = clause[0]!;
    const kind = OPERATORS[op];
    if (!kind) {
      out.push([`unknown constraint operator "${op}" in ${what}`, pair, didYouMean(op, Object.keys(OPERATORS)) ?? `operators: ${Object.keys(OPERATORS).join(', ')}`, 'E_TOSCA_UNKNOWN_KEYWORD']);
      continue;
    }
    const v = value(operand);
    switch (kind) {
      case 'comparable':
        if (!isScalar(operand) || v === null) out.push([`${op} in ${what} takes one value, not ${describe(operand)}`, operand ?? pair]);
        break;
      case 'list':
        if (!isSeq(operand)) out.push([`${op} in ${what} takes a list of values, not ${describe(operand)}`, operand ?? pair, `write ${op}: [ ${describe(operand)} ]`]);
        break;
      case 'length':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) out.push([`${op} in ${what} takes a non-negative integer, not ${describe(operand)}`, operand ?? pair]);
        break;
      case 'string':
        if (typeof v !== 'string') out.push([`${op} in ${what} takes a string, not ${describe(operand)}`, operand ?? pair]);
        else if (op === 'pattern') {
          const bad = regexError(v);
          if (bad) out.push([`pattern in ${what}: ${JSON.stringify(v)} is not a valid regular expression (${bad})`, operand]);
        }
        break;
      case 'range':
        out.push(...checkBounds(operand, `${op} in ${what}`, false));
        break;
      case 'any':
        break;
    }
  }
  return out;
}

/** Why `text` is not a regular expression, or undefined when it is. */
function regexError(text: string): string | undefined {
  try {
    new RegExp(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * `[lower, upper]` with lower <= upper. `counts`: both are non-negative integers and the upper may
 * be UNBOUNDED (occurrences, count_range); otherwise (in_range) UNBOUNDED may only be the upper
 * bound of a range of numbers, and bounds that are not numbers (versions, scalar units) are left
 * to the value checker.
 */
export function checkBounds(node: unknown, what: string, counts: boolean): ClauseProblem[] {
  if (!isSeq(node) || node.items.length !== 2 || !node.items.every((i) => isScalar(i))) {
    return [[`${what} must be a list of two bounds [ lower, upper ], not ${describe(node)}${isSeq(node) ? ` of ${node.items.length}` : ''}`, node, isMap(node) ? `write it with square brackets: [ ${entries(node as YamlNode).map(([k]) => k).join(', ')} ]` : undefined]];
  }
  const [lo, hi] = node.items.map((i) => value(i));
  if (lo === 'UNBOUNDED') return [[`${what}: the lower bound cannot be UNBOUNDED`, node.items[0]]];
  if (counts) {
    if (typeof lo !== 'number' || !Number.isInteger(lo) || lo < 0) return [[`${what}: the lower bound must be a non-negative integer, not ${JSON.stringify(lo)}`, node.items[0]]];
    if (hi !== 'UNBOUNDED' && (typeof hi !== 'number' || !Number.isInteger(hi) || hi < 0)) return [[`${what}: the upper bound must be a non-negative integer or UNBOUNDED, not ${JSON.stringify(hi)}`, node.items[1]]];
  }
  if (typeof lo === 'number' && typeof hi === 'number' && lo > hi) return [[`${what}: the range [${lo}, ${hi}] is reversed`, node, `write [${hi}, ${lo}]`]];
  return [];
}
