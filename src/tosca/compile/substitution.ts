/** The service's substitution mappings checked against the node type they expose (see ../substitution/). */
import { checkSubstitution } from '../substitution/check.js';
import type { ServiceTemplate, SubstitutionMappings } from '../document/records.js';
import type { CompileContext } from './context.js';
import type { RequirementCompiler } from './requirements.js';

export function compileSubstitution(ctx: CompileContext, mappings: SubstitutionMappings, service: ServiceTemplate, requirements: RequirementCompiler): void {
  const tt = ctx.typeChain('node', mappings.nodeType, mappings.nodeTypeAt);
  if (!tt) return;
  checkSubstitution(mappings, mappings.nodeType!, {
    src: ctx.unit.src,
    declared: {
      properties: [...ctx.checker.definitions('node', tt.type, 'properties').keys()],
      attributes: [...ctx.checker.definitions('node', tt.type, 'attributes').keys()],
      capabilities: new Map([...ctx.mergedDefs(tt.types, 'capabilities')].map(([k, { type: ref, unit }]) => {
        return [k, (ref ? ctx.loader.resolve(unit, 'capability', ref) : undefined) ?? ''];
      })),
      requirements: [...requirements.definitions(tt.types).keys()],
      interfaces: [...ctx.mergedDefs(tt.types, 'interfaces').keys()],
    },
    nodes: ctx.nodes,
    inputs: Object.keys(ctx.inputs),
    outputs: service.outputs.map((o) => o.name),
    workflows: service.workflows.map((w) => w.name),
    requirementsOf: (node) => [...requirements.definitions(node.types).keys()],
    attributesOf: (node) => [...ctx.checker.definitions('node', node.type, 'attributes').keys(), ...ctx.checker.definitions('node', node.type, 'properties').keys()],
    report: (message, at, hint) => ctx.report('error', 'E_TOSCA_SUBSTITUTION', message, at, hint),
  });
}
