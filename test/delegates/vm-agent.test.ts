/**
 * A VirtualMachine hosts a real Kaidu agent, for real: a Debian guest (.ci/vm-agent-image.sh: real
 * cloud-init, systemd, this machine's Node.js) boots under libvirt/qemu with the NoCloud seed the
 * delegate writes for `agent`; the guest's cloud-init installs Kaidu with npm from a tarball that
 * carries its dependencies (served on 127.0.0.1, no registry), starts the agent's systemd unit, and
 * the agent fetches the hub (the harness's `git http-backend` on 127.0.0.1, which the guest reaches
 * as 10.0.2.2 through qemu's user-mode network), applies its host's nodes inside the guest and
 * pushes its state branch. A push reaches the guest's agent by webhook through a port qemu forwards
 * from 127.0.0.1. One boot for the whole file.
 *
 * Under software emulation on an idle 2-core machine the guest's agent is started about 3.5 min
 * after boot (the whole file about 5 min); on a machine loaded by other jobs it takes far longer,
 * hence the generous outer limits. With CI=true every step runs or fails; elsewhere it is skipped
 * with the reason when libvirt, root or the guest image is missing.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualMachineDelegate } from '../../src/delegates/index.js';
import { AGENT_STARTED } from '../../src/delegates/vm-seed.js';
import { deliverPushWebhook } from '../../src/demo/webhook-relay.js';
import type { NodeState, PlainValue } from '../../src/state/model.js';
import { freePort, ROOT, startHarness, type Harness } from '../support/agent-harness.js';
import { context, desired } from '../support/delegate-context.js';
import { removeLeftovers, removeTestVm, virsh } from '../support/test-vm.js';

const exec = promisify(execFile);
const CI = process.env.CI === 'true';

interface Guest { kernel: string; initrd: string; template: string }

function prerequisites(): { guest: Guest } | { missing: string } {
  let why = '';
  const ok = (argv: string[], timeout = 60_000) => {
    try {
      return execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout, maxBuffer: 64 << 20 }).toString();
    } catch (err) {
      // The command's last word on stderr, so a failed prerequisite says why.
      why = String((err as { stderr?: Buffer }).stderr ?? '').trim().split('\n').pop() ?? '';
      return undefined;
    }
  };
  if (process.getuid?.() !== 0) return { missing: 'not root (libvirt qemu:///system)' };
  if (ok(['virsh', '--connect', 'qemu:///system', 'list']) === undefined) return { missing: 'virsh/libvirtd does not answer (.ci/runtimes.sh up)' };
  for (const tool of ['qemu-system-x86_64', 'qemu-img', 'genisoimage', 'npm']) if (ok(['which', tool]) === undefined) return { missing: `${tool} is not installed` };
  // Cached by .ci/runtimes.sh up; built here when missing (a few minutes).
  const out = ok(['bash', join(ROOT, '.ci', 'vm-agent-image.sh')], 1_800_000);
  if (!out) return { missing: '.ci/vm-agent-image.sh could not build the agent guest' + (why ? `: ${why}` : '') };
  const v = Object.fromEntries(out.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
  return { guest: { kernel: v.KAIDU_VM_AGENT_KERNEL!, initrd: v.KAIDU_VM_AGENT_INITRD!, template: v.KAIDU_VM_AGENT_DISK_TEMPLATE! } };
}

const pre = prerequisites();
const missing = 'missing' in pre ? pre.missing : undefined;
const NAME = `kaidu-test-vmagent-${process.pid}`;
const DISK = `/var/lib/libvirt/images/${NAME}.qcow2`;
const work = join('/var/tmp', `${NAME}-work`);
const data = join(work, 'data');
const GUEST_HOST = 'vmguest';

/** The hub's service: a directory and an HTTP server on port 8080, both on the guest's host. */
function guestService(greeting: string, withMarker: boolean): string {
  return `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    ${GUEST_HOST}:
      type: kaidu:Host
    data:
      type: kaidu:Directory
      properties:
        path: /srv/kaidu-guest/data
      requirements:
        - host: ${GUEST_HOST}
${withMarker ? `    marker:
      type: kaidu:Directory
      properties:
        path: /srv/kaidu-guest/after-webhook
      requirements:
        - host: ${GUEST_HOST}
` : ''}    web-port:
      type: kaidu:Port
      properties:
        range: [8080, 8080]
      requirements:
        - host: ${GUEST_HOST}
    web:
      type: kaidu:Process
      properties:
        command: [node, -e, "require('http').createServer((q,s)=>s.end(process.env.GREETING+' from '+require('os').hostname())).listen(+process.env.PORT,'0.0.0.0')"]
        env:
          GREETING: ${JSON.stringify(greeting)}
          PORT: { $get_attribute: [web-port, port] }
      requirements:
        - host: ${GUEST_HOST}
        - dependency: web-port
`;
}

