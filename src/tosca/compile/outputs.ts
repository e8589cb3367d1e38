/** The service's outputs: their values evaluated once every node is compiled. */
import type { Value } from '../model.js';
import { PRIMITIVES } from '../loader.js';
import { didYouMean } from '../suggest.js';
import type { FunctionEvaluator } from '../functions/evaluate.js';
import type { ServiceTemplate } from '../document/records.js';
import type { CompileContext } from './context.js';

export function compileOutputs(ctx: CompileContext, service: ServiceTemplate, functions: FunctionEvaluator): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const o of service.outputs) {
    const unknownType = o.type && !PRIMITIVES.has(o.type) && !ctx.loader.resolve(ctx.unit, 'data', o.type);
    if (unknownType) {
      ctx.report('error', 'E_TOSCA_UNKNOWN_TYPE', `output "${o.name}" has an unknown data type "${o.type}"`, ctx.loc(o.typeAt), didYouMean(o.type!, [...PRIMITIVES, ...ctx.loader.typeNames(ctx.unit, 'data')]));
    }
    if (o.definition && !unknownType) {
      // A typed output's value is of its type, as an input's default is (function calls are checked
      // where they are evaluated; a misspelt one by its type, as a property's).
      const def = ctx.checker.propertyDef(o.definition, ctx.unit);
      ctx.checker.coerce(o.value, def.spec, ctx.problemAt(ctx.loc(o.valueAt)), `output "${o.name}"`, 0, ctx.unit.version === 2);
    } else ctx.checkUntyped([[o.name, o.value]], o.at);
    out[o.name] = functions.evaluate(o.value, {}, ctx.loc(o.at));
  }
  return out;
}
