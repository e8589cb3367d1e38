import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'web-db');

describe('one way to name the repository, and --json everywhere', () => {
  it('graph --json is graph --format json', async () => {
    const r = await kaidu(['graph', '--json', '-C', EXAMPLE], tempDir('kaidu-opt-'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).nodes.some((n: { id: string }) => n.id === 'web-db/web')).toBe(true);
    expect(r.stdout).toBe((await kaidu(['graph', '--format', 'json'], EXAMPLE)).stdout);
  });

  it('-C works for validate, graph, plan, status and apply, relative to where kaidu runs', async () => {
    const cwd = join(EXAMPLE, '..');
    for (const argv of [['validate'], ['graph'], ['plan'], ['status'], ['plan', '--json']]) {
      const r = await kaidu([...argv, '-C', 'web-db'], cwd);
      expect(r.stderr, argv.join(' ')).toBe('');
      expect(r.code, argv.join(' ')).toBe(0);
    }
    // apply reads the repository before it asks anything: a wrong -C fails on the folder, not elsewhere.
    const apply = await kaidu(['apply', '-C', 'web-db'], cwd);
    expect(apply.stderr).toContain('say which host to apply with --host (host-a, host-b)');
  });

  it('a positional path still works for plan and status, with a deprecation note; both at once is refused', async () => {
    const r = await kaidu(['plan', EXAMPLE], tempDir('kaidu-opt-'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('kaidu: "kaidu plan PATH" is deprecated; use "kaidu plan -C PATH"\n');
    expect(r.stdout).toBe((await kaidu(['plan', '-C', EXAMPLE], tempDir('kaidu-opt-'))).stdout);
    const both = await kaidu(['status', '-C', EXAMPLE, EXAMPLE], tempDir('kaidu-opt-'));
    expect(both.code).toBe(2);
  });
});
