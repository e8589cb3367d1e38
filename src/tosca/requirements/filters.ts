/**
 * Requirements with node filters, decided once every node is compiled and its values evaluated:
 * an explicit target that fails a filter is an error; a requirement matched by type or capability
 * takes the first candidate (in declaration order) that passes, or is an error naming the filter
 * when none does. A filter that reads a value known only at run time cannot decide: a warning.
 */
import type { SourceLocation } from '../diagnostic.js';
import type { CompiledNode, CompiledRequirement } from '../model.js';
import { evaluateNodeFilter, refusedByGrammar, type CapabilityMatcher, type Verdict } from './node-filter.js';

export interface NodeFilter {
  filter: unknown;
  version: 1 | 2;
  at: SourceLocation;
}

export interface FilteredRequirement {
  source: string;
  requirement: CompiledRequirement;
  /** True when the template named the target node template. */
  explicit: boolean;
  filters: NodeFilter[];
  /** Node templates of the requirement's node and capability type, in declaration order (when not explicit). */
  candidates: () => string[];
  /** Whether a candidate fits the requirement otherwise, and the capability it reaches. */
  fits: (candidate: string) => { ok: boolean; capability?: string };
}

export interface FilterContext {
  nodes: Record<string, CompiledNode>;
  capabilitiesNamed: CapabilityMatcher;
  report(severity: 'error' | 'warning', code: string, message: string, at: SourceLocation, hint?: string): void;
}

export class NodeFilters {
  private readonly pending: FilteredRequirement[] = [];

  constructor(private readonly ctx: FilterContext) {}

  add(r: FilteredRequirement): void {
    this.pending.push(r);
  }

  apply(): void {
    for (const r of this.pending) this.decide(r);
  }

  private verdict(r: FilteredRequirement, target: string, capability?: string): { verdict: Verdict; failed?: NodeFilter } {
    const node = this.ctx.nodes[target];
    if (!node) return { verdict: undefined };
    let unknown = false;
    for (const f of r.filters) {
      const v = evaluateNodeFilter(f.filter, f.version, { node, ...(capability ? { capability } : {}) }, this.ctx.capabilitiesNamed);
      if (v === false) return { verdict: false, failed: f };
      if (v === undefined) unknown = true;
    }
    return { verdict: unknown ? undefined : true };
  }

  private decide(r: FilteredRequirement): void {
    const req = r.requirement;
    const name = `requirement "${req.name}" of node "${r.source}"`;
    if (r.explicit && req.target) {
      const { verdict, failed } = this.verdict(r, req.target, req.capability ?? r.fits(req.target).capability);
      if (verdict === false) this.ctx.report('error', 'E_TOSCA_NODE_FILTER', `${name}: node "${req.target}" does not match its node filter`, failed!.at, 'name a node template the filter accepts, or change the filter');
      else if (verdict === undefined) this.undecided(r, name);
      return;
    }
    let undecided: string | undefined;
    const rejected: string[] = [];
    for (const candidate of r.candidates()) {
      if (candidate === r.source) continue;
      const fit = r.fits(candidate);
      if (!fit.ok) continue;
      const { verdict } = this.verdict(r, candidate, fit.capability);
      if (verdict === true) {
        req.target = candidate;
        return;
      }
      if (verdict === undefined) undecided ??= candidate;
      else rejected.push(candidate);
    }
    if (undecided) {
      req.target = undecided;
      this.undecided(r, name);
      return;
    }
    this.ctx.report('error', 'E_TOSCA_NODE_FILTER', `${name}: no node template matches its node filter`, r.filters[0]!.at, rejected.length ? `rejected: ${rejected.slice(0, 10).join(', ')}${rejected.length > 10 ? ', …' : ''}` : 'no node template has the type and capability it needs');
  }

  private undecided(r: FilteredRequirement, name: string): void {
    // The grammar reported why it cannot decide.
    if (r.filters.some((f) => refusedByGrammar(f.filter, f.version))) return;
    this.ctx.report('warning', 'W_TOSCA_NODE_FILTER', `${name}: its node filter reads a value known only at run time, so it is not checked`, r.filters[0]!.at);
  }
}
