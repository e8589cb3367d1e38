/**
 * Workflows (1.3 §3.7.7, 2.0 service template `workflows`) and policy triggers (1.3 §3.6.22) read
 * into records. A workflow's own keys are handed over by the grammar walk as it checks them
 * (`WorkflowReader.visit`); its steps, preconditions and activities are read from the values the
 * walk hands over. Only names and where they are written are kept: the compiler looks them up
 * (`../compile/workflows.ts`); shapes are the grammar's to report.
 */
import type { Pair } from 'yaml';
import type { Unit } from '../loader.js';
import { entries, field, isMap, isScalar, seqItems, str, toJS, type YamlNode } from '../yaml-source.js';
import type { NameRef, TriggerRecord, WorkflowActivityRecord, WorkflowPreconditionRecord, WorkflowRecord, WorkflowStepRecord } from './records.js';
import { offsetOf } from './offsets.js';
import { readPropertyDefinition } from './read-definitions.js';

const ACTIVITY_KINDS: ReadonlySet<string> = new Set(['delegate', 'set_state', 'call_operation', 'inline']);
/** The keyword of each activity's long notation that holds its name. */
const LONG_NAME: Record<WorkflowActivityRecord['kind'], string | undefined> = { delegate: 'workflow', inline: 'workflow', call_operation: 'operation', set_state: undefined };

/** The keys of one workflow definition, each read once (the first of a duplicate counts). */
export class WorkflowReader {
  private readonly seen = new Set<string>();
  /** Whether the grammar walk handed over its keys. */
  entered = false;
  readonly visit = (key: string, v: YamlNode | null): void => this.keyword(key, v);

  constructor(
    readonly rec: WorkflowRecord,
    private readonly unit: Unit,
  ) {}

  private keyword(key: string, v: YamlNode | null): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const rec = this.rec;
    switch (key) {
      case 'description':
        rec.description = str(v);
        return;
      case 'inputs':
        rec.inputs = entries(v).map(([name, def, p]) => readPropertyDefinition(name, def, offsetOf(p), this.unit));
        return;
      case 'preconditions':
        rec.preconditions = seqItems(v).filter(isMap).map((n) => readPrecondition(n, this.unit));
        return;
      case 'steps':
        rec.steps = entries(v).map(([name, n, p]) => readStep(name, n, p, this.unit));
        return;
    }
  }
}

export function emptyWorkflow(name: string, at: number): WorkflowRecord {
  return { name, at, inputs: [], preconditions: [], steps: [] };
}

function readStep(name: string, node: YamlNode | null, pair: Pair, unit: Unit): WorkflowStepRecord {
  const step: WorkflowStepRecord = { name, at: offsetOf(pair), activities: readActivities(field(node, 'activities')), onSuccess: nameList(field(node, 'on_success')), onFailure: nameList(field(node, 'on_failure')) };
  const target = nameRef(field(node, 'target'));
  const rel = nameRef(field(node, 'target_relationship'));
  const host = nameRef(field(node, 'operation_host'));
  const filter = field(node, 'filter');
  if (target) step.target = target;
  if (rel) step.targetRelationship = rel;
  if (host) step.operationHost = host;
  if (filter !== undefined) step.filter = toJS(unit.src, filter);
  return step;
}

function readPrecondition(node: YamlNode, unit: Unit): WorkflowPreconditionRecord {
  const pre: WorkflowPreconditionRecord = { at: offsetOf(node) };
  const target = nameRef(field(node, 'target'));
  const rel = nameRef(field(node, 'target_relationship'));
  const condition = field(node, 'condition');
  if (target) pre.target = target;
  if (rel) pre.targetRelationship = rel;
  if (condition !== undefined) pre.condition = toJS(unit.src, condition);
  return pre;
}

/** A list of one-key maps; an item the grammar refuses (not one known key) is left out. */
export function readActivities(list: YamlNode | null | undefined): WorkflowActivityRecord[] {
  const out: WorkflowActivityRecord[] = [];
  for (const item of seqItems(list)) {
    const e = entries(item);
    if (e.length !== 1) continue;
    const [kind, v] = e[0]!;
    if (!ACTIVITY_KINDS.has(kind)) continue;
    const k = kind as WorkflowActivityRecord['kind'];
    const long = LONG_NAME[k];
    const name = nameRef(v) ?? (long ? nameRef(field(v, long)) : undefined);
    out.push(name ? { kind: k, name } : { kind: k });
  }
  return out;
}

/** A policy's `triggers` (a map of trigger definitions). */
export function readTriggers(node: YamlNode | null | undefined): TriggerRecord[] {
  return entries(node).map(([name, n, p]): TriggerRecord => {
    const event = field(n, 'event');
    const action = field(n, 'action');
    // 1.1–1.2 (1.1 §3.5.16): the action may be a workflow's name, run as 1.3's `inline` runs one;
    // their event is `event_type`.
    const workflow = isScalar(action) ? nameRef(action) : undefined;
    const t: TriggerRecord = { name, at: offsetOf(p), action: workflow ? [{ kind: 'inline', name: workflow }] : readActivities(action) };
    const eventName = str(event) ?? str(field(event, 'type')) ?? str(field(n, 'event_type'));
    if (eventName !== undefined) t.event = eventName;
    const filter = field(n, 'target_filter');
    if (isMap(filter)) {
      const f: NonNullable<TriggerRecord['targetFilter']> = {};
      for (const k of ['node', 'requirement', 'capability'] as const) {
        const r = nameRef(field(filter, k));
        if (r) f[k] = r;
      }
      t.targetFilter = f;
    }
    return t;
  });
}

/** A string value and where it is; undefined for anything else (the grammar reports the shape). */
function nameRef(node: YamlNode | null | undefined): NameRef | undefined {
  const name = str(node);
  return name !== undefined && name !== '' ? { name, at: offsetOf(node) } : undefined;
}

function nameList(node: YamlNode | null | undefined): NameRef[] {
  return seqItems(node).map(nameRef).filter((r): r is NameRef => r !== undefined);
}
