import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtinRegistry, PortDelegate, SystemCommandRunner } from '../../src/delegates/index.js';
import { parseAdvertisedAddress } from '../../src/cli/commands/agent.js';
import { kaidu } from '../support/run-cli.js';
import { context, desired } from '../support/delegate-context.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-advertise-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a host's advertised address (agent --address)", () => {
  it("is a Port's discovered address when the node names none; a node's own address wins; loopback without it", async () => {
    const advertised = new PortDelegate({ advertise: '10.77.0.9' });
    expect((await advertised.create(context(dir, desired('kaidu:Port', { range: [24400, 24410] })))).attributes).toMatchObject({ address: '10.77.0.9' });
    expect((await advertised.create(context(dir, desired('kaidu:Port', { range: [24400, 24410], address: '192.0.2.7' })))).attributes).toMatchObject({ address: '192.0.2.7' });
    expect((await new PortDelegate().create(context(dir, desired('kaidu:Port', { range: [24400, 24410] })))).attributes).toMatchObject({ address: '127.0.0.1' });
  });

  it('reaches the Port delegate through the built-in registry', async () => {
    const registry = builtinRegistry({ dataDir: dir, runner: new SystemCommandRunner(), advertiseAddress: 'fd00::7' });
    const port = registry.select({ types: ['kaidu:Port'] })!;
    expect((await port.create(context(dir, desired('kaidu:Port', { range: [24420, 24430] })))).attributes).toMatchObject({ address: 'fd00::7' });
  });

  it('must be an IP address other hosts can reach', () => {
    expect(parseAdvertisedAddress(' 10.1.2.3 ')).toBe('10.1.2.3');
    expect(parseAdvertisedAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(() => parseAdvertisedAddress('db.example')).toThrow(/--address expects an IP address, got "db.example"/);
    expect(() => parseAdvertisedAddress('0.0.0.0')).toThrow(/unspecified address/);
    expect(() => parseAdvertisedAddress('::')).toThrow(/unspecified address/);
  });

  it('a bad --address is a usage error (exit 2) before the agent starts', async () => {
    const r = await kaidu(['agent', '--repo', dir, '--host', 'h1', '--address', 'nowhere', '--data-dir', join(dir, 'data')], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--address expects an IP address, got "nowhere"/);
  });
});
