/** The service's outputs: their values evaluated once every node is compiled. */
import type { Value } from '../model.js';
import { PRIMITIVES } from '../loader.js';
import { didYouMean } from '../suggest.js';
import { entries, field, str, type YamlNode } from '../yaml-source.js';
import type { FunctionEvaluator } from '../functions/evaluate.js';
import type { CompileContext } from './context.js';

export function compileOutputs(ctx: CompileContext, tpl: YamlNode, functions: FunctionEvaluator): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [name, node] of entries(field(tpl, 'outputs'))) {
    const typeRef = str(field(node, 'type'));
    if (typeRef && !PRIMITIVES.has(typeRef) && !ctx.loader.resolve(ctx.unit, 'data', typeRef)) {
      ctx.report('error', 'E_TOSCA_UNKNOWN_TYPE', `output "${name}" has an unknown data type "${typeRef}"`, ctx.at(field(node, 'type')), didYouMean(typeRef, [...PRIMITIVES, ...ctx.loader.typeNames(ctx.unit, 'data')]));
    }
    const v = field(node, 'value');
    out[name] = functions.evaluate(ctx.value(v !== undefined ? v : node), {}, ctx.at(node));
  }
  return out;
}
