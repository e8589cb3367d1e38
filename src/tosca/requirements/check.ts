/**
 * The compiler's checks on one resolved requirement: the target fits (target.ts), and a
 * relationship left at its type's defaults still has every required property.
 */
import type { SourceLocation } from '../diagnostic.js';
import type { Loader, Unit } from '../loader.js';
import type { CompiledRelationship } from '../model.js';
import type { PropertyDef } from '../values.js';
import type { CapabilityDefinitionRecord } from '../document/records.js';
import { TargetChecker, type TargetAnswer } from './target.js';

export interface ResolvedRequirement {
  source: string;
  /** The source node's type chain. */
  types: readonly string[];
  requirement: string;
  /** The requirement definition as the node type wrote it. */
  def: { capability?: string; node?: string; unit: Unit };
  target: string;
  /** The assignment's `capability:`, as written. */
  capRef?: string;
  relationship: CompiledRelationship;
  /** No one named the relationship type: Kaidu's default (DependsOn), whose valid types do not apply. */
  implicit: boolean;
  /** Whether the assignment gave the relationship's properties (or named a relationship template). */
  assigned: boolean;
  /** The target as written (or the assignment); a function when it is worked out only for a message. */
  at: SourceLocation | (() => SourceLocation);
  /** The assignment. */
  loc: SourceLocation;
}

export interface RequirementContext {
  loader: Loader;
  unit: Unit;
  capabilitiesOf(types: string[]): Map<string, CapabilityDefinitionRecord & { unit: Unit }>;
  /** A node template's type chain (compiled or not yet), undefined when it has no known type. */
  templateTypes(name: string): readonly string[] | undefined;
  relationshipProperties(type: string): Map<string, PropertyDef>;
  report(code: string, message: string, at: SourceLocation, hint?: string): void;
}

export class RequirementChecks {
  private readonly targets: TargetChecker;

  constructor(private readonly ctx: RequirementContext) {
    this.targets = new TargetChecker(ctx.loader, ctx.capabilitiesOf);
  }

  /** Whether the target fits, without reporting: the capability reached (or undefined), or the problem. */
  answer(r: Omit<ResolvedRequirement, 'at' | 'loc' | 'assigned'>): TargetAnswer {
    const targetTypes = this.ctx.templateTypes(r.target);
    if (!targetTypes) return {};
    const { loader, unit } = this.ctx;
    const nodeType = r.def.node ? loader.resolve(r.def.unit, 'node', r.def.node) : undefined;
    const capType = r.def.capability ? loader.resolve(r.def.unit, 'capability', r.def.capability) : undefined;
    const offered = r.capRef !== undefined && this.targets.offers(targetTypes).some((o) => o.name === r.capRef);
    const assignedType = r.capRef !== undefined && !offered ? loader.resolve(unit, 'capability', r.capRef) : undefined;
    return this.targets.check({
      source: { name: r.source, types: r.types },
      target: { name: r.target, types: targetTypes },
      ...(nodeType ? { nodeType } : {}),
      // Not a known capability type: with a node type it may name one of that type's capabilities; else it is an unknown type (reported where declared).
      ...(capType ? { capabilityType: capType } : r.def.capability && nodeType && this.targets.offers(loader.chain('node', nodeType)).some((o) => o.name === r.def.capability) ? { capabilityName: r.def.capability } : {}),
      ...(assignedType ? { assignedType } : r.capRef !== undefined ? { assignedName: r.capRef } : {}),
      relationshipTypes: r.implicit ? [] : r.relationship.types,
    });
  }

  /** Reports what does not fit; returns the capability the relationship reaches, if known. */
  check(r: ResolvedRequirement): string | undefined {
    const answer = this.answer(r);
    if (answer.problem) this.ctx.report('E_TOSCA_REQUIREMENT_TARGET', `requirement "${r.requirement}" of node "${r.source}": ${answer.problem.message}`, typeof r.at === 'function' ? r.at() : r.at, answer.problem.hint);
    this.checkRelationship(r);
    return answer.capability;
  }

  /** A relationship type's required properties with neither a default nor a value: worked out once per type (usually none). */
  private readonly required = new Map<string, PropertyDef[]>();

  private requiredOf(type: string): PropertyDef[] {
    let list = this.required.get(type);
    if (!list) this.required.set(type, (list = [...this.ctx.relationshipProperties(type).values()].filter((d) => d.required && !d.hasDefault && d.value === undefined)));
    return list;
  }

  private checkRelationship(r: ResolvedRequirement): void {
    if (!r.assigned) {
      // A relationship with nothing assigned is shared per type and checked once: each requirement is told here.
      for (const d of this.requiredOf(r.relationship.type)) {
        this.ctx.report('E_TOSCA_REQUIRED_PROPERTY', `relationship of requirement "${r.requirement}" is missing the required property "${d.name}"`, r.loc, 'add it under relationship: properties:');
      }
    }
  }
}
