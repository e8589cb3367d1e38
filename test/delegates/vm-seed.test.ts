/**
 * The NoCloud seed a VirtualMachine gets (built for real with genisoimage and read back with
 * isoinfo), the readiness property, and the boot wait on a console log.
 */
import { execFile, execFileSync } from 'node:child_process';
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RecordingRunner, SystemCommandRunner, VirtualMachineDelegate } from '../../src/delegates/index.js';
import type { CommandRunner } from '../../src/delegates/types.js';
import { parseVmReadiness, waitBooted } from '../../src/delegates/vm-boot.js';
import { AGENT_FAILED, AGENT_STARTED, agentUserData, buildSeedImage, metaData, parseAgentSeed, readWebhookSecret } from '../../src/delegates/vm-seed.js';
import { context, desired } from '../support/delegate-context.js';
import { tempDir } from '../support/temp-dir.js';

const exec = promisify(execFile);
const CI = process.env.CI === 'true';
const has = (tool: string) => {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const isoTools = has('genisoimage') && has('isoinfo');

describe('agent seed', () => {
  it('writes a cloud-config that installs the agent with the hub URL and host name, as data', () => {
    const seed = parseAgentSeed({ hub: 'https://git.example/ops.git', package: 'https://git.example/kaidu-0.1.0.tgz', listen: '0.0.0.0:7070' }, 'svc/vm', 'kaidu-svc-vm');
    expect(seed).toEqual({ hub: 'https://git.example/ops.git', host: 'kaidu-svc-vm', package: 'https://git.example/kaidu-0.1.0.tgz', listen: '0.0.0.0:7070' });
    const text = agentUserData(seed!);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const doc = parse(text) as { hostname: string; write_files: { path: string; content: string }[]; runcmd: string[][]; packages?: string[] };
    expect(doc.hostname).toBe('kaidu-svc-vm');
    expect(doc.write_files[0]).toMatchObject({ path: '/etc/kaidu/agent.env', content: 'KAIDU_HUB=https://git.example/ops.git\nKAIDU_HOST=kaidu-svc-vm\n' });
    expect(doc.write_files[1]!.content).toContain('ExecStart=/usr/local/bin/kaidu agent --repo ${KAIDU_HUB} --host ${KAIDU_HOST} --data-dir /var/lib/kaidu --listen 0.0.0.0:7070\n');
    expect(doc.write_files).toHaveLength(2);
    // One shell script with `set -e`; the package is its argument ($1), never part of the script.
    expect(doc.runcmd).toHaveLength(1);
    const [sh, flags, script, name, pkg] = doc.runcmd[0]!;
    expect([sh, flags, name, pkg]).toEqual(['sh', '-ec', 'kaidu-agent-install', 'https://git.example/kaidu-0.1.0.tgz']);
    expect(script).toContain('npm install --global --no-audit --no-fund --no-update-notifier "$1"');
    expect(script).not.toContain('git.example');
    expect(script!.indexOf('systemctl is-active --quiet kaidu-agent.service')).toBeLessThan(script!.indexOf(`echo "${AGENT_STARTED}"`));
    expect(script).toContain(AGENT_FAILED);
    // Node.js comes with the image: Debian's nodejs (18) is too old for Kaidu, so none is installed.
    expect(doc.packages).toBeUndefined();
    expect(parse(metaData('i-1', 'builder'))).toEqual({ 'instance-id': 'i-1', 'local-hostname': 'builder' });
  });

  it('the webhook secret comes from a file on the hypervisor into the guest (0600), never from the node', async () => {
    const dir = tempDir('kaidu-vm-secret-');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'secret');
    await writeFile(file, 's3cret\n');
    const seed = parseAgentSeed({ hub: 'http://h/x.git', package: 'k.tgz', webhook_secret_file: file }, 'svc/vm', 'x')!;
    const secret = await readWebhookSecret(seed, 'svc/vm');
    expect(secret).toBe('s3cret');
    const doc = parse(agentUserData(seed, secret)) as { write_files: { path: string; permissions: string; content: string }[] };
    expect(doc.write_files[1]!.content).toContain('--data-dir /var/lib/kaidu --webhook-secret-file /etc/kaidu/webhook-secret\n');
    expect(doc.write_files[2]).toEqual({ path: '/etc/kaidu/webhook-secret', permissions: '0600', content: 's3cret\n' });
    expect(() => parseAgentSeed({ hub: 'http://h/x.git', package: 'k.tgz', webhook_secret_file: 'secret' }, 'svc/vm', 'x')).toThrow(/webhook_secret_file "secret" is not an absolute path/);
    await expect(readWebhookSecret({ ...seed, webhookSecretFile: join(dir, 'none') }, 'svc/vm')).rejects.toThrow(/webhook_secret_file .*none does not exist/);
    await writeFile(file, '\n');
    await expect(readWebhookSecret(seed, 'svc/vm')).rejects.toThrow(/must hold the secret on one line/);
    await writeFile(file, 'x'.repeat(5000));
    await expect(readWebhookSecret(seed, 'svc/vm')).rejects.toThrow(/larger than 4 KiB/);
  });

  it('refuses values that could break out of the unit or the command line', () => {
    const base = { hub: 'https://h/x.git', package: 'kaidu.tgz' };
    expect(parseAgentSeed(undefined, 'svc/vm', 'x')).toBeUndefined();
    expect(() => parseAgentSeed({ ...base, hub: 'https://h/x.git\nExecStartPre=/bin/rm' }, 'svc/vm', 'x')).toThrow(/svc\/vm: agent hub "https:\/\/h\/x.git\\nExecStartPre=\/bin\/rm" is not a URL/);
    expect(() => parseAgentSeed({ ...base, hub: '$(reboot)' }, 'svc/vm', 'x')).toThrow(/agent hub/);
    expect(() => parseAgentSeed({ ...base, package: '--registry=http://evil' }, 'svc/vm', 'x')).toThrow(/agent package/);
    expect(() => parseAgentSeed({ ...base, host: 'a b' }, 'svc/vm', 'x')).toThrow(/agent host "a b" is not a host name/);
    expect(() => parseAgentSeed({ ...base, listen: '0.0.0.0:70; rm' }, 'svc/vm', 'x')).toThrow(/agent listen/);
    expect(() => parseAgentSeed({ ...base, hubb: 'x' }, 'svc/vm', 'x')).toThrow(/unknown key "hubb"/);
    expect(() => parseAgentSeed('https://h', 'svc/vm', 'x')).toThrow(/must be a map/);
  });
});

