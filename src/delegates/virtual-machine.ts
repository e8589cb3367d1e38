/** libvirt virtual machines from a generated domain XML, through virsh. */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { KaiduError } from '../errors/kaidu-error.js';
import { writeFileAtomic } from '../state/write-file.js';
import { commandFailed, runChecked } from './command-runner.js';
import { dataPath } from './data-dir.js';
import { hostPath } from './host-path.js';
import { saysAbsent } from './not-found.js';
import { appliedProperties, str, workloadName } from './runtime-common.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';
import type { PlainValue } from '../state/model.js';
import { parseVmReadiness, readConsole, waitBooted, type BootCheck } from './vm-boot.js';
import { ensureDisk, ownsDisk, removeDisk } from './vm-disk.js';
import { chooseAccelerator, domainXml } from './vm-domain-xml.js';
import { AGENT_FAILED, AGENT_STARTED, agentUserData, buildSeedImage, metaData, parseAgentSeed, readWebhookSecret } from './vm-seed.js';

export { chooseAccelerator, domainXml, type Accelerator } from './vm-domain-xml.js';

/**
 * When no `readiness` is given: a guest that hosts an agent is up once its console says the agent's
 * service started (or fails at once when it says the install failed); any other guest once it has
 * an address.
 */
function bootCheckOf(p: Record<string, PlainValue>, nodeId: string, name: string): BootCheck {
  return parseAgentSeed(p.agent, nodeId, name) ? { kind: 'console', text: AGENT_STARTED, failure: AGENT_FAILED } : { kind: 'address' };
}

/**
 * libvirt VMs: the domain XML is generated from the node (written to
 * `<dataDir>/run/libvirt/<name>.xml` so it can be read and replayed by hand), then
 * `virsh define` + `virsh start`, and the node is running once the guest is seen booted
 * (vm-boot.ts). A missing disk is made with qemu-img (from `disk_template` or `disk_size`), and
 * such a disk is the VM's own: delete removes it. A disk that was there already is the user's and
 * is kept. `cloud_init` (a repository file) or `agent` (Kaidu's own user-data) becomes a NoCloud
 * seed image beside the disk.
 */
export class VirtualMachineDelegate implements Delegate {
  readonly name = 'virtual-machine';
  readonly handles = ['kaidu:VirtualMachine'];

