/**
 * The values inside a service's workflows: each workflow's input definitions (their `default`, and
 * 2.0's `value`) and each activity's `inputs` (`call_operation`, `inline`, `delegate`). Kaidu keeps
 * workflows as data and runs none of them, so nothing else reads these values; they are read here
 * only to be checked for misspelt calls as untyped values are (untyped-values.ts), at the call's
 * own line: a workflow Kaidu does not run today is still part of the service a reviewer approves.
 * Types are not applied: a workflow input's `default` of type `map` written as a misspelt call is
 * an error here, not the warning a typed property gets.
 */
import type { Unit } from '../loader.js';
import { deref, entries, field, locate, seqItems, type YamlNode } from '../yaml-source.js';
import { readValue } from '../document/read-values.js';
import { checkUntypedValue, type UntypedProblem } from './untyped-values.js';

/** Each value of a map checked on its own (a map of inputs with one entry is not a one-key call). */
type Each = (map: YamlNode | null | undefined, pick: (v: YamlNode | null) => Array<YamlNode | null | undefined>) => void;
type Deref = (n: YamlNode | null | undefined) => YamlNode | null | undefined;

function valueChecks(unit: Unit, problem: UntypedProblem): { node: Deref; checkEach: Each } {
  const src = unit.src;
  const node: Deref = (n) => deref(src, n);
  const checkEach: Each = (map, pick) => {
    for (const [, v] of entries(node(map))) {
      for (const x of pick(v)) if (x !== undefined) checkUntypedValue(readValue(x, unit), () => locate(src, x), unit.functions, problem);
    }
  };
  return { node, checkEach };
}

export function checkWorkflowValues(workflows: YamlNode | null | undefined, unit: Unit, problem: UntypedProblem): void {
  const { node, checkEach } = valueChecks(unit, problem);
  // An input is a property (1.3 §3.7.7) or parameter (2.0, with `value`) definition: its other keys are the grammar's to judge.
  const definition = (v: YamlNode | null) => [field(node(v), 'default'), unit.version === 2 ? field(node(v), 'value') : undefined];
  for (const [, wf] of entries(node(workflows))) {
    checkEach(field(node(wf), 'inputs'), definition);
    for (const [, step] of entries(node(field(node(wf), 'steps')))) checkActivities(field(node(step), 'activities'), node, checkEach);
  }
}

function checkActivities(list: YamlNode | null | undefined, node: Deref, checkEach: Each): void {
  for (const activity of seqItems(node(list))) {
    for (const [, body] of entries(node(activity))) checkEach(field(node(body), 'inputs'), (v) => [v]);
  }
}

/**
 * The same for policy triggers' actions (1.3 §3.6.22: a list of activities; 1.1–1.2: one operation
 * definition, whose `inputs` are read, or a workflow's name): Kaidu runs none of them either.
 */
export function checkTriggerValues(policies: YamlNode | null | undefined, unit: Unit, problem: UntypedProblem): void {
  const { node, checkEach } = valueChecks(unit, problem);
  // Policies are a list of one-key maps (a map is read too, as the service reader reads them).
  const list = seqItems(node(policies));
  const policyBodies = list.length ? list.flatMap((i) => entries(node(i)).map(([, b]) => b)) : entries(node(policies)).map(([, b]) => b);
  for (const policy of policyBodies) {
    for (const [, trigger] of entries(node(field(node(policy), 'triggers')))) {
      const action = node(field(node(trigger), 'action'));
      if (seqItems(action).length) checkActivities(action, node, checkEach);
      else checkEach(field(action, 'inputs'), (v) => [v]);
    }
  }
}
