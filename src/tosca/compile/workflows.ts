/**
 * The names a workflow or a policy trigger writes, looked up in the compiled service: a typo
 * there passed validate and would break only when the workflow ran. Each problem is reported at
 * the name as written, with "did you mean". Written from 1.3 §3.6.22 (trigger), §3.6.23
 * (activities), §3.6.26 (precondition), §3.6.27 (step), §3.7.7 (workflow); 2.0 reads the same.
 * Where the text is silent, as Puccini looks them up (its workflow step and activity readers).
 */
import type { CompiledNode } from '../model.js';
import type { Unit } from '../loader.js';
import type { DiagnosticCode } from '../diagnostic-codes.js';
import type { NameRef, PolicyTemplate, ServiceTemplate, WorkflowActivityRecord, WorkflowRecord, WorkflowStepRecord } from '../document/records.js';
import { interfaceTypeOperations } from '../functions/operations.js';
import { didYouMean, suggestOrList } from '../suggest.js';
import type { CompileContext } from './context.js';

/**
 * The normative node states (1.3 §3.4.1; 2.0 is taken as the same). The 1.0–1.1 text (§3.3.1) has
 * no `deleted` (ARIA's implementation of it notes so); 1.2's could not be read here and is taken
 * as 1.3's. Only a warning: Puccini keeps any state, and tools write their own (`up`, `down`).
 */
const STATES_11 = ['initial', 'creating', 'created', 'configuring', 'configured', 'starting', 'started', 'stopping', 'deleting', 'error'];
const STATES_13 = [...STATES_11.slice(0, 9), 'deleted', 'error'];
/** The declarative workflows an orchestrator provides, which `delegate` may name beside the service's own (1.3 §7: deploy, undeploy). */
const NORMATIVE_WORKFLOWS = ['deploy', 'undeploy'];
/** Keywords `operation_host` takes (1.3 §3.6.27; the same words as an operation's `operation_host`). */
const HOST_KEYWORDS = ['SELF', 'HOST', 'SOURCE', 'TARGET', 'ORCHESTRATOR'];
/** A relationship step's operations run on one of its two ends (1.3 §3.6.27). */
const RELATIONSHIP_HOSTS = ['SOURCE', 'TARGET'];

export interface WorkflowLookups {
  /** A node type's requirement definitions by name (along its chain). */
  requirementsOf(types: readonly string[]): ReadonlyMap<string, { relationship?: string; unit: Unit }>;
}

/** What a step's target is: a node template, a group, or a name that is neither (already reported). */
type Target = { node: CompiledNode } | { group: string } | undefined;

export function checkWorkflows(ctx: CompileContext, service: ServiceTemplate, lookups: WorkflowLookups): void {
  if (!service.workflows.length && !service.policies.some((p) => p.triggers.length)) return;
  new WorkflowChecks(ctx, service, lookups).run();
}

class WorkflowChecks {
  private readonly groups: string[];
  private readonly workflowNames: string[];
  private readonly states: string[];

  constructor(
    private readonly ctx: CompileContext,
    private readonly service: ServiceTemplate,
    private readonly lookups: WorkflowLookups,
  ) {
    this.groups = service.groups.map((g) => g.name);
    this.workflowNames = service.workflows.map((w) => w.name);
    this.states = /^tosca_simple_yaml_1_[01]$/.test(ctx.unit.versionText) ? STATES_11 : STATES_13;
  }

  run(): void {
    for (const wf of this.service.workflows) this.workflow(wf);
    for (const p of this.service.policies) this.triggers(p);
  }

  private error(code: DiagnosticCode, message: string, at: NameRef | number, hint?: string): void {
    this.ctx.report('error', code, message, this.ctx.loc(typeof at === 'number' ? at : at.at), hint);
  }

  private workflow(wf: WorkflowRecord): void {
    const what = `workflow "${wf.name}"`;
    for (const pre of wf.preconditions) {
      const target = this.target(pre.target, `${what} precondition`);
      if (pre.targetRelationship) this.relationship(target, pre.targetRelationship, `${what} precondition`);
    }
    const stepNames = wf.steps.map((s) => s.name);
    const steps = new Set(stepNames);
    for (const step of wf.steps) {
      const whose = `${what} step "${step.name}"`;
      const target = this.target(step.target, whose);
      const rel = step.targetRelationship ? this.relationship(target, step.targetRelationship, whose) : undefined;
      if (step.operationHost) this.operationHost(step.operationHost, target, step.targetRelationship !== undefined, whose);
      for (const a of step.activities) this.activity(a, target, rel, whose, wf);
      for (const [key, list] of [['on_success', step.onSuccess], ['on_failure', step.onFailure]] as const) {
        for (const next of list) {
          if (steps.has(next.name)) continue;
          this.error('E_TOSCA_UNKNOWN_STEP', `${whose} names "${next.name}" in ${key}, which is not a step of the workflow`, next, suggestOrList(next.name, stepNames, 'its steps') ?? 'the workflow has no other steps');
        }
      }
    }
    this.cycles(wf);
  }

