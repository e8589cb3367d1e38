/**
 * Workflows and policy triggers read into typed records (document/read-workflows.ts): a workflow's
 * keys are taken from the grammar walk as it checks them, each name keeps where it is written.
 */
import { describe, expect, it } from 'vitest';
import { locationAt } from '../../src/tosca/document/offsets.js';
import { walkRecords } from '../support/record-walk.js';
import type { NameRef } from '../../src/tosca/document/records.js';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { memoryReader } from '../support/memory-reader.js';

/** The file read as the loader does, and the workflow definitions whose keys a reader took from the walk. */
function walk(text: string) {
  const { src, file, problems, taken } = walkRecords(text, (entity) => entity === 'workflowDefinition');
  const at = (r: NameRef | undefined) => (r ? `${r.name}@${locationAt(src, r.at).line}:${locationAt(src, r.at).column}` : undefined);
  return { file, problems, taken, at };
}

const SERVICE = `tosca_definitions_version: tosca_simple_yaml_1_3
topology_template:
  node_templates:
    db: { type: tosca.nodes.Root }
  workflows:
    backup:
      description: back up
      inputs:
        fast: { type: boolean, default: true }
      preconditions:
        - target: db
          target_relationship: dependency
          condition: [ { state: [ { equal: started } ] } ]
      steps:
        one:
          target: db
          operation_host: SELF
          activities:
            - set_state: stopping
            - call_operation: { operation: Standard.stop, inputs: { x: 1 } }
            - delegate: deploy
            - inline: { workflow: other }
          on_success: [ two ]
          on_failure: [ two, three ]
        two: { target: db, activities: [] }
      steps: { ignored: { target: nowhere, activities: [] } }
    other:
      steps: {}
  policies:
    - watch:
        type: tosca.policies.Root
        triggers:
          t:
            event: { type: heartbeat }
            target_filter: { node: db, requirement: dependency, capability: feature }
            action: [ { set_state: error } ]
`;

describe('workflows and triggers: typed records with the position of each name', () => {
  it('takes a workflow definition from the grammar walk and reads its steps, preconditions and activities', () => {
    const { file, taken, at } = walk(SERVICE);
    expect(taken).toEqual(['workflowDefinition', 'workflowDefinition']);
    const service = file.service!;
    expect(service.workflows.map((w) => w.name)).toEqual(['backup', 'other']);
    const wf = service.workflows[0]!;
    expect(wf.description).toBe('back up');
    expect(wf.inputs).toMatchObject([{ name: 'fast', type: 'boolean', default: true }]);
    expect(wf.preconditions).toHaveLength(1);
    expect(at(wf.preconditions[0]!.target)).toBe('db@11:19');
    expect(at(wf.preconditions[0]!.targetRelationship)).toBe('dependency@12:32');
    expect(wf.preconditions[0]!.condition).toEqual([{ state: [{ equal: 'started' }] }]);
    // `steps` written twice: the first counts (the YAML reader reports the duplicate).
    expect(wf.steps.map((s) => s.name)).toEqual(['one', 'two']);
    const one = wf.steps[0]!;
    expect(at(one.target)).toBe('db@16:19');
    expect(at(one.operationHost)).toBe('SELF@17:27');
    expect(one.activities.map((a) => `${a.kind} ${at(a.name)}`)).toEqual(['set_state stopping@19:26', 'call_operation Standard.stop@20:44', 'delegate deploy@21:25', 'inline other@22:35']);
    expect(one.onSuccess.map(at)).toEqual(['two@23:25']);
    expect(one.onFailure.map(at)).toEqual(['two@24:25', 'three@24:30']);
    const [t] = service.policies[0]!.triggers;
    expect(t).toMatchObject({ name: 't', event: 'heartbeat' });
    expect([at(t!.targetFilter!.node), at(t!.targetFilter!.requirement), at(t!.targetFilter!.capability)]).toEqual(['db@35:36', 'dependency@35:53', 'feature@35:77']);
    expect(t!.action.map((a) => `${a.kind} ${a.name?.name}`)).toEqual(['set_state error']);
    // What the compiled graph keeps of them is still the workflows as written.
    expect(Object.keys(service.workflowsValue)).toEqual(['backup', 'other']);
  });

  it('still reads workflows the walk does not enter (1.0 has none: its grammar refuses the key)', () => {
    const { file, taken, problems } = walk(SERVICE.replace('tosca_simple_yaml_1_3', 'tosca_simple_yaml_1_0'));
    expect(taken).toEqual([]);
    expect(problems.join('\n')).toMatch(/unknown keyword "workflows"/);
    expect(file.service!.workflows[0]!.steps.map((s) => s.name)).toEqual(['one', 'two']);
  });
});

describe('workflow step graph: hostile input is bounded', () => {
  it('finds a cycle through 20,000 steps without deep recursion, and names it in a bounded message', async () => {
    const n = 20000;
    const steps = Array.from({ length: n }, (_, i) => `        s${i}: { target: a, activities: [], on_success: [ s${(i + 1) % n} ] }`).join('\n');
    const text = `tosca_definitions_version: tosca_2_0\nservice_template:\n  node_templates:\n    a: { type: tosca:Root }\n  workflows:\n    w:\n      steps:\n${steps}\n`;
    const r = await compileService('s.yaml', memoryReader({ 's.yaml': text }), { profiles: profilesReader(), cache: createCompileCache() });
    const cycles = r.diagnostics.filter((d) => d.code === 'E_TOSCA_WORKFLOW_CYCLE');
    expect(r.diagnostics.filter((d) => d.code === 'E_TOSCA_INTERNAL')).toEqual([]);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toMatchObject({ line: 7 + n, severity: 'error' });
    expect(cycles[0]!.message).toBe(`workflow "w": steps "s0" → "s1" → "s2" → "s3" → "s4" → "s5" → "s6" → "s7" → … (${n + 1 - 10} more) → "s${n - 1}" → "s0" form a cycle through on_success`);
  });
});
