/**
 * The fleet at a revision: every host the templates name, with the URL its agent listens on
 * (`kaidu.yaml` `fleet:`), and the roots of the relay tree. Pure: the same topology and settings
 * give the same fleet on every agent and in `kaidu notify`.
 */
import type { HostInfo } from '../topology/model.js';
import { urlProblem } from './fleet-settings.js';
import type { RepoSettings } from './settings.js';

export interface Fleet {
  /** Hosts with an agent URL, sorted by name. */
  hosts: string[];
  urls: ReadonlyMap<string, string>;
  /** The roots named in `fleet.roots` that are hosts of the fleet (empty: the tree's default roots). */
  roots: string[];
  fanout: number;
  /** Hosts the templates name that no URL reaches, with the reason; they get no relayed events. */
  unreachable: { host: string; reason: string }[];
  /** Named roots that are not hosts of the fleet. */
  unknownRoots: string[];
}

/**
 * The fleet of a topology's hosts, or undefined when `kaidu.yaml` has no `fleet:` section (then
 * nothing is relayed: every agent gets its events from the forge, CI or a hook directly).
 */
export function resolveFleet(hosts: Readonly<Record<string, HostInfo>>, settings: Pick<RepoSettings, 'fleet' | 'agents'>): Fleet | undefined {
  const fleet = settings.fleet;
  if (!fleet) return undefined;
  const listed = new Map(settings.agents.map((a) => [a.host, a.url]));
  const urls = new Map<string, string>();
  const unreachable: Fleet['unreachable'] = [];
  for (const name of Object.keys(hosts).sort()) {
    const url = agentUrl(hosts[name]!, fleet.hosts[name]?.url ?? listed.get(name), fleet.url);
    if ('url' in url) urls.set(name, url.url);
    else unreachable.push({ host: name, reason: url.reason });
  }
  const roots = fleet.roots.filter((r) => urls.has(r));
  return { hosts: [...urls.keys()], urls, roots, fanout: fleet.fanout, unreachable, unknownRoots: fleet.roots.filter((r) => !urls.has(r)) };
}

/** A host's agent URL: its own entry, else the pattern with `{host}` and `{address}` filled in. */
export function agentUrl(host: HostInfo, own: string | undefined, pattern: string | undefined): { url: string } | { reason: string } {
  if (own !== undefined) {
    const why = urlProblem(own, false);
    return why ? { reason: `its URL ${why}` } : { url: own };
  }
  if (!pattern) return { reason: 'fleet.hosts names no URL for it and fleet.url is not set' };
  let url = pattern.replaceAll('{host}', host.name);
  if (pattern.includes('{address}')) {
    const address = host.address;
    // The address comes from a template: a host name or an IP literal, nothing that could reshape the URL.
    if (!address) return { reason: 'fleet.url uses {address} and its kaidu:Host has no address' };
    if (!/^[A-Za-z0-9.:%_-]{1,253}$/.test(address)) return { reason: `its address ${JSON.stringify(address.slice(0, 80))} is not a host name or an IP address` };
    url = url.replaceAll('{address}', address.includes(':') ? `[${address}]` : address);
  }
  const why = urlProblem(url, false);
  return why ? { reason: `its URL ${JSON.stringify(url.slice(0, 200))} ${why}` } : { url };
}
