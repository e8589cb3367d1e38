import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileService, createCompileCache } from '../../src/tosca/index.js';
import { fsReader, profilesReader } from '../../src/cli/fs-reader.js';
import { buildTopology } from '../../src/topology/index.js';
import { plan } from '../../src/plan/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'tosca');
const profiles = profilesReader();
const cache = createCompileCache();
const compile = (dir: string, file: string) => compileService(file, fsReader(dir), { profiles, cache });
const errors = (r: Awaited<ReturnType<typeof compile>>) => r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file}:${d.line} ${d.code} ${d.message}`);

/** A folder of files written for one test. */
function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kaidu-subst-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('substitution (a node with the substitute directive replaced by a service)', () => {
  it('warns that a substituted node\'s own operations and artifacts will not run (never drops them silently)', async () => {
    const dir = repo({});
    const app = readFileSync(join(FIXTURES, 'substitution', 'services', 'app.yaml'), 'utf8');
    const lib = readFileSync(join(FIXTURES, 'substitution', 'services', 'lib', 'kv-store.yaml'), 'utf8');
    const withOps = app.replace("      directives: [ substitute ]\n", "      directives: [ substitute ]\n      interfaces:\n        Standard:\n          operations:\n            create: scripts/make-store.sh\n");
    expect(withOps).not.toBe(app);
    mkdirSync(join(dir, 'services', 'lib'), { recursive: true });
    mkdirSync(join(dir, 'services', 'scripts'), { recursive: true });
    writeFileSync(join(dir, 'services', 'app.yaml'), withOps);
    writeFileSync(join(dir, 'services', 'lib', 'kv-store.yaml'), lib);
    writeFileSync(join(dir, 'services', 'scripts', 'make-store.sh'), '#!/bin/sh\n');
    const r = await compile(dir, 'services/app.yaml');
    expect(errors(r)).toEqual([]);
    const w = r.diagnostics.filter((d) => d.code === 'W_TOSCA_SUBSTITUTED_OPERATIONS');
    expect(w.map((d) => `${d.line} ${d.message}`)).toEqual(['11 node "store" is substituted by services/lib/kv-store.yaml: its own operation Standard.create will not run']);
    // Without operations of its own, nothing to warn about.
    const plain = await compile(join(FIXTURES, 'substitution'), 'services/app.yaml');
    expect(plain.diagnostics.filter((d) => d.code === 'W_TOSCA_SUBSTITUTED_OPERATIONS')).toEqual([]);
  });

  it('plans the inner nodes in dependency order, wired to the outer service', async () => {
    const r = await compile(join(FIXTURES, 'substitution'), 'services/app.yaml');
    expect(errors(r)).toEqual([]);
    const svc = r.service!;
    expect(Object.keys(svc.nodes)).toEqual(['h1', 'store.port', 'store.server', 'web']);
    // The substituted node's requirements fulfil the inner ones they are mapped to.
    expect(svc.nodes['store.server']!.requirements.map((q) => [q.name, q.target])).toEqual([['dependency', 'store.port'], ['host', 'h1']]);
    expect(svc.nodes['store.port']!.requirements.map((q) => [q.name, q.target])).toEqual([['host', 'h1']]);
    // Inputs fed from the node's properties: mapped (data_dir → dir) and by name (greeting).
    expect(svc.nodes['store.server']!.properties.command).toEqual(['kv', '--data', '/var/tmp/kv']);
    expect((svc.nodes['store.server']!.properties.env as Record<string, unknown>).GREETING).toBe('hi');
    // Inner calls follow the renaming; outer reads of the substituted node reach what is mapped.
    expect((svc.nodes['store.server']!.properties.env as Record<string, unknown>).PORT).toEqual({ $fn: 'get_attribute', args: ['store.port', 'port'] });
    expect((svc.nodes['store.server']!.properties.env as Record<string, unknown>).HOST_ADDRESS).toEqual({ $fn: 'get_attribute', args: ['h1', 'address'] });
    expect(svc.nodes.web!.properties.env).toEqual({ KV_PORT: { $fn: 'get_attribute', args: ['store.port', 'port'] }, KV_LISTEN: { $fn: 'get_attribute', args: ['store.port', 'address'] } });
    expect(svc.outputs.kv_port).toEqual({ $fn: 'get_attribute', args: ['store.port', 'port'] });
    // A requirement reaching the substituted node's capability reaches the mapped inner one.
    expect(svc.nodes.web!.requirements.map((q) => [q.name, q.target, q.capability])).toEqual([['host', 'h1', undefined], ['connection', 'store.port', 'endpoint']]);

    const p = plan(buildTopology([svc]), {}, { revision: 'r1' });
    expect(p.hosts.map((h) => [h.host, h.waves.map((w) => w.map((a) => `${a.kind} ${a.node}`))])).toEqual([
      ['h1', [['create app/store.port'], ['create app/store.server', 'create app/web']]],
    ]);
    const web = p.hosts[0]!.waves[1]!.find((a) => a.node === 'app/web')!;
    expect(Object.keys(web.desired!.env ?? {})).toEqual(['STORE_PORT_HOST', 'STORE_PORT_ADDRESS', 'STORE_PORT_PORT']);
  });

  it('keeps a value fed from the outer service naming the outer node, even when an inner node has its name', async () => {
    const r = await compile(join(FIXTURES, 'substitution'), 'services/app-same-name.yaml');
    expect(errors(r)).toEqual([]);
    expect(r.service!.nodes['store.server']!.properties.command).toEqual(['kv', '--data', { $fn: 'concat', args: ['/var/tmp/kv-', { $fn: 'get_attribute', args: ['port', 'port'] }] }]);
    expect((r.service!.nodes['store.server']!.properties.env as Record<string, unknown>).PORT).toEqual({ $fn: 'get_attribute', args: ['store.port', 'port'] });
  });

  it('picks the service whose substitution_filter the node matches', async () => {
    const r = await compile(join(FIXTURES, 'grammar'), 'substitute-valid-2.0.yaml');
    expect(errors(r)).toEqual([]);
    expect(r.service!.nodes['hot.cache']!.properties.command).toEqual(['cache', '--memory', '64 MiB', '--flavour', 'small']);
    expect(r.service!.nodes['cold.cache']!.properties.command).toEqual(['cache', '--memory', '1 GiB', '--flavour', 'large']);
    expect(r.service!.nodes.hot).toBeUndefined();
  });

  const T = 'tosca_definitions_version: tosca_2_0\n';
  const loopType = (name: string, next: string) => `${T}imports: [ ${next}.yaml ]\nnode_types:\n  ${name}: { derived_from: tosca:Root }\n`;

  it('refuses a cycle of substitutions through several files, at the node that closes it', async () => {
    const dir = repo({
      'main.yaml': `${T}imports: [ a.yaml ]\nservice_template:\n  node_templates:\n    x:\n      type: A\n      directives: [ substitute ]\n`,
      'types.yaml': `${T}node_types:\n  A: { derived_from: tosca:Root }\n  B: { derived_from: tosca:Root }\n`,
      'a.yaml': `${T}imports: [ types.yaml, b.yaml ]\nservice_template:\n  node_templates:\n    y:\n      type: B\n      directives: [ substitute ]\n  substitution_mappings: { node_type: A }\n`,
      'b.yaml': `${T}imports: [ types.yaml ]\nservice_template:\n  node_templates:\n    z:\n      type: A\n      directives: [ substitute ]\n  substitution_mappings: { node_type: B }\n`,
    });
    const r = await compile(dir, 'main.yaml');
    expect(errors(r)).toEqual(['b.yaml:7 E_TOSCA_SUBSTITUTE substitution cycle: a.yaml → b.yaml → a.yaml (node "z")']);
  });

  it('stops services that substitute each other\'s nodes many times over (exponential growth)', async () => {
    const files: Record<string, string> = {};
    const four = (type: string) => [1, 2, 3, 4].map((i) => `    n${i}:\n      type: ${type}\n      directives: [ substitute ]\n`).join('');
    for (let i = 0; i < 6; i++) files[`g${i}.yaml`] = `${loopType(`G${i}`, `g${i + 1}`)}service_template:\n  node_templates:\n${four(`G${i + 1}`)}  substitution_mappings: { node_type: G${i} }\n`;
    files['g6.yaml'] = `${T}node_types:\n  G6: { derived_from: tosca:Root }\nservice_template:\n  node_templates:\n    leaf: { type: tosca:Root }\n  substitution_mappings: { node_type: G6 }\n`;
    files['main.yaml'] = `${T}imports: [ g0.yaml ]\nservice_template:\n  node_templates:\n${four('G0')}`;
    const r = await compile(repo(files), 'main.yaml');
    const errs = errors(r);
    expect(errs.length).toBeGreaterThan(0);
    expect(errs.every((e) => /E_TOSCA_SUBSTITUTE node "n\d": more than 1000 substitutions in one compile/.test(e))).toBe(true);
    expect(Object.keys(r.service!.nodes).length).toBeLessThan(4 ** 6);
  });

  it('refuses substitutions nested too deep, and an input nothing feeds', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) {
      files[`l${i}.yaml`] = `${loopType(`L${i}`, `l${i + 1}`)}service_template:\n  node_templates:\n    n:\n      type: L${i + 1}\n      directives: [ substitute ]\n  substitution_mappings: { node_type: L${i} }\n`;
    }
    files['l12.yaml'] = `${T}node_types:\n  L12: { derived_from: tosca:Root }\nservice_template:\n  inputs:\n    needed: { type: string }\n  node_templates:\n    leaf: { type: kaidu:Directory, properties: { path: { $get_input: needed } } }\n  substitution_mappings: { node_type: L12 }\n`;
    files['main.yaml'] = `${T}imports: [ l0.yaml ]\nservice_template:\n  node_templates:\n    top:\n      type: L0\n      directives: [ substitute ]\n`;
    const r = await compile(repo(files), 'main.yaml');
    expect(errors(r)).toEqual([expect.stringMatching(/^l7\.yaml:9 E_TOSCA_SUBSTITUTE node "n": substitutions nest deeper than 8 levels/)]);

    files['l3.yaml'] = files['l3.yaml']!.replace('L4', 'L12').replace('L4', 'L12');
    const short = await compile(repo(files), 'main.yaml');
    expect(errors(short)).toEqual([expect.stringMatching(/^l12\.yaml:6 E_TOSCA_INPUT_REQUIRED input "needed" needs a value \(this template substitutes a node/)]);
    expect(Object.keys(short.service!.nodes)).toEqual(['top.n.n.n.n.leaf']);
  });
});