/**
 * Kaidu's package with its production dependencies inside (bundleDependencies), so `npm install
 * --global` in the guest needs no registry: `npm pack` of the worktree (its built dist), the
 * dependency tree `npm ls --omit=dev` lists copied into the unpacked package, packed again.
 */
async function bundledPackage(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const packed = JSON.parse((await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT })).stdout) as { filename: string }[];
  await exec('tar', ['-xzf', join(dir, packed[0]!.filename), '-C', dir]);
  const pkgDir = join(dir, 'package');
  // `npm ls` exits 1 for extraneous packages in a shared node_modules; its list is still complete.
  const listed = await exec('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const prefix = join(ROOT, 'node_modules') + '/';
  const paths = listed.stdout.split('\n').filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
  expect(paths.length, 'npm ls --omit=dev lists the dependencies').toBeGreaterThan(10);
  for (const rel of paths) await cp(join(prefix, rel), join(pkgDir, 'node_modules', rel), { recursive: true, dereference: true });
  const manifest = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; bundleDependencies?: string[]; scripts?: unknown };
  manifest.bundleDependencies = Object.keys(manifest.dependencies);
  delete manifest.scripts;
  await writeFile(join(pkgDir, 'package.json'), JSON.stringify(manifest, null, 2));
  await mkdir(join(dir, 'out'));
  const bundled = JSON.parse((await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', join(dir, 'out')], { cwd: pkgDir, maxBuffer: 64 * 1024 * 1024 })).stdout) as { filename: string; bundled: string[] }[];
  expect(bundled[0]!.bundled).toContain('fastify');
  return join(dir, 'out', bundled[0]!.filename);
}

/** Serves one file on 127.0.0.1 (the guest fetches it as 10.0.2.2) and counts the downloads. */
async function serveFile(file: string): Promise<{ server: Server; port: number; downloads: () => number }> {
  let downloads = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/kaidu.tgz') return res.writeHead(404).end();
    downloads++;
    res.writeHead(200, { 'content-type': 'application/gzip' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, downloads: () => downloads };
}



let h: Harness | undefined;
let files: Awaited<ReturnType<typeof serveFile>> | undefined;

afterAll(async () => {
  if (missing) return;
  await removeTestVm(NAME);
  await h?.close();
  await new Promise((r) => (files ? files.server.close(r) : r(undefined)));
});

describe.skipIf(missing !== undefined && !CI)(`a VirtualMachine hosts a Kaidu agent, for real${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let vm: NodeState;
  let agentPort = 0;
  let webPort = 0;
  const consoleLog = join(data, 'run', 'libvirt', `${NAME}.console.log`);
  const node = () => {
    if (!('guest' in pre)) throw new Error('no guest');
    const props: Record<string, PlainValue> = {
      domain_name: NAME,
      disk: DISK,
      disk_template: pre.guest.template,
      kernel: pre.guest.kernel,
      initrd: pre.guest.initrd,
      kernel_args: 'console=ttyS0',
      memory: 1024 ** 3,
      // qemu runs each vCPU in a thread of its own (multi-threaded TCG): npm and Node in the guest
      // get the second core when it is free.
      vcpus: 2,
      network: 'user',
      port_forwards: [`127.0.0.1:${agentPort}:7070`, `${webPort}:8080`],
      agent: { hub: h!.url.replace('//127.0.0.1:', '//10.0.2.2:'), package: `http://10.0.2.2:${files!.port}/kaidu.tgz`, host: GUEST_HOST, listen: '0.0.0.0:7070', webhook_secret_file: join(h!.dir, 'secret') },
      // Software emulation on a shared 2-core machine: boots take minutes. The check is the default
      // for `agent` (the console says the agent's service started).
      readiness: { timeout: 2400 },
    };
    return desired('kaidu:VirtualMachine', props, { service: 'lab', name: 'guest-vm', key: 'guest-vm', id: 'lab/guest-vm' });
  };

  it('cloud-init in the guest installs and starts the agent from the seed; the agent applies its host and pushes kaidu/state/<host> to the hub', { timeout: 45 * 60_000 }, async () => {
    expect(missing, 'CI=true: the VM agent test must run (sudo .ci/runtimes.sh up)').toBeUndefined();
    await removeLeftovers('kaidu-test-vmagent-');
    await rm(work, { recursive: true, force: true });
    await mkdir(data, { recursive: true });
    h = await startHarness({ 'kaidu.yaml': 'branch: main\n', 'services/guest.yaml': guestService('hello', false) });
    files = await serveFile(await bundledPackage(join(work, 'pkg')));
    agentPort = await freePort();
    webPort = await freePort();

    const d = new VirtualMachineDelegate({ dataDir: data });
    const n = node();
    const created = await d.create(context(data, n));
    expect(created.status).toBe('running');
    vm = { type: 'kaidu:VirtualMachine', fingerprint: 'fp', status: 'running', properties: n.properties, attributes: created.attributes, revision: 'r', appliedAt: 'x' };
    // Under qemu's emulation, with user-mode networking and the ports given on qemu's command line.
    const xml = (await virsh('dumpxml', NAME)).stdout;
    expect(xml).toMatch(/^<domain type='qemu'/);
    expect(xml).toContain(`hostfwd=tcp:127.0.0.1:${agentPort}-:7070`);
    const log = await readFile(consoleLog, 'utf8');
    // Real cloud-init read the NoCloud seed, installed the package (fetched once from us) and
    // started the unit.
    expect(log).toMatch(/Cloud-init v\. \S+ running 'modules:final'/);
    expect(log).toContain(AGENT_STARTED);
    expect(files.downloads()).toBeGreaterThanOrEqual(1);

    // The guest's agent fetched the hub, applied its host's nodes and pushed its state branch.
    const state = await h.until('the guest agent state branch', async () => {
      const s = (await h!.state())[GUEST_HOST]?.guest;
      return s?.nodes.web?.status === 'running' && s.nodes.data?.status === 'running' ? s : undefined;
    }, 30 * 60_000);
    expect((await exec('git', ['--git-dir', join(h.dir, 'hub', 'hub.git'), 'branch', '--list', `kaidu/state/${GUEST_HOST}`])).stdout).toContain(`kaidu/state/${GUEST_HOST}`);
    // What the guest observed: its own pid, its own port.
    expect(state.nodes['web-port']!.attributes.port).toBe(8080);
    expect(state.nodes.web!.attributes.pid).toEqual(expect.any(Number));
    // From outside, through the forwarded port: the process runs in the guest (its hostname).
    expect(await (await fetch(`http://127.0.0.1:${webPort}/`)).text()).toBe(`hello from ${GUEST_HOST}`);
    const status = (await (await fetch(`http://127.0.0.1:${agentPort}/status`)).json()) as { host: string };
    expect(status.host).toBe(GUEST_HOST);
  });

  it("a push to the hub reaches the guest's agent by webhook and is applied in the guest", { timeout: 20 * 60_000 }, async () => {
    expect(vm, 'the VM of the first test').toBeDefined();
    const before = (await h!.state())[GUEST_HOST]!.guest!.nodes.web!.revision;
    const rev = await h!.push({ 'services/guest.yaml': guestService('hello again', true) }, 'Change the greeting, add a directory');
    // Nothing polls an HTTP hub: only this delivery can start the guest's pass.
    // (The guest's own state pushes are in the hub's list too: deliver the push of this commit.)
    const push = h!.pushes.find((p) => p.after === rev && p.ref === 'refs/heads/main')!;
    expect(push, 'the hub saw the push').toBeDefined();
    const code = await deliverPushWebhook(`http://127.0.0.1:${agentPort}`, h!.secret, push);
    expect(code).toBeGreaterThanOrEqual(200);
    expect(code).toBeLessThan(300);
    const state = await h!.until('the change applied in the guest', async () => {
      const s = (await h!.state())[GUEST_HOST]?.guest;
      return s?.nodes.web?.revision === rev && s.nodes.marker?.status === 'running' ? s : undefined;
    }, 15 * 60_000);
    expect(state.nodes.web!.revision).not.toBe(before);
    expect(await (await fetch(`http://127.0.0.1:${webPort}/`)).text()).toBe(`hello again from ${GUEST_HOST}`);
    // A delivery with a wrong signature is refused by the guest's agent.
    const wrong = await deliverPushWebhook(`http://127.0.0.1:${agentPort}`, 'wrong-secret', push);
    expect(wrong).toBe(401);
  });

  it('delete destroys the domain and removes its disk and its seed (which held the webhook secret)', { timeout: 180_000 }, async () => {
    expect(vm, 'the VM of the first test').toBeDefined();
    const n = node();
    const d = new VirtualMachineDelegate({ dataDir: data });
    await d.delete(context(data, n, { previous: vm }));
    expect((await virsh('dominfo', NAME)).stderr).toContain(`failed to get domain '${NAME}'`);
    await expect(stat(DISK)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(`${DISK}.cidata.iso`)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
