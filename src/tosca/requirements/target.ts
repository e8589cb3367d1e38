/**
 * Whether a requirement's target fits (TOSCA 1.3 §3.7.3/§3.6.10, 2.0 §8.4–8.5): the target node is
 * of the requirement's node type, offers a capability of the requirement's capability type (or
 * the one named), and that capability is one the relationship type accepts (1.x
 * `valid_target_types`, 2.0 `valid_capability_types` and `valid_target_node_types`) and that
 * accepts the source (`valid_source_types`, 2.0 `valid_source_node_types`). Answers are the same
 * for every requirement with the same types, so they are kept per combination (a problem's text,
 * which names the nodes, is made again for each requirement).
 */
import type { Loader, Unit } from '../loader.js';
import type { CapabilityDefinitionRecord, TypeListKey } from '../document/records.js';

export interface TargetQuestion {
  source: { name: string; types: readonly string[] };
  target: { name: string; types: readonly string[] };
  /** The requirement definition's node type (canonical), if any. */
  nodeType?: string;
  /** The requirement definition's capability: a type (canonical) or, with a node type, a capability name. */
  capabilityType?: string;
  capabilityName?: string;
  /** The assignment's `capability:`: a capability name on the target or a capability type (canonical). */
  assignedName?: string;
  assignedType?: string;
  relationshipTypes: readonly string[];
}

export interface TargetAnswer {
  /** The target's capability the relationship reaches (the first that fits). */
  capability?: string;
  problem?: { message: string; hint?: string };
}

interface CapabilityOffer {
  name: string;
  types: string[];
  /** Source node types the capability definition accepts (empty: any). */
  sources: string[];
}

export class TargetChecker {
  private readonly answers = new Map<string, TargetAnswer>();
  private readonly offerCache = new Map<string, CapabilityOffer[]>();
  /** Node types with a capability of a type not known here. */
  private readonly unresolved = new Set<string>();

  constructor(
    private readonly loader: Loader,
    /** Capability definitions merged along a node type's chain. */
    private readonly capabilitiesOf: (types: string[]) => Map<string, CapabilityDefinitionRecord & { unit: Unit }>,
  ) {}

  check(q: TargetQuestion): TargetAnswer {
    const key = [q.source.types[0], q.target.types[0], q.nodeType, q.capabilityType, q.capabilityName, q.assignedName, q.assignedType, q.relationshipTypes[0]].join('\0');
    let answer = this.answers.get(key);
    if (!answer) {
      answer = this.decide(q);
      this.answers.set(key, answer);
      return answer;
    }
    // A problem's text names the nodes, which the key leaves out: decided again with this
    // requirement's own names (problems are rare; fitting answers name no node).
    return answer.problem ? this.decide(q) : answer;
  }

  private decide(q: TargetQuestion): TargetAnswer {
    const target = `node "${q.target.name}" (${q.target.types[0]})`;
    if (q.nodeType && !q.target.types.includes(q.nodeType)) {
      return { problem: { message: `${target} is not a ${q.nodeType}, which the requirement asks for`, hint: `name a node template of type ${q.nodeType} (or derived from it)` } };
    }
    // 1.x `valid_target_types` names capability types; some templates name node types there too, which are honoured as such.
    const validTargets = this.listed('relationship', q.relationshipTypes, 'valid_target_types', 'valid_capability_types');
    const validCaps = validTargets.filter((t) => this.loader.def('capability', t));
    const validNodes = [...this.listed('relationship', q.relationshipTypes, 'valid_target_node_types'), ...validTargets.filter((t) => !this.loader.def('capability', t) && this.loader.def('node', t))];
    if (validNodes.length && !validNodes.some((t) => q.target.types.includes(t))) {
      return { problem: { message: `relationship ${q.relationshipTypes[0]} cannot target ${target}`, hint: `its valid_target_node_types: ${validNodes.join(', ')}` } };
    }
    const offers = this.offers(q.target.types);
    let fitting = offers;
    const why: string[] = [];
    const narrow = (keep: (o: CapabilityOffer) => boolean, what: string) => {
      fitting = fitting.filter(keep);
      why.push(what);
    };
    if (q.assignedName) narrow((o) => o.name === q.assignedName, `named "${q.assignedName}"`);
    if (q.assignedType) narrow((o) => o.types.includes(q.assignedType!), `of type ${q.assignedType}`);
    if (q.capabilityName) narrow((o) => o.name === q.capabilityName, `named "${q.capabilityName}"`);
    if (q.capabilityType) narrow((o) => o.types.includes(q.capabilityType!), `of type ${q.capabilityType}`);
    if (validCaps.length) narrow((o) => validCaps.some((t) => o.types.includes(t)), `that relationship ${q.relationshipTypes[0]} accepts (${validCaps.join(', ')})`);
    if (!fitting.length) {
      // A capability whose type is unknown here (a missing profile) might be the one: not decided, no error.
      if (this.unresolved.has(q.target.types[0] ?? '')) return {};
      const has = offers.map((o) => `${o.name} (${o.types[0]})`).join(', ');
      return { problem: { message: `${target} offers no capability ${why.join(' and ') || 'at all'}`, hint: has ? `it has: ${has}` : 'its type declares no capabilities' } };
    }
    // The capability (definition or type) may accept only some source node types.
    const accepting = fitting.filter((o) => {
      const allowed = [...o.sources, ...this.listed('capability', o.types, 'valid_source_types', 'valid_source_node_types')];
      return !allowed.length || allowed.some((t) => q.source.types.includes(t));
    });
    if (!accepting.length) {
      const o = fitting[0]!;
      const allowed = [...o.sources, ...this.listed('capability', o.types, 'valid_source_types', 'valid_source_node_types')];
      return { problem: { message: `capability "${o.name}" of ${target} does not accept node "${q.source.name}" (${q.source.types[0]}) as a source`, hint: `its valid source types: ${allowed.join(', ')}` } };
    }
    return { capability: accepting[0]!.name };
  }

  /** The capabilities a node type offers, with their type chains. */
  offers(types: readonly string[]): CapabilityOffer[] {
    const known = this.offerCache.get(types[0] ?? '');
    if (known) return known;
    const out: CapabilityOffer[] = [];
    for (const [name, { type: ref, validSourceTypes, unit }] of this.capabilitiesOf([...types])) {
      const canonical = ref ? this.loader.resolve(unit, 'capability', ref) : undefined;
      if (!canonical) {
        this.unresolved.add(types[0] ?? ''); // reported where the type is declared
        continue;
      }
      const sources = validSourceTypes.map((s) => this.loader.resolve(unit, 'node', s) ?? s);
      out.push({ name, types: this.loader.chain('capability', canonical), sources });
    }
    this.offerCache.set(types[0] ?? '', out);
    return out;
  }

  /** The list a type (or its nearest ancestor that has one) gives under one of `keys`, as canonical names. */
  private listed(family: 'relationship' | 'capability', chain: readonly string[], ...keys: TypeListKey[]): string[] {
    for (const t of chain) {
      const def = this.loader.def(family, t);
      if (!def) continue;
      for (const key of keys) {
        const list = def.rec.lists[key];
        if (list === undefined) continue;
        const names = key === 'valid_target_types' || key === 'valid_capability_types' ? ['capability', 'node'] as const : ['node'] as const;
        return list.map((s) => names.map((f) => this.loader.resolve(def.unit, f, s)).find((c) => c !== undefined) ?? s);
      }
    }
    return [];
  }
}

