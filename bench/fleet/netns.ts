/**
 * A private network of hosts on this machine: one Linux network namespace per host, each joined
 * by a veth pair to one bridge, addresses from a /16 of our own (root only). The bridge lives in
 * a namespace of its own (`<prefix>-sw`, the switch) and the root namespace joins it by one more
 * veth (`<prefix>-hub`, the hub's address): frames between hosts are bridged where no firewall
 * rule exists. (On the root namespace's bridge, Docker's FORWARD policy DROP would drop them once
 * br_netfilter is loaded; this way no firewall rule of the machine is touched.)
 * Everything is named `<prefix>-…`, so a leftover of a crashed run is found and removed on start.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface NetHost {
  /** Namespace name, `<prefix>-<i>`. */
  ns: string;
  address: string;
}

export interface FleetNetwork {
  prefix: string;
  /** The root namespace's address on the fleet network (the `<prefix>-hub` veth): the hub listens here. */
  hubAddress: string;
  hosts: NetHost[];
  /** argv that runs `argv` inside the namespace. */
  inNs(ns: string, argv: string[]): string[];
  destroy(): Promise<void>;
}

async function ip(...args: string[]): Promise<string> {
  try {
    return (await exec('ip', args)).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** `10.77` + index → `10.77.x.y`; index 0 is the hub's (`.0.1`), hosts from `.0.2` on. */
function addressOf(base: string, index: number): string {
  const n = index + 1;
  if (n > 65_533) throw new Error(`too many hosts for ${base}.0.0/16`);
  return `${base}.${n >> 8}.${n & 255}`;
}

function checkPrefix(prefix: string): void {
  // Interface names are at most 15 bytes: `<prefix>-hub` must fit.
  if (!/^[a-z][a-z0-9]{1,6}$/.test(prefix)) throw new Error(`network prefix "${prefix}" must be 2-7 lowercase letters or digits`);
}

/** Removes whatever a run with this prefix left behind: its namespaces (and the processes still in them, the switch's bridge and veths), the hub's veth. */
export async function cleanNetwork(prefix: string): Promise<void> {
  checkPrefix(prefix);
  const namespaces = (await ip('-o', 'netns', 'list').catch(() => ''))
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${prefix}-`));
  for (const ns of namespaces) {
    // Processes of a crashed run of ours still live in it; the namespace outlives its name while they run.
    const pids = (await ip('netns', 'pids', ns).catch(() => '')).split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 1);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await ip('netns', 'del', ns).catch(() => undefined);
  }
  const links = (await ip('-o', 'link', 'show').catch(() => ''))
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && n.startsWith(`${prefix}-`));
  for (const link of links) await ip('link', 'del', link).catch(() => undefined);
}

/** The same as cleanNetwork, synchronously: for a process that is exiting (no event loop left). */
export function cleanNetworkSync(prefix: string): void {
  checkPrefix(prefix);
  const run = (...args: string[]) => {
    try {
      return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return '';
    }
  };
  for (const ns of run('-o', 'netns', 'list').split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${prefix}-`))) {
    for (const pid of run('netns', 'pids', ns).split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 1)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    run('netns', 'del', ns);
  }
  run('link', 'del', `${prefix}-hub`);
}

/**
 * Creates `count` host namespaces on a fresh switch. `base` is the first two octets of the /16
 * (e.g. `10.77`); use a different prefix and base for networks that live at the same time.
 */
export async function createNetwork(opts: { prefix: string; base: string; count: number }): Promise<FleetNetwork> {
  const { prefix, base, count } = opts;
  checkPrefix(prefix);
  if (!/^10\.\d{1,3}$/.test(base)) throw new Error(`network base "${base}" must be 10.<n>`);
  if (process.getuid?.() !== 0) throw new Error('the fleet network needs root (ip netns add)');
  await cleanNetwork(prefix);
  const sw = `${prefix}-sw`;
  const hubAddress = addressOf(base, 0);
  const net: FleetNetwork = {
    prefix,
    hubAddress,
    hosts: [],
    inNs: (ns, argv) => ['ip', 'netns', 'exec', ns, ...argv],
    destroy: () => cleanNetwork(prefix),
  };
  try {
    await ip('netns', 'add', sw);
    await ip('-n', sw, 'link', 'add', 'name', 'br0', 'type', 'bridge');
    await ip('-n', sw, 'link', 'set', 'br0', 'up');
    await ip('link', 'add', `${prefix}-hub`, 'type', 'veth', 'peer', 'name', 'hub', 'netns', sw);
    await ip('-n', sw, 'link', 'set', 'hub', 'master', 'br0', 'up');
    await ip('addr', 'add', `${hubAddress}/16`, 'dev', `${prefix}-hub`);
    await ip('link', 'set', `${prefix}-hub`, 'up');
    for (let i = 0; i < count; i++) {
      const ns = `${prefix}-${i}`;
      const address = addressOf(base, i + 1);
      await ip('netns', 'add', ns);
      await ip('link', 'add', `v${i}`, 'netns', sw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await ip('-n', sw, 'link', 'set', `v${i}`, 'master', 'br0', 'up');
      await ip('-n', ns, 'addr', 'add', `${address}/16`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      net.hosts.push({ ns, address });
    }
  } catch (err) {
    await cleanNetwork(prefix);
    throw err;
  }
  return net;
}
