import { describe, expect, it } from 'vitest';
import { compileService } from '../../src/tosca/index.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { memoryReader } from '../support/memory-reader.js';

const profiles = profilesReader();
const V2 = 'tosca_definitions_version: tosca_2_0\n';
const acme = `${V2}profile: com.acme:1.0\nnode_types:\n  Server:\n    derived_from: kaidu:Process\n    properties:\n      size: { type: scalar-unit.size, default: 1 GiB }\n`;
const service = `${V2}imports:\n  - profile: com.acme:1.0\n    namespace: acme\nservice_template:\n  node_templates:\n    h: { type: kaidu:Host }\n    s:\n      type: acme:Server\n      properties: { command: [ /bin/s ] }\n      requirements: [ { host: h } ]\n`;

describe('profiles of the user repository', () => {
  it('by profiles/index.yaml', async () => {
    const r = await compileService('services/s.yaml', memoryReader({
      'profiles/index.yaml': 'profiles:\n  com.acme:1.0:\n    file: acme/types.yaml\n',
      'profiles/acme/types.yaml': acme,
      'services/s.yaml': service,
    }), { profiles });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.service!.nodes.s!.types).toEqual(['acme:Server', 'kaidu:Process', 'tosca:Root']);
    expect(r.service!.nodes.s!.properties.size).toBe(1024 ** 3);
  });

  it('by a file whose profile: key names it, one folder deep', async () => {
    const r = await compileService('services/s.yaml', memoryReader({ 'profiles/acme/profile.yaml': acme, 'services/s.yaml': service }), { profiles });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.service!.nodes.s!.type).toBe('acme:Server');
  });

  it('an unknown profile is reported at its import, and its types are unknown', async () => {
    const r = await compileService('services/s.yaml', memoryReader({ 'services/s.yaml': service }), { profiles });
    expect(r.diagnostics.find((d) => d.code === 'W_TOSCA_UNKNOWN_PROFILE')).toMatchObject({ line: 3, column: 5 });
    expect(r.diagnostics.find((d) => d.code === 'E_TOSCA_UNKNOWN_TYPE')).toMatchObject({ line: 9, column: 13 });
  });

  it('the standard profiles: importable by name, and implicit under tosca: and kaidu:', async () => {
    const r = await compileService('s.yaml', memoryReader({
      's.yaml': `${V2}imports:\n  - profile: org.oasis-open.simple:2.0\n  - profile: io.kaidu:1.0\n    namespace: k\nservice_template:\n  node_templates:\n    c: { type: tosca:Compute }\n    h: { type: k:Host }\n    h2: { type: kaidu:Host }\n`,
    }), { profiles });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.service!.nodes.c!.type).toBe('tosca:Compute');
    expect(r.service!.nodes.h!.type).toBe('kaidu:Host');
    expect(r.service!.nodes.h2!.type).toBe('kaidu:Host');
  });

  it('1.3: normative types by dotted name and tosca: shorthand; kaidu: too', async () => {
    const r = await compileService('s.yaml', memoryReader({
      's.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_2\ntopology_template:\n  node_templates:\n    a: { type: tosca.nodes.Compute }\n    b: { type: tosca:Compute }\n    h: { type: kaidu:Host }\n',
    }), { profiles });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.service!.nodes.a!.type).toBe('tosca.nodes.Compute');
    expect(r.service!.nodes.b!.type).toBe('tosca.nodes.Compute');
    expect(r.service!.nodes.a!.types).toContain('tosca.nodes.Root');
    expect(r.service!.nodes.h!.type).toBe('kaidu:Host');
  });
});

describe('the shipped 2.0 simple profile', () => {
  it('has the scalar data types Size, Time, Frequency and Bitrate, normalized to B, s, Hz and bit/s', async () => {
    const box = `${V2}node_types:\n  Box:\n    derived_from: tosca:Root\n    properties:\n      disk: { type: tosca:Size }\n      timeout: { type: tosca:Time, default: 500 ms }\n      clock: { type: tosca:Frequency }\n      link: { type: tosca:Bitrate }\n      uplink: { type: tosca:Bitrate }\n`;
    const r = await compileService('s.yaml', memoryReader({
      's.yaml': `${box}service_template:\n  node_templates:\n    b:\n      type: Box\n      properties: { disk: 2 GiB, clock: 2.4 GHz, link: 10 Mbps, uplink: 1 MBps }\n`,
    }), { profiles });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.service!.nodes.b!.properties).toEqual({ disk: 2 * 1024 ** 3, timeout: 0.5, clock: 2.4e9, link: 1e7, uplink: 8e6 });
  });
});
