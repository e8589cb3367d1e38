/** The service's inputs: each definition with the value given (checked against its type), its default, or a problem. */
import type { Value } from '../model.js';
import { toValue } from '../values.js';
import type { ServiceTemplate } from '../document/records.js';
import type { CompileContext } from './context.js';

/** `fed`: the values a substituted node's properties give a substituting template (already values). */
export function compileInputs(ctx: CompileContext, service: ServiceTemplate, options: Record<string, unknown>, fed?: Record<string, Value>): void {
  const given: Record<string, unknown> = fed ?? options;
  for (const input of service.inputs) {
    const name = input.name;
    const def = ctx.checker.propertyDef(input.definition, ctx.unit);
    const problem = ctx.problemAt(ctx.loc(input.at));
    let value: Value | undefined;
    if (Object.prototype.hasOwnProperty.call(given, name)) value = ctx.checker.coerce(fed ? fed[name]! : toValue(given[name], ctx.unit), def.spec, problem, `input "${name}"`);
    else if (def.hasDefault) value = ctx.checker.coerce(def.default!, def.spec, input.defaultAt !== undefined ? ctx.problemAt(ctx.loc(input.defaultAt)) : problem, `input "${name}"`, 0, ctx.unit.version === 2);
    else if (def.value !== undefined) value = def.value;
    else if (def.required) {
      // Alone, a substitutable template may leave an input to the node it substitutes; substituting one, it may not.
      const substitutable = !fed && service.substitution !== undefined;
      ctx.report(substitutable ? 'warning' : 'error', substitutable ? 'W_TOSCA_INPUT_REQUIRED' : 'E_TOSCA_INPUT_REQUIRED', `input "${name}" needs a value${substitutable ? ' (unless the template is substituted)' : fed ? ' (this template substitutes a node: map a property of the node to it, or give it a default)' : ''}`, ctx.loc(input.at), fed ? `substitution_mappings: properties: <property>: [ ${name} ]` : `give it with --input ${name}=VALUE or a default`);
    }
    ctx.inputs[name] = { type: def.spec?.type ?? 'string', required: def.required, ...(input.description ? { description: input.description } : {}), ...(value !== undefined ? { value } : {}) };
  }
  for (const name of Object.keys(given)) {
    if (!service.inputs.some((i) => i.name === name)) ctx.report('warning', 'W_TOSCA_UNKNOWN_INPUT', `input "${name}" is not declared by this template`, { file: ctx.entryPath, line: 1, column: 1 });
  }
}
