/**
 * Imperative workflows and policy triggers as data, for every version that has them (1.1–1.3:
 * topology template `workflows`, policy and policy type `triggers`; 2.0: service template
 * `workflows`, the same `triggers`). Written from 1.3 §3.6.22 (trigger), §3.6.23 (activities),
 * §3.6.26 (precondition), §3.6.27 (step) and §3.7.7 (workflow); where a text was silent or could
 * not be read, as Puccini's grammars read them (its `tosca_v2_0` workflow, step, activity,
 * trigger, trigger condition and event filter readers). 1.1–1.2 have their own trigger
 * (`triggerDefinition11`). Values a type or the runtime decides
 * (condition clauses, inputs) are `any`: only their container's shape is checked.
 */
import { any, entity, keywords, listOf, mapOf, oneOf, scalar, string, type Entity, type Shape } from './shape.js';

const values = mapOf(any);
/** A condition clause: a list of clauses (1.x `condition:`/`filter:`), or one map of them. */
const conditions: Shape = oneOf(listOf(any), values);
const activities = listOf(entity('activityDefinition'));

/** The entities of 1.3 (and, with `workflowEntities2`'s changes, of 2.0); 1.1–1.2 drop 1.3's additions. */
function workflowEntities13(metadata: Shape): Record<string, Entity> {
  return {
    workflowDefinition: {
      title: 'workflow definition',
      keywords: keywords({
        description: scalar,
        metadata,
        inputs: mapOf(entity('propertyDefinition')),
        preconditions: listOf(entity('workflowPrecondition')),
        steps: mapOf(entity('workflowStep')),
        // 1.3 §3.7.7: a workflow may be given by an artifact instead of steps, and map outputs.
        implementation: entity('implementation'),
        outputs: values,
      }),
    },
    workflowPrecondition: { title: 'workflow precondition', keywords: keywords({ target: [string, 'required'], target_relationship: string, condition: conditions }) },
    workflowStep: {
      title: 'workflow step',
      keywords: keywords({
        target: [string, 'required'],
        target_relationship: string,
        operation_host: string,
        filter: conditions,
        activities: [activities, 'required'],
        on_success: listOf(string),
        on_failure: listOf(string),
      }),
    },
    // §3.6.23: one of four activities, each a single-key map (`- set_state: started`).
    activityDefinition: {
      title: 'workflow activity',
      oneKey: true,
      keywords: keywords({
        delegate: oneOf(string, entity('delegateActivity')),
        set_state: string,
        call_operation: oneOf(string, entity('callOperationActivity')),
        inline: oneOf(string, entity('inlineActivity')),
      }),
    },
    delegateActivity: { title: 'delegate activity', keywords: keywords({ workflow: [string, 'required'], inputs: values }) },
    callOperationActivity: { title: 'call_operation activity', keywords: keywords({ operation: [string, 'required'], inputs: values }) },
    inlineActivity: { title: 'inline activity', keywords: keywords({ workflow: [string, 'required'], inputs: values }) },
    triggerDefinition: {
      title: 'trigger definition',
      keywords: keywords({
        description: scalar,
        event: [oneOf(string, entity('eventType')), 'required'],
        // a tosca.datatypes.TimeInterval value (start_time, end_time): its type checks it.
        schedule: values,
        target_filter: entity('eventFilter'),
        condition: entity('triggerCondition'),
        action: [activities, 'required'],
      }),
    },
    eventType: { title: 'event', keywords: keywords({ type: [string, 'required'] }) },
    eventFilter: { title: 'event filter', keywords: keywords({ node: string, requirement: string, capability: string }) },
    // Long notation (`constraint:` with `period`, `evaluations`, `method`); without `constraint`
    // Puccini reads the map as the condition clause itself: its keys are then attribute names or
    // `and`/`or`/`not`, and only a key close to a keyword (`perod:`) is reported.
    triggerCondition: {
      title: 'trigger condition',
      other: any,
      keywordTypos: true,
      keywords: keywords({ constraint: any, period: scalar, evaluations: scalar, method: string }),
    },
  };
}

/**
 * The 1.1–1.2 trigger (1.1 §3.5.16, 1.2 §3.6.18), before 1.3 reshaped it: the event is named by
 * `event_type` (1.3 renamed it `event`), `constraint`, `period`, `evaluations` and `method` may
 * stand beside `condition`, and the action is one operation definition or a workflow name (1.3
 * made it a list of activities). Read from Puccini's 1.1 and 1.2 grammars (citing those sections),
 * tosca-parser's and ONAP's 1.x trigger readers and ONAP's keyname summary; see docs/tosca-rules.md.
 */
const triggerDefinition11: Entity = {
  title: 'trigger definition',
  keywords: keywords({
    description: scalar,
    event_type: [string, 'required'],
    schedule: values,
    target_filter: entity('eventFilter'),
    condition: entity('triggerCondition'),
    constraint: any,
    period: scalar,
    evaluations: scalar,
    method: string,
    // a workflow name, an operation's implementation, or the long operation definition
    action: [entity('operationDefinition'), 'required'],
  }),
};

/** 1.1 and 1.2: 1.3's workflows without `implementation` and `outputs` (1.3 §3.7.7 added them), and their own trigger. */
export function workflowEntities1(versionText: string, metadata: Shape): Record<string, Entity> {
  const e = workflowEntities13(metadata);
  if (versionText !== 'tosca_simple_yaml_1_3') {
    const { implementation: _i, outputs: _o, ...rest } = e.workflowDefinition!.keywords;
    e.workflowDefinition = { ...e.workflowDefinition!, keywords: rest };
    e.triggerDefinition = triggerDefinition11;
  }
  return e;
}

/**
 * 2.0: as 1.3, with the 2.0 text's single `precondition` (a condition clause) beside Puccini's
 * `preconditions` list, which its 2.0 grammar still reads.
 */
export function workflowEntities2(metadata: Shape): Record<string, Entity> {
  const e = workflowEntities13(metadata);
  e.workflowDefinition = { ...e.workflowDefinition!, keywords: { ...e.workflowDefinition!.keywords, precondition: { shape: any } } };
  return e;
}
