import { describe, expect, it } from 'vitest';
import { compileService, type CompileResult } from '../../src/tosca/index.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { memoryReader } from '../support/memory-reader.js';

const profiles = profilesReader();
const compile = (text: string) => compileService('s.yaml', memoryReader({ 's.yaml': text }), { profiles });
const errors = (r: CompileResult) => r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column} ${d.code}`);

describe('a node template body the YAML library refuses', () => {
  it('is reported as its YAML error only, not also as a template with no type', async () => {
    // The body of `web` is read lazily; its alias has no anchor before it, so the library refuses it.
    const text = [
      'tosca_definitions_version: tosca_simple_yaml_1_3',
      'topology_template:',
      '  node_templates:',
      '    web:',
      '      type: tosca.nodes.WebServer',
      '      capabilities:',
      '        data_endpoint: *PORT',
      '      requirements:',
      '        - host: host',
      '    host:',
      '      type: tosca.nodes.Compute',
      '',
    ].join('\n');
    const r = await compile(text);
    expect(errors(r)).toEqual(['7:24 E_TOSCA_YAML']);
  });

  it('still reports a template with no type when its body reads', async () => {
    const text = 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates:\n    web:\n      description: no type here\n';
    expect(errors(await compile(text))).toEqual(['4:5 E_TOSCA_MISSING_TYPE']);
  });
});
