/**
 * cloud-init NoCloud seeds for VirtualMachine nodes: the `user-data` and `meta-data` a guest's
 * cloud-init reads from a volume labelled `cidata`. The user-data is either the repository file the
 * node names (`cloud_init`) or, with `agent`, one Kaidu writes so the guest installs and starts a
 * Kaidu agent of its own (the hub's URL, its host name): the VM becomes a host of the fleet.
 */
import { mkdir, rm } from 'node:fs/promises';
import { stringify } from 'yaml';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { writeFileAtomic } from '../state/write-file.js';
import { runChecked } from './command-runner.js';
import type { DelegateContext } from './types.js';

export interface AgentSeed {
  /** The hub repository the guest's agent watches (`kaidu agent --repo`). */
  hub: string;
  /** The fleet host name the guest's agent applies for (`kaidu agent --host`), also its hostname. */
  host: string;
  /** What `npm install --global` installs: Kaidu's package tarball (a URL or path in the guest). */
  package: string;
  /** `kaidu agent --listen` in the guest (where the hub's webhooks reach it); default the agent's. */
  listen?: string;
}

// Values end up in a systemd unit and a shell-free argv, but still: one token each, nothing that
// could start a new line, an option or a substitution.
const TOKEN = /^[^\s'"`\\$;&|<>]{1,2048}$/;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Reads the `agent` property; undefined when absent. `defaultHost` is the domain name. */
export function parseAgentSeed(v: PlainValue | undefined, nodeId: string, defaultHost: string): AgentSeed | undefined {
  if (v === undefined || v === null) return undefined;
  const bad = (why: string) => new KaiduError('E_DELEGATE', `${nodeId}: agent ${why}`);
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('must be a map with hub, package and optionally host, listen');
  for (const k of Object.keys(v)) if (!['hub', 'host', 'package', 'listen'].includes(k)) throw bad(`has an unknown key "${k}" (hub, host, package, listen)`);
  const hub = v.hub;
  if (typeof hub !== 'string' || !/^(https?|ssh|git|file):\/\//.test(hub) || !TOKEN.test(hub)) throw bad(`hub ${JSON.stringify(hub)} is not a URL (http, https, ssh, git, file) without spaces or quotes`);
  const pkg = v.package;
  if (typeof pkg !== 'string' || pkg.startsWith('-') || !TOKEN.test(pkg)) throw bad(`package ${JSON.stringify(pkg)} is not an npm package spec or tarball URL`);
  const host = v.host ?? defaultHost;
  if (typeof host !== 'string' || !HOSTNAME.test(host)) throw bad(`host ${JSON.stringify(host)} is not a host name (letters, digits, inner dashes, at most 63)`);
  const seed: AgentSeed = { hub, host, package: pkg };
  if (v.listen !== undefined && v.listen !== null) {
    if (typeof v.listen !== 'string' || !/^[\w.:[\]-]+:\d{1,5}$/.test(v.listen)) throw bad(`listen ${JSON.stringify(v.listen)} is not host:port`);
    seed.listen = v.listen;
  }
  return seed;
}

/**
 * The cloud-config that installs and starts the guest's agent: Node.js and git from the guest's
 * packages, Kaidu with npm, a systemd unit reading the hub URL and host name from
 * `/etc/kaidu/agent.env`. Serialized with the YAML library, so no value can break out of its place.
 */
export function agentUserData(seed: AgentSeed): string {
  const env = `KAIDU_HUB=${seed.hub}\nKAIDU_HOST=${seed.host}\n`;
  const unit = [
    '[Unit]',
    'Description=Kaidu agent',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'EnvironmentFile=/etc/kaidu/agent.env',
    `ExecStart=/usr/local/bin/kaidu agent --repo \${KAIDU_HUB} --host \${KAIDU_HOST} --data-dir /var/lib/kaidu${seed.listen ? ` --listen ${seed.listen}` : ''}`,
    'Restart=on-failure',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  const doc = {
    hostname: seed.host,
    write_files: [
      { path: '/etc/kaidu/agent.env', permissions: '0600', content: env },
      { path: '/etc/systemd/system/kaidu-agent.service', permissions: '0644', content: unit },
    ],
    packages: ['nodejs', 'npm', 'git'],
    runcmd: [
      ['npm', 'install', '--global', seed.package],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'kaidu-agent.service'],
    ],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

/** NoCloud meta-data: the instance id (a new one makes cloud-init run again) and the hostname. */
export function metaData(instanceId: string, hostname: string): string {
  return stringify({ 'instance-id': instanceId, 'local-hostname': hostname });
}

/**
 * Writes user-data and meta-data into `stageDir` and makes the seed image `out` from them with
 * genisoimage (an ISO 9660 volume labelled cidata, with Joliet and Rock Ridge names, as
 * cloud-localds makes it).
 */
export async function buildSeedImage(ctx: Pick<DelegateContext, 'runner' | 'signal'>, stageDir: string, out: string, userData: string | Buffer, meta: string): Promise<void> {
  await rm(stageDir, { recursive: true, force: true });
  await mkdir(stageDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(`${stageDir}/user-data`, userData, 0o600);
  await writeFileAtomic(`${stageDir}/meta-data`, meta, 0o600);
  await rm(out, { force: true });
  await runChecked(ctx.runner, { argv: ['genisoimage', '-quiet', '-output', out, '-volid', 'cidata', '-joliet', '-rock', 'user-data', 'meta-data'], cwd: stageDir, signal: ctx.signal });
}
