import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';

const svc = (host: string, node: string, port: number, protocol = 'tcp') => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    ${host}: { type: kaidu:Host }
    ${node}:
      type: kaidu:Port
      properties: { port: ${port}, protocol: ${protocol} }
      requirements: [ { host: ${host} } ]
`;

async function repo(files: Record<string, string>): Promise<string> {
  const dir = tempDir('kaidu-port-clash-');
  await mkdir(join(dir, 'services'));
  await writeFile(join(dir, 'kaidu.yaml'), 'branch: main\n');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, 'services', name), text);
  return dir;
}

describe('two services asking for the same fixed port', () => {
  it('validate and plan report the clash where it is, naming the other node', async () => {
    const dir = await repo({ 'api.yaml': svc('h', 'api-port', 8080), 'web.yaml': svc('h', 'web-port', 8080) });
    const v = await kaidu(['validate'], dir);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/services\/web\.yaml:5:5: error E_TOPOLOGY_PORT_CLASH: port 8080\/tcp on host h is also asked for by api\/api-port \(services\/api\.yaml:5:5\)/);
    const p = await kaidu(['plan'], dir);
    expect(p.code).toBe(1);
    expect(p.stdout + p.stderr).toContain('is also asked for by api/api-port');
    const j = JSON.parse((await kaidu(['plan', '--json'], dir)).stdout);
    expect(j.diagnostics).toContainEqual(expect.objectContaining({ code: 'E_TOPOLOGY_PORT_CLASH', file: 'services/web.yaml', line: 5 }));
  });

  it('no clash across hosts or protocols', async () => {
    const dir = await repo({ 'api.yaml': svc('h', 'api-port', 8080), 'web.yaml': svc('g', 'web-port', 8080), 'dns.yaml': svc('h', 'dns-port', 8080, 'udp') });
    const v = await kaidu(['validate'], dir);
    expect(v.stdout).not.toContain('PORT_CLASH');
    expect(v.code).toBe(0);
  });
});