  /** A step's or precondition's `target`: a node template or a group of the service (1.3 §3.6.26–27). */
  private target(ref: NameRef | undefined, whose: string): Target {
    if (!ref) return undefined;
    const node = this.ctx.nodes[ref.name];
    if (node) return { node };
    if (this.groups.includes(ref.name)) return { group: ref.name };
    this.error('E_TOSCA_UNKNOWN_TEMPLATE', `${whose} targets "${ref.name}", which is neither a node template nor a group`, ref, didYouMean(ref.name, [...this.ctx.templateNames, ...this.groups]));
    return undefined;
  }

  /**
   * `target_relationship`: a requirement of the target node template (1.3 §3.6.27); the
   * relationship type chain it stands for, when one is known (for `call_operation`).
   */
  private relationship(target: Target, ref: NameRef, whose: string): readonly string[] | undefined {
    if (!target) return undefined;
    if ('group' in target) {
      this.error('E_TOSCA_UNKNOWN_REQUIREMENT', `${whose} names requirement "${ref.name}", but its target "${target.group}" is a group, not a node template`, ref, 'target_relationship applies to a node template\'s requirement');
      return undefined;
    }
    const node = target.node;
    const defs = this.lookups.requirementsOf(node.types);
    const known = [...new Set([...defs.keys(), ...node.requirements.map((r) => r.name)])];
    if (!known.includes(ref.name)) {
      this.error('E_TOSCA_UNKNOWN_REQUIREMENT', `${whose} names requirement "${ref.name}", which node template "${node.name}" does not have`, ref, suggestOrList(ref.name, known, 'it has') ?? 'it has no requirements');
      return undefined;
    }
    const compiled = node.requirements.find((r) => r.name === ref.name && r.relationship.types?.length);
    if (compiled) return compiled.relationship.types;
    const def = defs.get(ref.name);
    const type = def?.relationship ? this.ctx.loader.resolve(def.unit, 'relationship', def.relationship) : undefined;
    return type ? this.ctx.loader.chain('relationship', type) : undefined;
  }

  /**
   * 1.3 §3.6.27: with a relationship target, SOURCE or TARGET; with a group, a node template or
   * node type; with a node, a keyword of an operation's host or a node template.
   */
  private operationHost(ref: NameRef, target: Target, relationship: boolean, whose: string): void {
    const name = ref.name;
    if (relationship) {
      if (RELATIONSHIP_HOSTS.includes(name)) return;
      this.error('E_TOSCA_OPERATION_HOST', `${whose} runs its operations on "${name}": a relationship step runs them on SOURCE or TARGET`, ref, didYouMean(name, RELATIONSHIP_HOSTS));
      return;
    }
    if (HOST_KEYWORDS.includes(name) || this.ctx.nodes[name]) return;
    const group = target !== undefined && 'group' in target;
    if (group && this.ctx.loader.resolve(this.ctx.unit, 'node', name)) return;
    const candidates = [...HOST_KEYWORDS, ...this.ctx.templateNames, ...(group ? this.ctx.loader.typeNames(this.ctx.unit, 'node') : [])];
    const hint = didYouMean(name, candidates) ?? (group ? 'a group step names a node template or a node type' : `one of ${HOST_KEYWORDS.join(', ')} or a node template`);
    this.error('E_TOSCA_OPERATION_HOST', `${whose} runs its operations on "${name}", which is neither ${group ? 'a node template nor a node type' : `${HOST_KEYWORDS.join(', ')} nor a node template`}`, ref, hint);
  }

