import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { fsReader, profilesReader } from '../../src/cli/fs-reader.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'tosca', 'semantics');
const profiles = profilesReader();
const compile = (inputs?: Record<string, unknown>) => compileService('app.yaml', fsReader(DIR), { profiles, cache: createCompileCache(), ...(inputs ? { inputs } : {}) });

describe('semantics fixture (app.yaml + types/net.yaml)', () => {
  it('compiles clean but for warnings about what Kaidu does not act on', async () => {
    const r = await compile();
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.diagnostics.map((d) => d.code)).toContain('W_TOSCA_WORKFLOWS');
    expect(r.typesOnly).toBe(false);
  });

  it('evaluates functions at compile time, keeps get_attribute deferred with HOST resolved, unescapes $$', async () => {
    const web = (await compile()).service!.nodes.web!;
    expect(web.properties.command).toEqual(['/usr/bin/web', '--name=shop']);
    expect(web.properties.env).toEqual({
      WORKERS: '6',
      ZONE: 'eu-1',
      HALF: '3',
      FIRST: 'a',
      HOSTNAME: { $fn: 'get_attribute', args: ['box', 'address'] },
      PORT: { $fn: 'get_attribute', args: ['web-port', 'port'] },
      $LITERAL: 'dollar',
    });
    expect(web.metadata).toEqual({ owner: 'team-a' });
    expect(web.requirements.map((q) => [q.name, q.target])).toEqual([['host', 'box'], ['dependency', 'web-port']]);
  });

  it('normalizes scalar units and fills data type defaults; namespaced user types are canonical as ns:Name', async () => {
    const r = await compile();
    const gw = r.service!.nodes.gateway!;
    expect(gw.type).toBe('net:Gateway');
    expect(gw.types).toEqual(['net:Gateway', 'kaidu:Process', 'tosca:Root']);
    expect(gw.properties.limits).toEqual({ memory: 512 * 1024 ** 2, rate: 10e6, tags: ['edge', 'eu'], timeout: 60 });
    expect(gw.properties.command).toEqual(['/usr/sbin/gateway']);
    expect(r.service!.inputs.limits!.value).toEqual({ memory: 1024 ** 3, timeout: 60, tags: [] });
  });

  it('copy, groups, policies, workflows and outputs', async () => {
    const s = (await compile()).service!;
    expect(s.nodes['web-2']!.properties.command).toEqual(['/usr/bin/web', '--second']);
    expect(s.nodes['web-2']!.requirements.map((q) => q.target)).toEqual(['box', 'web-port']);
    expect(s.groups.webs).toMatchObject({ members: ['web', 'web-2'], type: 'tosca:Root' });
    expect(s.policies).toEqual([expect.objectContaining({ name: 'place', type: 'kaidu:Placement', targets: ['web'] })]);
    expect(s.workflows).toEqual({ deploy: { steps: {} } });
    expect(s.outputs.url).toBe('http://eu-1/');
    expect(Object.keys(s.nodes)).toEqual(['box', 'web-port', 'web', 'web-2', 'gateway']);
  });

  it('inputs override defaults, coerced to their type; a bad one is an error at the input', async () => {
    const ok = await compile({ name: 'other', limits: { memory: '2 GB' } });
    expect(ok.service!.nodes.web!.properties.command).toEqual(['/usr/bin/web', '--name=other']);
    expect(ok.service!.inputs.limits!.value).toMatchObject({ memory: 2e9 });
    const bad = await compile({ workers: 'many' });
    expect(bad.diagnostics.find((d) => d.code === 'E_TOSCA_VALUE_TYPE')).toMatchObject({ file: 'app.yaml', line: 11 });
  });
});
