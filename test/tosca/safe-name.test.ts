import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/repository/index.js';
import { compileService } from '../../src/tosca/index.js';
import { isSafeName, unsafeNameReason } from '../../src/tosca/safe-name.js';
import { profilesReader } from '../../src/cli/fs-reader.js';
import { memoryReader } from '../support/memory-reader.js';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';

const profiles = profilesReader();
const V2 = 'tosca_definitions_version: tosca_2_0\n';
const svc = (node: string, host = 'h1') => `${V2}service_template:\n  node_templates:\n    h: { type: kaidu:Host, properties: { name: ${JSON.stringify(host)} } }\n    ${JSON.stringify(node)}: { type: kaidu:Process, properties: { command: [ sleep, '1' ] }, requirements: [ { host: h } ] }\n`;

describe('safe names', () => {
  it('accepts ordinary names and refuses the ones that would climb, hide or smuggle', () => {
    for (const ok of ['web', 'db_1', 'api-v2', 'x.y', 'Web.2', '_private', 'ñandú', '燈', 'x'.repeat(128)]) expect(isSafeName(ok), ok).toBe(true);
    // "#" is how instances are named (web#0), "@" how their folders are: neither is in a name
    for (const bad of ['', '.', '..', '...', 'a/b', 'a\\b', '.hidden', 'a..b', 'tab\there', 'nl\n', 'nul\0', 'a#0', 'a@b', 'sp ace', '-flag', 'x'.repeat(129)]) expect(isSafeName(bad), JSON.stringify(bad)).toBe(false);
    expect(unsafeNameReason('..')).toBe('it contains ".."');
    expect(unsafeNameReason('a/b')).toBe('it contains a path separator');
  });

  it('the ASCII fast path agrees with the full rule on every short ASCII name and on edge cases', () => {
    // Exhaustive over an alphabet of the characters that matter, up to 3 characters, plus lengths at the limit.
    const alphabet = ['a', 'Z', '0', '_', '-', '.', '/', ' ', '#', '\x7f'];
    const names: string[] = [''];
    for (let len = 1; len <= 3; len++) for (const prefix of names.filter((n) => n.length === len - 1)) for (const c of alphabet) names.push(prefix + c);
    names.push('x'.repeat(128), 'x'.repeat(129), `${'x'.repeat(127)}.`, `a${'.'.repeat(2)}b`, 'a.b.c', 'a-.b');
    for (const name of names) expect(isSafeName(name), JSON.stringify(name)).toBe(unsafeNameReason(name) === undefined);
  });

  it('a node named ".." and a host named "../x" are located compile errors', async () => {
    const r = await compileService('services/web.yaml', memoryReader({ 'services/web.yaml': svc('..', '../x') }), { profiles });
    const unsafe = r.diagnostics.filter((d) => d.code === 'E_TOSCA_UNSAFE_NAME');
    expect(unsafe.map((d) => [d.message, d.file, d.line, d.column])).toEqual([
      ['host name "../x" is not allowed: it contains a path separator', 'services/web.yaml', 4, 5],
      ['node template name ".." is not allowed: it contains ".."', 'services/web.yaml', 5, 5],
    ]);
    expect(unsafe.every((d) => d.severity === 'error')).toBe(true);
  });

  it('a service file named "...yaml" (service "..") is refused and left out of the topology', async () => {
    const files = { 'kaidu.yaml': 'branch: main\n', 'services/...yaml': svc('p'), 'services/.hidden.yaml': svc('q'), 'services/ok.yaml': svc('r') };
    const repo = await loadRepository(memoryReader(files), { profiles });
    const unsafe = repo.diagnostics.filter((d) => d.code === 'E_TOSCA_UNSAFE_NAME');
    expect(unsafe.map((d) => `${d.file}:${d.line}:${d.column} ${d.message}`).sort()).toEqual([
      'services/...yaml:1:1 service name ".." is not allowed: it contains ".."',
      'services/.hidden.yaml:1:1 service name ".hidden" is not allowed: it starts with a dot',
    ]);
    expect(repo.failedServices.sort()).toEqual(['..', '.hidden']);
    expect(Object.keys(repo.topology.nodes).sort()).toEqual(['ok/h', 'ok/r']);
  });

  it('an agent started with an unsafe --host is a usage error (exit 2), before it touches anything', async () => {
    const dir = tempDir('kaidu-unsafe-host-');
    const r = await kaidu(['agent', '--repo', dir, '--host', '..', '--data-dir', `${dir}/data`, '--listen', '127.0.0.1:0'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--host ".." is not a safe name');
  });
});