describe('VM readiness', () => {
  it('defaults to an address, takes a console text, refuses anything else', () => {
    expect(parseVmReadiness(undefined, 'svc/vm')).toEqual({ check: { kind: 'address' }, timeoutS: 600 });
    // Only a timeout: the default check (the agent's console text for a VM with `agent`).
    const agentCheck = { kind: 'console' as const, text: AGENT_STARTED, failure: AGENT_FAILED };
    expect(parseVmReadiness({ timeout: 900 }, 'svc/vm', agentCheck)).toEqual({ check: agentCheck, timeoutS: 900 });
    expect(parseVmReadiness({ address: true }, 'svc/vm', agentCheck)).toEqual({ check: { kind: 'address' }, timeoutS: 600 });
    expect(parseVmReadiness({ console: 'login:', timeout: 90 }, 'svc/vm')).toEqual({ check: { kind: 'console', text: 'login:' }, timeoutS: 90 });
    expect(() => parseVmReadiness({ console: 'a', address: true }, 'svc/vm')).toThrow(/give one/);
    expect(() => parseVmReadiness({ tcp: 22 }, 'svc/vm')).toThrow(/unknown key "tcp"/);
    expect(() => parseVmReadiness({ console: 'x', timeout: -1 }, 'svc/vm')).toThrow(/timeout must be a positive/);
  });

  it('waits for the console text, also when it arrives in pieces, and fails when the domain stops first', async () => {
    const dir = tempDir('kaidu-vm-boot-');
    const log = join(dir, 'vm.console.log');
    const base = { timeoutS: 600, signal: new AbortController().signal, consoleLog: log, what: 'svc/vm', address: async () => undefined, gone: async () => undefined };
    const waiting = waitBooted({ kind: 'console', text: 'kaidu-guest: ready' }, base);
    await writeFile(log, 'booting\nkaidu-guest: re');
    await appendFile(log, 'ady\n');
    await waiting;
    // The text never comes and the domain is gone: a failure naming why, not a wait to the end.
    await writeFile(log, 'booting\n');
    await expect(waitBooted({ kind: 'console', text: 'never' }, { ...base, gone: async () => 'the domain is shut off' })).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('stopped before it booted: the domain is shut off') });
    // The guest says it failed (the agent's install): a failure at once, with its line.
    await writeFile(log, 'booting\nkaidu-agent: fa');
    const failing = waitBooted({ kind: 'console', text: AGENT_STARTED, failure: AGENT_FAILED }, base);
    await appendFile(log, 'iled (see /var/log/cloud-init-output.log)\nmore\n');
    await expect(failing).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('the guest reported "kaidu-agent: failed (see /var/log/cloud-init-output.log)"') });
    await expect(waitBooted({ kind: 'address' }, { ...base, timeoutS: 0.2 })).rejects.toMatchObject({ code: 'E_DELEGATE_TIMEOUT', message: expect.stringContaining('took no address') });
  });
});

/**
 * A VM node's disk (an empty file: the user's, it stays) in a fresh folder, the delegate's data
 * folder beside it, and a runner on which virsh is recorded (no libvirt needed: no such domain
 * yet, then one that runs with an address; `more` adds answers) and the rest (genisoimage) runs for real.
 */
async function seededVm(more: (virsh: RecordingRunner) => RecordingRunner = (virsh) => virsh): Promise<{ data: string; disk: string; runner: CommandRunner }> {
  const dir = tempDir('kaidu-vm-seed-');
  const disk = join(dir, 'images', 'vm.qcow2');
  await mkdir(join(dir, 'images'));
  await writeFile(disk, '');
  const system = new SystemCommandRunner();
  const recorded = more(
    new RecordingRunner()
      .on('virsh dumpxml', { exitCode: 1, stderr: "error: failed to get domain 'kaidu-svc-vm'\n" })
      .on('virsh dominfo', { stdout: 'UUID: u\nState: running\n' }),
  ).on('virsh domifaddr', { stdout: ' vnet0  52:54:00:aa:bb:cc  ipv4  192.168.122.9/24\n' });
  return { data: join(dir, 'data'), disk, runner: { run: (spec) => (spec.argv[0] === 'virsh' ? recorded.run(spec) : system.run(spec)) } };
}

