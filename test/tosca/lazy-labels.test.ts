/**
 * Messages name values by labels made only when a message is written (issue 16: fewer bytes per
 * node). One label object is set again for every template and value, so each message must still
 * name its own template, capability and property, also after others were compiled and when the
 * problem is a default, a required property missing, or a grammar problem inside a template.
 */
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { memoryReader } from '../support/memory-reader.js';

const profiles = profilesReader();
const compile = (text: string) => compileService('s.yaml', memoryReader({ 's.yaml': text }), { profiles, cache: createCompileCache() });

const TYPES = [
  'tosca_definitions_version: tosca_simple_yaml_1_3',
  'node_types:',
  '  App:',
  '    derived_from: tosca.nodes.Root',
  '    properties:',
  '      port: { type: integer }',
  '      size: { type: integer, required: true }',
  '      mode: { type: integer, default: fast }',
  '    attributes:',
  '      level: { type: integer }',
  'topology_template:',
  '  node_templates:',
];

describe('labels made when a message is written', () => {
  it('each message names its own template and value, in the order the values are met', async () => {
    const text = [
      ...TYPES,
      '    a:',
      '      type: App',
      '      properties: { port: one, size: 1 }',
      '    fine:',
      '      type: tosca.nodes.Compute',
      '      capabilities:',
      '        host:',
      '          properties: { num_cpus: 2 }',
      '    b:',
      '      type: App',
      '      properties: { port: 2, nope: 3 }',
      '      attributes: { level: high }',
      '    server:',
      '      type: tosca.nodes.Compute',
      '      capabilities:',
      '        host:',
      '          properties: { num_cpus: many, mem_size: 2 GB }',
      '        os:',
      '          properties: { distribution: [ x ] }',
      '    c:',
      '      type: App',
      '      capabilities: [ host ]',
      '',
    ].join('\n');
    const r = await compile(text);
    expect(r.diagnostics.map((d) => [d.message, d.line, d.column])).toEqual([
      ['node "a" (App) property "port": expected an integer, got the string "one"', 15, 21],
      // The default is coerced (and reported, at the default) once, named by the template that first met it.
      ['node "a" (App) property "mode": expected an integer, got the string "fast"', 8, 39],
      ['node "b" (App) has no property "nope"', 23, 30],
      ['node "b" (App) is missing the required property "size"', 23, 7],
      ['node "b" (App) attribute "level": expected an integer, got the string "high"', 24, 21],
      ['capability "host" of node "server" property "num_cpus": expected an integer, got the string "many"', 29, 25],
      ['capability "os" of node "server" property "distribution": expected a string, got a list', 31, 25],
      ['"capabilities" of node template "c" must be a map (name: capability assignment), not a list', 34, 21],
      ['node "c" (App) is missing the required property "port"', 32, 5],
      ['node "c" (App) is missing the required property "size"', 32, 5],
    ]);
  });

  it('a node\'s capabilities record is a plain object, its capabilities in the type\'s order', async () => {
    const r = await compile(['tosca_definitions_version: tosca_simple_yaml_1_3', 'topology_template:', '  node_templates:', '    s:', '      type: tosca.nodes.Compute', '      capabilities:', '        host:', '          properties: { num_cpus: 1 }', ''].join('\n'));
    const caps = r.service!.nodes.s!.capabilities;
    expect(Object.getPrototypeOf(caps)).toBe(Object.prototype);
    expect(caps.constructor).toBe(Object);
    expect(Object.keys(caps)).toEqual(['feature', 'host', 'endpoint', 'os', 'scalable', 'binding']);
    expect(caps.host!.properties.num_cpus).toBe(1);
  });
});
