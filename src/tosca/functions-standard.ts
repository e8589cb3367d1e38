import type { Value } from './model.js';
import { isFunctionCall } from './model.js';

/**
 * Evaluates the standard functions left in a value once their deferred arguments
 * (`$get_attribute`) are known. The compiler evaluates everything it can; this finishes the job
 * at plan/apply time. Returns undefined when something is still unknown.
 */
export function evaluateStandard(fn: string, args: Value[]): Value | undefined {
  const nums = () => (args.every((a) => typeof a === 'number') ? (args as number[]) : undefined);
  switch (fn) {
    case 'concat':
      return args.every((a) => a === null || typeof a !== 'object') ? args.map((a) => (a === null ? '' : String(a))).join('') : undefined;
    case 'join': {
      const [list, sep = ''] = args;
      return Array.isArray(list) && list.every((a) => a === null || typeof a !== 'object') ? list.map(String).join(String(sep)) : undefined;
    }
    case 'token': {
      const [text, seps, index] = args;
      if (typeof text !== 'string' || typeof seps !== 'string' || typeof index !== 'number') return undefined;
      const parts = text.split(new RegExp(`[${seps.replace(/[\\\]^-]/g, '\\$&')}]`));
      return parts[index] ?? null;
    }
    case 'length': {
      const [v] = args;
      if (typeof v === 'string' || Array.isArray(v)) return v.length;
      if (v && typeof v === 'object' && !isFunctionCall(v)) return Object.keys(v).length;
      return undefined;
    }
    case 'sum':
      return nums()?.reduce((a, b) => a + b, 0);
    case 'difference':
      return nums() && args.length === 2 ? (args[0] as number) - (args[1] as number) : undefined;
    case 'product':
      return nums()?.reduce((a, b) => a * b, 1);
    case 'quotient':
      return nums() && args.length === 2 && args[1] !== 0 ? (args[0] as number) / (args[1] as number) : undefined;
    case 'remainder':
      return nums() && args.length === 2 && args[1] !== 0 ? (args[0] as number) % (args[1] as number) : undefined;
    case 'round':
      return nums() && args.length === 1 ? Math.round(args[0] as number) : undefined;
    case 'floor':
      return nums() && args.length === 1 ? Math.floor(args[0] as number) : undefined;
    case 'ceil':
      return nums() && args.length === 1 ? Math.ceil(args[0] as number) : undefined;
    default:
      return undefined;
  }
}
