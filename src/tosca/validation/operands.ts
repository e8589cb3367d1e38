/**
 * The operands of a 1.x `constraints` list or a 2.0 `validation` expression that must be of the
 * type they constrain (1.3 §3.6.3: the comparison operators, `in_range`'s bounds and
 * `valid_values`' items; 2.0 §10.2: the same functions where the other argument is `$value`).
 * Each comes with its index in the pre-order walk of the clause (document/offsets.ts
 * `preorderOffsets`), so it can be reported at its own place. Pure: the checker judges the type.
 * `UNBOUNDED` in a range is the grammar's to judge (allowed as the upper bound only).
 */

export interface TypedOperand {
  op: string;
  value: unknown;
  /** The operand's node in the clause's pre-order walk. */
  index: number;
}

const COMPARISONS = new Set(['equal', 'greater_than', 'greater_or_equal', 'less_than', 'less_or_equal']);
const LOGICAL = new Set(['and', 'or', 'not', 'xor']);
const MAX_NODES = 10_000;

/** How many nodes `v` is in a pre-order walk (itself, and its values or items). */
function size(v: unknown, budget = { left: MAX_NODES }): number {
  if (--budget.left < 0) return 1;
  let n = 1;
  if (Array.isArray(v)) for (const x of v) n += size(x, budget);
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) n += size((v as Record<string, unknown>)[k], budget);
  return n;
}

/** Index of each item of a list at `at`. */
function itemIndexes(list: unknown[], at: number): number[] {
  const out: number[] = [];
  let i = at + 1;
  for (const x of list) {
    out.push(i);
    i += size(x);
  }
  return out;
}

/** `{ $name: args }` → [name, args]. */
function call(v: unknown): [string, unknown] | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1 || !keys[0]!.startsWith('$') || keys[0]!.startsWith('$$')) return undefined;
  return [keys[0]!.slice(1), (v as Record<string, unknown>)[keys[0]!]];
}

/** Operands of `- operator: operand` clauses; what is malformed is the grammar's to report. */
export function constraintOperands(constraints: unknown): TypedOperand[] {
  const out: TypedOperand[] = [];
  if (!Array.isArray(constraints)) return out;
  const clauses = itemIndexes(constraints, 0);
  constraints.forEach((clause, c) => {
    if (clause === null || typeof clause !== 'object' || Array.isArray(clause)) return;
    const keys = Object.keys(clause);
    if (keys.length !== 1) return;
    const op = keys[0]!;
    const operand = (clause as Record<string, unknown>)[op];
    const at = clauses[c]! + 1;
    if (COMPARISONS.has(op)) {
      if (operand !== null && typeof operand !== 'object') out.push({ op, value: operand, index: at });
    } else if ((op === 'in_range' || op === 'valid_values') && Array.isArray(operand)) {
      itemIndexes(operand, at).forEach((index, i) => {
        const value = operand[i];
        if (value !== null && typeof value !== 'object' && !(op === 'in_range' && value === 'UNBOUNDED')) out.push({ op, value, index });
      });
    }
  });
  return out;
}

/** Literal operands compared with `$value` in a validation expression (inside $and, $or, $not, $xor). */
export function validationOperands(expr: unknown): TypedOperand[] {
  const out: TypedOperand[] = [];
  const walk = (v: unknown, at: number, depth: number): void => {
    const c = call(v);
    if (!c || depth > 32) return;
    const [fn, args] = c;
    const argsAt = at + 1;
    // `$not: { ... }`: one argument written without its list.
    if (!Array.isArray(args)) {
      if (LOGICAL.has(fn)) walk(args, argsAt, depth + 1);
      return;
    }
    const idx = itemIndexes(args, argsAt);
    if (LOGICAL.has(fn)) {
      args.forEach((a, i) => walk(a, idx[i]!, depth + 1));
      return;
    }
    if (args.length !== 2) return;
    const literal = (x: unknown) => x !== null && typeof x !== 'object' && x !== '$value';
    if (COMPARISONS.has(fn)) {
      if (args[0] === '$value' && literal(args[1])) out.push({ op: `$${fn}`, value: args[1], index: idx[1]! });
      else if (args[1] === '$value' && literal(args[0])) out.push({ op: `$${fn}`, value: args[0], index: idx[0]! });
    } else if ((fn === 'in_range' || fn === 'valid_values') && args[0] === '$value' && Array.isArray(args[1])) {
      const list = args[1] as unknown[];
      itemIndexes(list, idx[1]!).forEach((index, i) => {
        const value = list[i];
        if (literal(value) && !(fn === 'in_range' && value === 'UNBOUNDED')) out.push({ op: `$${fn}`, value, index });
      });
    }
  };
  walk(expr, 0, 0);
  return out;
}
