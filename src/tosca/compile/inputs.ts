/** The service's inputs: each definition with the value given (checked against its type), its default, or a problem. */
import type { Value } from '../model.js';
import { toValue } from '../values.js';
import { entries, field, str, type YamlNode } from '../yaml-source.js';
import type { CompileContext } from './context.js';

export function compileInputs(ctx: CompileContext, tpl: YamlNode, given: Record<string, unknown>): void {
  const defs = entries(field(tpl, 'inputs'));
  for (const [name, node, pair] of defs) {
    const def = ctx.checker.propertyDef(name, node, ctx.unit);
    const problem = ctx.problemAt(ctx.at(pair));
    let value: Value | undefined;
    if (Object.prototype.hasOwnProperty.call(given, name)) value = ctx.checker.coerce(toValue(given[name], ctx.unit), def.spec, problem, `input "${name}"`);
    else if (def.hasDefault) value = ctx.checker.coerce(def.default!, def.spec, field(node, 'default') !== undefined ? ctx.problemAt(ctx.at(field(node, 'default'))) : problem, `input "${name}"`, 0, ctx.unit.version === 2);
    else if (def.value !== undefined) value = def.value;
    else if (def.required) {
      const substitutable = field(tpl, 'substitution_mappings') !== undefined;
      ctx.report(substitutable ? 'warning' : 'error', substitutable ? 'W_TOSCA_INPUT_REQUIRED' : 'E_TOSCA_INPUT_REQUIRED', `input "${name}" needs a value${substitutable ? ' (unless the template is substituted)' : ''}`, ctx.at(pair), `give it with --input ${name}=VALUE or a default`);
    }
    ctx.inputs[name] = { type: def.spec?.type ?? 'string', required: def.required, ...(str(field(node, 'description')) ? { description: str(field(node, 'description'))! } : {}), ...(value !== undefined ? { value } : {}) };
  }
  for (const name of Object.keys(given)) {
    if (!defs.some(([n]) => n === name)) ctx.report('warning', 'W_TOSCA_UNKNOWN_INPUT', `input "${name}" is not declared by this template`, { file: ctx.entryPath, line: 1, column: 1 });
  }
}