  /** `kvmPresent` is asked at each create (default: whether /dev/kvm exists). */
  constructor(private readonly opts: { dataDir: string; kvmPresent?: () => boolean }) {}

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    const name = str(props.domain_name) ?? workloadName(ctx);
    // It becomes a virsh argument and a file name: no option, no path, no markup.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/.test(name)) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: domain_name ${JSON.stringify(name)} is not a libvirt domain name Kaidu uses (letters, digits, _ . + -, not first; at most 64)`);
    return name;
  }

  /** The agent's files for a domain (definition, console log, seed staging). */
  private runFile(ctx: DelegateContext, name: string, suffix: string): string {
    return dataPath(ctx.dataDir, 'run', 'libvirt', `${name}${suffix}`);
  }

  private static seedImageOf(disk: string): string {
    return `${disk}.cidata.iso`;
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const name = this.nameOf(ctx);
    const p = ctx.node.properties;
    const agent = parseAgentSeed(p.agent, ctx.node.id, name);
    const readiness = parseVmReadiness(p.readiness, ctx.node.id, bootCheckOf(p, ctx.node.id, name));
    const userDataPath = str(p.cloud_init);
    if (agent && userDataPath) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: give cloud_init or agent, not both (agent writes the user-data itself)`);
    await mkdir(dataPath(ctx.dataDir, 'run', 'libvirt'), { recursive: true });
    const owner = await this.ownerOf(ctx, name);
    if (owner !== undefined && owner !== ctx.node.id) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: a libvirt domain named ${name} exists already (it belongs to ${owner || 'no Kaidu node'}); not touching it`);
    const disk = await hostPath(ctx, p.disk, 'disk');
    await ensureDisk(ctx, disk, p);
    let seedImage: string | undefined;
    if (agent || userDataPath) {
      let userData: Buffer | string;
      if (agent) userData = agentUserData(agent, await readWebhookSecret(agent, ctx.node.id));
      else {
        const file = await ctx.readRepoFile(userDataPath!);
        if (!file) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: cloud_init file ${userDataPath} is not in the repository`);
        userData = file;
      }
      seedImage = VirtualMachineDelegate.seedImageOf(disk);
      // The instance id changes with the node's configuration, so cloud-init runs again after a change.
      await buildSeedImage(ctx, this.runFile(ctx, name, '.seed'), seedImage, userData, metaData(`${name}-${ctx.node.fingerprint.replace(/^sha256:/, '').slice(0, 16)}`, agent?.host ?? name));
    }
    const consoleLog = this.runFile(ctx, name, '.console.log');
    const file = this.runFile(ctx, name, '.xml');
    const accelerator = chooseAccelerator(p, ctx.node.id, (this.opts.kvmPresent ?? (() => existsSync('/dev/kvm')))());
    await writeFileAtomic(file, domainXml(name, p, ctx.node.id, { accelerator, consoleLog, ...(seedImage ? { seedImage } : {}) }));
    // Our own domain left from a create that failed: virsh refuses to define a name that exists
    // (under another uuid), and a fresh definition gets a fresh MAC, so no old DHCP lease can pass
    // for this boot's address.
    if (owner !== undefined) await this.stopAndUndefine(ctx, name);
    await runChecked(ctx.runner, { argv: ['virsh', 'define', file], signal: ctx.signal });
    await runChecked(ctx.runner, { argv: ['virsh', 'start', name], signal: ctx.signal });
    await waitBooted(readiness.check, {
      timeoutS: readiness.timeoutS,
      signal: ctx.signal,
      consoleLog,
      what: `${ctx.node.id} (domain ${name})`,
      address: async () => (await this.address(ctx, name)) ?? undefined,
      gone: async () => {
        const state = await this.stateOf(ctx, name);
        return state === 'running' ? undefined : `the domain is ${state ?? 'gone'} (console: ${consoleLog})`;
      },
    });
    const seen = await this.inspect({ ...ctx, previous: undefined });
    return { attributes: { ...seen.attributes }, status: seen.status };
  }

  /**
   * Nothing about a domain changes in place: the old one is stopped and undefined and the new
   * definition started. The disk stays (the guest's data), unless it is the VM's own and moved.
   */
  async update(ctx: DelegateContext): Promise<DelegateResult> {
    const old = appliedProperties(ctx);
    const oldName = this.nameOf(ctx, old);
    await this.stopAndUndefine(ctx, oldName);
    const oldDisk = str(old.disk);
    if (oldDisk && oldDisk !== str(ctx.node.properties.disk)) {
      if (ownsDisk(old)) await removeDisk(oldDisk);
      await rm(VirtualMachineDelegate.seedImageOf(oldDisk), { force: true });
    }
    return this.create(ctx);
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const p = appliedProperties(ctx);
    const name = this.nameOf(ctx, p);
    await this.stopAndUndefine(ctx, name);
    const disk = str(p.disk);
    if (disk) {
      if (ownsDisk(p)) await removeDisk(disk);
      await rm(VirtualMachineDelegate.seedImageOf(disk), { force: true });
    }
    for (const suffix of ['.xml', '.console.log', '.seed']) await rm(this.runFile(ctx, name, suffix), { recursive: true, force: true });
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const p = appliedProperties(ctx);
    const name = this.nameOf(ctx, p);
    const infoSpec = { argv: ['virsh', 'dominfo', name] };
    const info = await ctx.runner.run(infoSpec);
    if (info.exitCode !== 0) {
      if (saysAbsent('virsh', 'domain', name, info.stderr)) return { exists: false, status: 'stopped', attributes: {} };
      throw commandFailed(info, infoSpec);
    }
    const state = /State:\s+(.+)/.exec(info.stdout)?.[1]?.trim() ?? 'unknown';
    const uuid = /UUID:\s+(\S+)/.exec(info.stdout)?.[1] ?? '';
    const address = state === 'running' ? await this.address(ctx, name) : null;
    const attributes = { state, uuid, address };
    if (state !== 'running') return { exists: true, status: 'stopped', attributes };
    // Running means booted, as create waits for it: a guest still booting is `creating`.
    const readiness = parseVmReadiness(p.readiness, ctx.node.id, bootCheckOf(p, ctx.node.id, name));
    const booted = readiness.check.kind === 'address' ? address !== null : (await readConsole(this.runFile(ctx, name, '.console.log'))).text.includes(readiness.check.text);
    return { exists: true, status: booted ? 'running' : 'creating', attributes };
  }

  /** The guest's IPv4 address from its DHCP lease, or null when it has none (yet). */
  private async address(ctx: DelegateContext, name: string): Promise<string | null> {
    const spec = { argv: ['virsh', 'domifaddr', name], signal: ctx.signal };
    const r = await ctx.runner.run(spec);
    if (r.exitCode !== 0) {
      // It stopped between two questions: no address, and the caller sees the state.
      if (saysAbsent('virsh', 'domifaddr-not-running', name, r.stderr) || saysAbsent('virsh', 'domain', name, r.stderr)) return null;
      throw commandFailed(r, spec);
    }
    return /(\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout)?.[1] ?? null;
  }

  /** The domain's state (`running`, `shut off` ...), or undefined when there is no such domain. */
  private async stateOf(ctx: DelegateContext, name: string): Promise<string | undefined> {
    const spec = { argv: ['virsh', 'domstate', name] };
    const r = await ctx.runner.run(spec);
    if (r.exitCode !== 0) {
      if (saysAbsent('virsh', 'domain', name, r.stderr)) return undefined;
      throw commandFailed(r, spec);
    }
    return r.stdout.trim();
  }

  /**
   * Which node a domain of this name belongs to (from the metadata Kaidu writes; '' for a domain
   * Kaidu did not define), or undefined when there is none.
   */
  private async ownerOf(ctx: DelegateContext, name: string): Promise<string | undefined> {
    const spec = { argv: ['virsh', 'dumpxml', name] };
    const r = await ctx.runner.run(spec);
    if (r.exitCode !== 0) {
      if (saysAbsent('virsh', 'domain', name, r.stderr)) return undefined;
      throw commandFailed(r, spec);
    }
    const m = /<kaidu:node[^>]*>([^<]*)<\/kaidu:node>/.exec(r.stdout);
    return m ? m[1]!.replace(/&lt;|&gt;|&apos;|&quot;|&amp;/g, (e) => ({ '&lt;': '<', '&gt;': '>', '&apos;': "'", '&quot;': '"', '&amp;': '&' })[e]!) : '';
  }

  /** Power off at once (the disk is the guest's to keep consistent; a VM here is rebuilt, not saved). */
  private async destroy(ctx: DelegateContext, name: string): Promise<void> {
    const spec = { argv: ['virsh', 'destroy', name] };
    const r = await ctx.runner.run(spec);
    if (r.exitCode !== 0 && !saysAbsent('virsh', 'domain', name, r.stderr) && !saysAbsent('virsh', 'domain-not-running', name, r.stderr)) throw commandFailed(r, spec);
  }

  private async stopAndUndefine(ctx: DelegateContext, name: string): Promise<void> {
    await this.destroy(ctx, name);
    const spec = { argv: ['virsh', 'undefine', name] };
    const r = await ctx.runner.run(spec);
    if (r.exitCode !== 0 && !saysAbsent('virsh', 'domain', name, r.stderr)) throw commandFailed(r, spec);
  }
}

