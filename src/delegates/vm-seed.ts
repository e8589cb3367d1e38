/**
 * cloud-init NoCloud seeds for VirtualMachine nodes: the `user-data` and `meta-data` a guest's
 * cloud-init reads from a volume labelled `cidata`. The user-data is either the repository file the
 * node names (`cloud_init`) or, with `agent`, one Kaidu writes so the guest installs and starts a
 * Kaidu agent of its own (the hub's URL, its host name): the VM becomes a host of the fleet.
 */
import { chmod, mkdir, open, rm } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
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
  /**
   * A file on the hypervisor's host holding the webhook secret; the delegate reads it and puts it
   * on the seed (`/etc/kaidu/webhook-secret` in the guest, 0600), so it is never in the repository.
   */
  webhookSecretFile?: string;
}

/** What the guest prints on its serial console once the agent's service is started, and on failure. */
export const AGENT_STARTED = 'kaidu-agent: started';
export const AGENT_FAILED = 'kaidu-agent: failed';

// Values end up in a systemd unit and a shell-free argv, but still: one token each, nothing that
// could start a new line, an option or a substitution.
const TOKEN = /^[^\s'"`\\$;&|<>]{1,2048}$/;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Reads the `agent` property; undefined when absent. `defaultHost` is the domain name. */
export function parseAgentSeed(v: PlainValue | undefined, nodeId: string, defaultHost: string): AgentSeed | undefined {
  if (v === undefined || v === null) return undefined;
  const bad = (why: string) => new KaiduError('E_DELEGATE', `${nodeId}: agent ${why}`);
  const keys = ['hub', 'host', 'package', 'listen', 'webhook_secret_file'];
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('must be a map with hub, package and optionally host, listen, webhook_secret_file');
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw bad(`has an unknown key "${k}" (${keys.join(', ')})`);
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
  const secretFile = v.webhook_secret_file;
  if (secretFile !== undefined && secretFile !== null) {
    if (typeof secretFile !== 'string' || !isAbsolute(secretFile) || secretFile.includes('\0')) throw bad(`webhook_secret_file ${JSON.stringify(secretFile)} is not an absolute path`);
    seed.webhookSecretFile = secretFile;
  }
  return seed;
}

/** Reads the webhook secret a seed names (trimmed; at most 4 KiB, one line, not empty). */
export async function readWebhookSecret(seed: AgentSeed, nodeId: string): Promise<string | undefined> {
  if (!seed.webhookSecretFile) return undefined;
  const bad = (why: string) => new KaiduError('E_DELEGATE', `${nodeId}: agent webhook_secret_file ${seed.webhookSecretFile} ${why}`);
  const fh = await open(seed.webhookSecretFile, 'r').catch((err: NodeJS.ErrnoException) => {
    throw bad(err.code === 'ENOENT' ? 'does not exist' : `cannot be read (${err.code ?? err.message})`);
  });
  try {
    const buf = Buffer.alloc(4097);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > 4096) throw bad('is larger than 4 KiB');
    const secret = buf.subarray(0, bytesRead).toString('utf8').trim();
    if (!secret || /[\r\n\0]/.test(secret)) throw bad('must hold the secret on one line');
    return secret;
  } finally {
    await fh.close();
  }
}

// Runs in the guest as cloud-init's runcmd (`sh -ec SCRIPT kaidu-agent-install PACKAGE`): the
// package arrives as $1, never spliced into the script. npm must not reach for a registry: the
// package carries its dependencies. A failure prints AGENT_FAILED on the console, so the boot wait
// fails at once instead of timing out, and success is printed only once the service is active.
const INSTALL_SCRIPT = [
  `trap '[ $? -eq 0 ] || echo "${AGENT_FAILED} (see /var/log/cloud-init-output.log)" | tee /dev/console' EXIT`,
  'export HOME=/root',
  'npm install --global --no-audit --no-fund --no-update-notifier "$1"',
  'systemctl daemon-reload',
  'systemctl enable --now kaidu-agent.service',
  'systemctl is-active --quiet kaidu-agent.service',
  `echo "${AGENT_STARTED}" | tee /dev/console`,
].join('\n');

/**
 * The cloud-config that installs and starts the guest's agent: Kaidu with npm (the image brings
 * Node.js >= 20.19 and npm: Debian's own nodejs is too old), a systemd unit reading the hub URL and
 * host name from `/etc/kaidu/agent.env`. Serialized with the YAML library, so no value can break
 * out of its place.
 */
export function agentUserData(seed: AgentSeed, webhookSecret?: string): string {
  const env = `KAIDU_HUB=${seed.hub}\nKAIDU_HOST=${seed.host}\n`;
  const flags = `${seed.listen ? ` --listen ${seed.listen}` : ''}${webhookSecret ? ' --webhook-secret-file /etc/kaidu/webhook-secret' : ''}`;
  const unit = [
    '[Unit]',
    'Description=Kaidu agent',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'EnvironmentFile=/etc/kaidu/agent.env',
    `ExecStart=/usr/local/bin/kaidu agent --repo \${KAIDU_HUB} --host \${KAIDU_HOST} --data-dir /var/lib/kaidu${flags}`,
    'Restart=on-failure',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  const files: Record<string, string>[] = [
    { path: '/etc/kaidu/agent.env', permissions: '0600', content: env },
    { path: '/etc/systemd/system/kaidu-agent.service', permissions: '0644', content: unit },
  ];
  if (webhookSecret) files.push({ path: '/etc/kaidu/webhook-secret', permissions: '0600', content: `${webhookSecret}\n` });
  const doc = {
    hostname: seed.host,
    write_files: files,
    runcmd: [['sh', '-ec', INSTALL_SCRIPT, 'kaidu-agent-install', seed.package]],
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
  // The user-data can hold a secret (the agent's webhook secret): the seed is for the VM only.
  await chmod(out, 0o600).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
