/**
 * Real agents (child processes of `kaidu agent`) on a real hub: the forge's webhook reaches one
 * root only, and the other agents hear of the push through the relay tree.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverPushWebhook } from '../../src/demo/webhook-relay.js';
import { freePort, startHarness, type Harness } from '../support/agent-harness.js';

const HOSTS = ['host-a', 'host-b', 'host-c'];

function templates(root: string, mode: string): string {
  const lines = ['tosca_definitions_version: tosca_2_0', 'service_template:', '  node_templates:'];
  for (const h of HOSTS) lines.push(`    ${h}:`, '      type: kaidu:Host');
  for (const h of HOSTS) {
    lines.push(`    dir-${h}:`, '      type: kaidu:Directory', '      properties:', `        path: ${root}/${h}`, `        mode: '${mode}'`, '      requirements:', `        - host: ${h}`);
  }
  return lines.join('\n') + '\n';
}

let h: Harness | undefined;
let made: string | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  if (made) await rm(made, { recursive: true, force: true });
  made = undefined;
});

describe('agents relay a push along the tree', () => {
  it('a webhook to the root alone brings every host to the new revision, each with one relayed event', async () => {
    const ports = new Map<string, number>();
    for (const host of HOSTS) ports.set(host, await freePort());
    const url = (host: string) => `http://127.0.0.1:${ports.get(host)}`;
    const root = (made = `/tmp/kaidu-relay-e2e-${process.pid}-${Date.now()}`);
    const fleet = ['fleet:', '  roots: [host-a]', '  hosts:', ...HOSTS.map((x) => `    ${x}: { url: "${url(x)}" }`)].join('\n');
    h = await startHarness({ 'kaidu.yaml': `branch: main\n${fleet}\n`, 'services/dirs.yaml': templates(root, '0750') });
    // The forge calls the root only (no webhook to every agent).
    h.relay = false;
    for (const host of HOSTS) {
      const agent = await h.startAgent(host, ['--listen', `127.0.0.1:${ports.get(host)}`]);
      agent.url = url(host);
    }
    for (const agent of h.agents.values()) await h.waitReady(agent);

    const sha = await h.push({ 'services/dirs.yaml': templates(root, '0700') }, 'tighten the directories');
    const push = await h.until('the push reached the hub', async () => h!.pushes.find((p) => p.after === sha));
    expect(await deliverPushWebhook(url('host-a'), h.secret, push)).toBe(202);

    await h.until('every host applied the push', async () => {
      const state = await h!.state();
      return HOSTS.every((host) => state[host]?.dirs?.nodes[`dir-${host}`]?.revision === sha);
    });
    for (const host of ['host-b', 'host-c']) {
      const metrics = await (await fetch(`${url(host)}/metrics`)).text();
      expect(metrics, host).toMatch(/kaidu_events_total\{source="relay"\} 1\n/);
      expect(metrics, host).toMatch(/kaidu_relay_received_total\{result="accepted"\} 1\n/);
    }
    const rootMetrics = await (await fetch(`${url('host-a')}/metrics`)).text();
    expect(rootMetrics).toMatch(/kaidu_relay_sent_total\{result="delivered"\} 2\n/);
  });
});
