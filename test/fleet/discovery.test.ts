/**
 * Cross-host discovery over real addresses: examples/web-db on two hosts that are two network
 * namespaces (10.78.0.0/16 on a bridge of our own), each with its agent started with
 * `--address <its address>`. host-b's agent reserves db-port and records its own address as the
 * port's discovered address; the database listens there; host-a's agent reads that from host-b's
 * state and starts the web process with DB_HOST set to it. 127.0.0.1 in host-a's namespace is not
 * host-b's, so a visit counted in the database proves the discovered address carried the traffic.
 * Root only (ip netns); with CI=true it runs or fails.
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../../bench/fleet/fleet.js';
import { HubStateReader, type StateDoc } from '../../bench/fleet/hub-state.js';
import { ROOT } from '../support/agent-harness.js';

const exec = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const hasIp = await exec('ip', ['-V']).then(() => true, () => false);
const canRun = isRoot && hasIp;
const EXAMPLE = join(ROOT, 'examples/web-db');

let fleet: Fleet | undefined;
const dataRoot = `/tmp/kaidu-fleet-web-db-${process.pid}`;
afterAll(async () => {
  await fleet?.close();
  await rm(dataRoot, { recursive: true, force: true });
});

describe.skipIf(!canRun && process.env.CI !== 'true')(`web-db across two network namespaces${canRun ? '' : ' (skipped: needs root and iproute2)'}`, () => {
  it("host-a's web process reaches host-b's database at the address host-b's agent discovered, not 127.0.0.1", async () => {
    const service = await readFile(join(EXAMPLE, 'services/web-db.yaml'), 'utf8');
    const hosts = ['host-b', 'host-a'];
    fleet = await startFleet({
      prefix: 'kft',
      base: '10.78',
      hosts,
      files: {
        'kaidu.yaml': `branch: main\ninputs:\n  web-db:\n    data_root: ${dataRoot}\n`,
        'services/web-db.yaml': service,
        'services/web-db/files/web.conf.tmpl': await readFile(join(EXAMPLE, 'services/web-db/files/web.conf.tmpl'), 'utf8'),
      },
      agentArgs: (_host, address) => ['--address', address],
    });
    await fleet.startAgents();
    const [b, a] = fleet.agents as [typeof fleet.agents[0], typeof fleet.agents[0]];
    expect(b.address).not.toBe(a.address);
    const reader = new HubStateReader(fleet.gitdir);
    // Event-driven enough: each check reads the hub; the outer limit is generous for a loaded machine.
    const web = await until(async () => {
      const st = (await reader.read('host-a', 'web-db'))?.doc;
      return st?.nodes?.web?.status === 'running' ? st : undefined;
    }, 150_000, async () => `host-a's web never ran:\n${await tail(a.log)}\n--- host-b\n${await tail(b.log)}`);
    const db = (await reader.read('host-b', 'web-db'))!.doc as StateDoc;
    // What host-b's agent discovered and wrote to state: its own address, not loopback.
    expect(db.nodes?.['db-port']?.attributes).toMatchObject({ address: b.address });
    expect(db.nodes?.db?.status).toBe('running');
    expect(web.nodes?.web?.env).toMatchObject({ DB_HOST: b.address, DB_PORT: String(db.nodes?.['db-port']?.attributes?.port) });
    // The web process listens on host-a's advertised address too (its web-port's address); ask it over the bridge.
    expect(web.nodes?.['web-port']?.attributes).toMatchObject({ address: a.address });
    const webUrl = `http://${a.address}:${String(web.nodes?.['web-port']?.attributes?.port)}/`;
    const ask = async () => (await fetch(webUrl, { signal: AbortSignal.timeout(20_000) })).text();
    const first = await ask();
    expect(first).toContain(`database at ${b.address}:${db.nodes?.['db-port']?.attributes?.port}: visits = 1`);
    expect(await ask()).toContain('visits = 2');
    // The database really is only at host-b's address: host-a's own loopback has nothing on that port.
    const viaLoopback = await exec('ip', ['netns', 'exec', a.ns, 'curl', '-sS', '--max-time', '5', `http://127.0.0.1:${db.nodes?.['db-port']?.attributes?.port}/visits`]).then(() => 'answered', (e: { stderr?: string }) => e.stderr ?? 'failed');
    expect(viaLoopback).toMatch(/Failed to connect|Couldn't connect|Connection refused/);
  });
});

async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number, explain: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(await explain());
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function tail(file: string): Promise<string> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').slice(-25).join('\n');
}