  private activity(a: WorkflowActivityRecord, target: Target, relationship: readonly string[] | undefined, whose: string, wf: WorkflowRecord | undefined): void {
    const ref = a.name;
    if (!ref) return;
    switch (a.kind) {
      case 'set_state':
        if (!this.states.includes(ref.name)) this.ctx.report('warning', 'W_TOSCA_NODE_STATE', `${whose} sets state "${ref.name}", which is not a node state of ${this.ctx.unit.versionText}`, this.ctx.loc(ref.at), suggestOrList(ref.name, this.states, 'the states are', 20));
        return;
      case 'inline':
      case 'delegate': {
        // inline: a workflow of this service (1.3 §3.6.23.4); delegate: a declarative one, or one of the service's (Puccini looks it up there).
        const known = a.kind === 'inline' ? this.workflowNames : [...NORMATIVE_WORKFLOWS, ...this.workflowNames];
        if (!known.includes(ref.name)) {
          this.error('E_TOSCA_UNKNOWN_WORKFLOW', `${whose} ${a.kind === 'inline' ? 'inlines' : 'delegates to'} workflow "${ref.name}", which ${a.kind === 'inline' ? 'the service does not declare' : 'is neither declarative (deploy, undeploy) nor declared by the service'}`, ref, suggestOrList(ref.name, known, 'known workflows') ?? 'the service declares no workflows');
        } else if (a.kind === 'inline' && wf && ref.name === wf.name) {
          this.error('E_TOSCA_WORKFLOW_CYCLE', `${whose} inlines its own workflow "${ref.name}"`, ref, 'a workflow that inlines itself never ends');
        }
        return;
      }
      case 'call_operation':
        this.callOperation(ref, target, relationship, whose);
        return;
    }
  }

  /**
   * `<interface>.<operation>` of the target node template (its type's and its own interfaces), or
   * with `target_relationship` of the relationship's type. A group's interfaces are not compiled: not checked.
   */
  private callOperation(ref: NameRef, target: Target, relationship: readonly string[] | undefined, whose: string): void {
    const dot = ref.name.indexOf('.');
    if (dot <= 0 || dot === ref.name.length - 1) {
      this.error('E_TOSCA_WRONG_SHAPE', `${whose} calls "${ref.name}": call_operation is written <interface>.<operation>`, ref);
      return;
    }
    if (!target || 'group' in target) return;
    const interfaces = relationship ? this.relationshipInterfaces(relationship) : this.nodeInterfaces(target.node);
    if (!interfaces) return;
    const iface = ref.name.slice(0, dot);
    const op = ref.name.slice(dot + 1);
    const of = relationship ? `the relationship type "${relationship[0]}"` : `node template "${target.node.name}"`;
    const ops = interfaces.get(iface);
    if (!ops) {
      const names = [...interfaces.keys()];
      this.error('E_TOSCA_UNKNOWN_INTERFACE', `${whose} calls "${ref.name}", but ${of} has no interface "${iface}"`, ref, didYouMean(iface, names) ?? (names.length ? `its interfaces: ${names.join(', ')}` : 'it has no interfaces'));
      return;
    }
    if (ops.has(op)) return;
    this.error('E_TOSCA_UNKNOWN_OPERATION', `${whose} calls "${ref.name}", but interface "${iface}" of ${of} has no operation "${op}"`, ref, didYouMean(op, ops) ?? (ops.size ? `its operations: ${[...ops].join(', ')}` : 'it declares no operations'));
  }

