import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDemoDataRoot } from '../../src/demo/demo-inputs.js';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'web-db');

async function filesOf(dir: string, out: Record<string, string> = {}, root = dir): Promise<Record<string, string>> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await filesOf(p, out, root);
    else out[relative(root, p)] = await readFile(p, 'utf8');
  }
  return out;
}

describe('the demo keeps the example data in its own folder', () => {
  it('points web-db data_root into the demo folder, and the plan uses it', async () => {
    const dir = tempDir('kaidu-demo-inputs-');
    const files = withDemoDataRoot(await filesOf(EXAMPLE), join(dir, 'data'));
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, 'repo', path)), { recursive: true });
      await writeFile(join(dir, 'repo', path), text);
    }
    const r = await kaidu(['plan', '--json'], join(dir, 'repo'));
    expect(r.code, r.stderr).toBe(0);
    const actions = JSON.parse(r.stdout).hosts.flatMap((h: { waves: unknown[][] }) => h.waves.flat()) as Array<{ node: string; desired?: { properties: Record<string, unknown> } }>;
    const paths = actions.filter((a) => ['web-db/db-data', 'web-db/web-config'].includes(a.node)).map((a) => String(a.desired?.properties.path));
    expect(paths).toHaveLength(2);
    for (const p of paths) expect(p.startsWith(join(dir, 'data', 'web-db') + '/'), p).toBe(true);
    // The example's own comments and settings stay.
    expect(files['kaidu.yaml']).toContain('agents:');
  });

  it('leaves files without a data_root input alone', () => {
    const files = { 'kaidu.yaml': 'branch: main\n', 'services/x.yaml': 'service_template:\n  inputs: { port: { type: integer } }\n' };
    expect(withDemoDataRoot(files, '/tmp/d')).toBe(files);
  });
});