describe.skipIf(!isoTools && !CI)(`NoCloud seed image, for real${isoTools ? '' : ' (skipped: genisoimage/isoinfo are not installed)'}`, () => {
  it('is an ISO 9660 volume labelled cidata holding user-data and meta-data as written', async () => {
    expect(isoTools, 'CI=true: genisoimage must be installed (.ci/runtimes.sh up)').toBe(true);
    const dir = tempDir('kaidu-vm-seed-');
    const iso = join(dir, 'seed.iso');
    const userData = agentUserData(parseAgentSeed({ hub: 'http://10.0.0.1/fleet.git', package: 'kaidu.tgz', host: 'builder' }, 'svc/vm', 'x')!);
    await buildSeedImage({ runner: new SystemCommandRunner(), signal: new AbortController().signal }, join(dir, 'stage'), iso, userData, metaData('i-1', 'builder'));
    expect((await exec('isoinfo', ['-d', '-i', iso])).stdout).toMatch(/Volume id: cidata/);
    expect((await exec('isoinfo', ['-R', '-i', iso, '-x', '/user-data'])).stdout).toBe(userData);
    expect(parse((await exec('isoinfo', ['-R', '-i', iso, '-x', '/meta-data'])).stdout)).toEqual({ 'instance-id': 'i-1', 'local-hostname': 'builder' });
  });

  it('the delegate puts the seed beside the disk, attaches it read-only as vdb, and removes it on delete', async () => {
    const { data, disk, runner } = await seededVm();
    const node = desired('kaidu:VirtualMachine', { disk, agent: { hub: 'http://192.168.122.1/fleet.git', package: 'kaidu.tgz', host: 'builder' }, readiness: { address: true } }, { name: 'vm' });
    const d = new VirtualMachineDelegate({ dataDir: data, kvmPresent: () => false });
    await d.create(context(data, node, { runner }));
    const seed = `${disk}.cidata.iso`;
    expect((await exec('isoinfo', ['-R', '-i', seed, '-x', '/user-data'])).stdout).toContain('KAIDU_HOST=builder');
    // The user-data can hold the agent's webhook secret: only root reads the seed.
    expect((await stat(seed)).mode & 0o777).toBe(0o600);
    const xml = await readFile(join(data, 'run', 'libvirt', 'kaidu-svc-vm.xml'), 'utf8');
    expect(xml).toContain(`<source file='${seed}'/><target dev='vdb' bus='virtio'/><readonly/>`);
    expect(xml).toContain(`<log file='${join(data, 'run', 'libvirt', 'kaidu-svc-vm.console.log')}' append='off'/>`);
    // cloud_init and agent both write the user-data: one of them.
    await expect(d.create(context(data, desired('kaidu:VirtualMachine', { ...node.properties, cloud_init: 'ci.yaml' }, { name: 'vm' }), { runner }))).rejects.toThrow(/give cloud_init or agent, not both/);
    await d.delete(context(data, node, { runner }));
    await expect(stat(seed)).rejects.toMatchObject({ code: 'ENOENT' });
    // The disk was there before: it is the user's and stays.
    expect((await stat(disk)).isFile()).toBe(true);
  });

  it('with agent and no readiness, create waits for the console to say the agent started, and fails at once when it says the install failed', async () => {
    // An address is there at once: the old default (address) would call this guest running.
    const { data, disk, runner } = await seededVm((virsh) => virsh.on('virsh domstate', { stdout: 'running\n' }));
    const node = desired('kaidu:VirtualMachine', { disk, agent: { hub: 'http://192.168.122.1/fleet.git', package: 'kaidu.tgz' } }, { name: 'vm' });
    const d = new VirtualMachineDelegate({ dataDir: data, kvmPresent: () => false });
    const consoleLog = join(data, 'run', 'libvirt', 'kaidu-svc-vm.console.log');
    await mkdir(join(data, 'run', 'libvirt'), { recursive: true });
    await writeFile(consoleLog, `Cloud-init v. 22.4.2 running 'modules:final'\n${AGENT_FAILED} (see /var/log/cloud-init-output.log)\n`);
    await expect(d.create(context(data, node, { runner }))).rejects.toThrow(/the guest reported "kaidu-agent: failed/);
    await writeFile(consoleLog, `${AGENT_STARTED}\n`);
    expect((await d.create(context(data, node, { runner }))).status).toBe('running');
    expect(await d.inspect(context(data, node, { runner, previous: { type: 'kaidu:VirtualMachine', fingerprint: 'fp', status: 'running', properties: node.properties, attributes: {}, revision: 'r', appliedAt: 'x' } }))).toMatchObject({ status: 'running' });
  });
});