  /** Each interface of a node, with the operations its type declares and the template gives. */
  private nodeInterfaces(node: CompiledNode): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const [name, iface] of Object.entries(node.interfaces)) {
      const ops = interfaceTypeOperations(this.ctx.loader, iface.types ?? [iface.type]);
      for (const op of Object.keys(iface.operations)) ops.add(op);
      out.set(name, ops);
    }
    return out;
  }

  /** The interfaces a relationship type declares along its chain (most derived last), with their operations. */
  private relationshipInterfaces(types: readonly string[]): Map<string, Set<string>> | undefined {
    const loader = this.ctx.loader;
    const out = new Map<string, Set<string>>();
    for (let i = types.length - 1; i >= 0; i--) {
      const def = loader.def('relationship', types[i]!);
      if (!def) return undefined;
      for (const r of def.rec.interfaces) {
        const ops = out.get(r.name) ?? new Set<string>();
        const t = r.type ? loader.resolve(def.unit, 'interface', r.type) : undefined;
        if (t) for (const op of interfaceTypeOperations(loader, loader.chain('interface', t))) ops.add(op);
        for (const op of r.operations) ops.add(op.name);
        out.set(r.name, ops);
      }
    }
    return out;
  }

  /**
   * A step waits for every step that names it in `on_success` (the sequence/join semantics of
   * 1.3 §7.3, and Puccini's graph): steps that name each other so would each wait for the other
   * and never run, so the `on_success` graph must have no cycle.
   */
  private cycles(wf: WorkflowRecord): void {
    const byName = new Map(wf.steps.map((s) => [s.name, s]));
    const state = new Map<string, 1 | 2>(); // 1: on the path, 2: done
    // Depth first without recursion: a long chain of steps must not overflow the stack.
    for (const root of wf.steps) {
      if (state.has(root.name)) continue;
      const path: Array<{ step: WorkflowStepRecord; next: number }> = [{ step: root, next: 0 }];
      state.set(root.name, 1);
      while (path.length) {
        const top = path[path.length - 1]!;
        const edge = top.step.onSuccess[top.next++];
        if (!edge) {
          state.set(top.step.name, 2);
          path.pop();
          continue;
        }
        const n = byName.get(edge.name);
        if (!n) continue;
        const s = state.get(n.name);
        if (s === undefined) {
          state.set(n.name, 1);
          path.push({ step: n, next: 0 });
        } else if (s === 1) {
          const names = path.map((p) => p.step.name);
          const loop = [...names.slice(names.indexOf(n.name)), n.name];
          this.error('E_TOSCA_WORKFLOW_CYCLE', `workflow "${wf.name}": steps ${cycleText(loop)} form a cycle through on_success`, edge, 'each step would wait for the other: a workflow\'s steps must form a graph without cycles');
        }
      }
    }
  }

  /**
   * A policy's triggers: the event filter's `node` is a node template or a node type, its
   * `requirement` and `capability` are of that node (1.3 §3.6.21). The event names are free.
   */
  private triggers(p: PolicyTemplate): void {
    for (const t of p.triggers) {
      const whose = `trigger "${t.name}" of policy "${p.name}"`;
      const f = t.targetFilter;
      const ctx = this.ctx;
      // The action runs on the filtered node when that is a node template (else nothing to look its operations up in).
      const filtered = f?.node ? ctx.nodes[f.node.name] : undefined;
      for (const a of t.action) this.activity(a, filtered ? { node: filtered } : undefined, undefined, whose, undefined);
      if (!f?.node) continue;
      const node = filtered;
      const typeName = node ? undefined : ctx.loader.resolve(ctx.unit, 'node', f.node.name);
      if (!node && !typeName) {
        this.error('E_TOSCA_UNKNOWN_TEMPLATE', `${whose} filters on node "${f.node.name}", which is neither a node template nor a node type`, f.node, didYouMean(f.node.name, [...ctx.templateNames, ...ctx.loader.typeNames(ctx.unit, 'node')]));
        continue;
      }
      const types = node ? node.types : ctx.loader.chain('node', typeName!);
      const of = node ? `node template "${node.name}"` : `node type "${f.node.name}"`;
      if (f.requirement) {
        const known = [...this.lookups.requirementsOf(types).keys()];
        if (!known.includes(f.requirement.name)) this.error('E_TOSCA_UNKNOWN_REQUIREMENT', `${whose} filters on requirement "${f.requirement.name}", which ${of} does not have`, f.requirement, suggestOrList(f.requirement.name, known, 'it has') ?? 'it has no requirements');
      }
      if (f.capability) {
        const known = node ? Object.keys(node.capabilities) : [...ctx.mergedDefs(types, 'capabilities').keys()];
        if (!known.includes(f.capability.name)) this.error('E_TOSCA_UNKNOWN_CAPABILITY', `${whose} filters on capability "${f.capability.name}", which ${of} does not have`, f.capability, suggestOrList(f.capability.name, known, 'it has') ?? 'it has no capabilities');
      }
    }
  }
}

/** A cycle as a message shows it: a long one by its first and last steps. */
function cycleText(loop: readonly string[]): string {
  const q = (x: string) => `"${x}"`;
  if (loop.length <= CYCLE_SHOWN) return loop.map(q).join(' → ');
  const head = loop.slice(0, CYCLE_SHOWN - 2).map(q).join(' → ');
  return `${head} → … (${loop.length - CYCLE_SHOWN} more) → ${loop.slice(-2).map(q).join(' → ')}`;
}

/** Steps of a cycle named in its message. */
const CYCLE_SHOWN = 10;
