/** Podman and Docker containers, and Podman pods: every step an argv through the CommandRunner. */
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { commandFailed, runChecked } from './command-runner.js';
import { saysAbsent } from './not-found.js';
import { parseReadiness, waitReady } from './readiness-probe.js';
import { containerPortFor, listensInNamespaceOf } from './published-port.js';
import { appliedProperties, list, map, STOP_TIMEOUT_S, str, workloadName } from './runtime-common.js';
import type { CommandRunner, CommandSpec, Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

/** When the image is fetched, as `podman run --pull` and Kubernetes' imagePullPolicy mean it. */
export type PullPolicy = 'always' | 'missing' | 'never';
const PULL_POLICIES: readonly PullPolicy[] = ['always', 'missing', 'never'];
/** Pulling a large image on a slow link takes a while; a hung registry must not take forever. */
const PULL_TIMEOUT_MS = 10 * 60_000;
/** Fields `inspect` reads, `|`-separated (an empty address must not shift the others). */
const INSPECT_FORMAT = '{{.Id}}|{{.State.Status}}|{{.NetworkSettings.IPAddress}}|{{index .Config.Labels "kaidu.node"}}';

type Cli = 'podman' | 'docker';

interface Seen {
  id: string;
  status: string;
  ip: string;
  /** The `kaidu.node` label: which node made this container ('' when not Kaidu). */
  node: string;
}

/** Runs a command whose "absent" answer is expected: undefined when absent, the result when it succeeded, an error otherwise. */
async function runUnlessAbsent(runner: CommandRunner, spec: CommandSpec, absent: (stderr: string) => boolean): Promise<{ stdout: string } | undefined> {
  const r = await runner.run(spec);
  if (r.exitCode === 0) return r;
  if (absent(r.stderr)) return undefined;
  throw commandFailed(r, spec);
}

/** Applies a pull policy: `always` pulls, `missing` pulls only an absent image, `never` requires it present. */
export async function ensureImage(ctx: DelegateContext, cli: Cli, image: string, policy: PullPolicy): Promise<void> {
  const pull = () => runChecked(ctx.runner, { argv: [cli, 'pull', image], timeoutMs: PULL_TIMEOUT_MS, signal: ctx.signal });
  if (policy === 'always') return void (await pull());
  if (await imagePresent(ctx.runner, cli, image)) return;
  if (policy === 'never') throw new KaiduError('E_DELEGATE', `${ctx.node.id}: image ${image} is not present in ${cli}'s local store and pull_policy is never`, { hint: `pull it first (${cli} pull ${image}) or use pull_policy missing` });
  await pull();
}

async function imagePresent(runner: CommandRunner, cli: Cli, image: string): Promise<boolean> {
  if (cli === 'podman') {
    // `podman image exists`: 0 present, 1 absent, anything else a failure.
    const spec = { argv: ['podman', 'image', 'exists', image] };
    const r = await runner.run(spec);
    if (r.exitCode === 0 || r.exitCode === 1) return r.exitCode === 0;
    throw commandFailed(r, spec);
  }
  const r = await runUnlessAbsent(runner, { argv: ['docker', 'image', 'inspect', '--format', '{{.Id}}', image] }, (e) => saysAbsent('docker', 'image', image, e));
  return r !== undefined;
}

/** The pull policy in `props`, checked. */
export function pullPolicyOf(id: string, props: Record<string, PlainValue>): PullPolicy {
  const v = props.pull_policy ?? 'missing';
  if (!PULL_POLICIES.includes(v as PullPolicy)) throw new KaiduError('E_DELEGATE', `${id}: pull_policy "${String(v)}" is not one of ${PULL_POLICIES.join(', ')}`);
  return v as PullPolicy;
}

export class ContainerDelegate implements Delegate {
  readonly name = 'container';
  readonly handles = ['kaidu:Container'];

  private cli(ctx: DelegateContext, props = ctx.node.properties): Cli {
    return props.runtime === 'docker' ? 'docker' : 'podman';
  }

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.container_name) ?? workloadName(ctx);
  }

  private stopTimeout(props: Record<string, PlainValue>): number {
    const t = props.stop_timeout;
    return typeof t === 'number' && t >= 0 ? Math.ceil(t) : STOP_TIMEOUT_S;
  }

  pullPolicy(ctx: DelegateContext): PullPolicy {
    return pullPolicyOf(ctx.node.id, ctx.node.properties);
  }

  /** The `run` argv: what a sysadmin would type. */
  runArgv(ctx: DelegateContext): string[] {
    const p = ctx.node.properties;
    const image = str(p.image);
    if (!image) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "image" is required`);
    const argv = [this.cli(ctx), 'run', '-d', '--name', this.nameOf(ctx), '--label', `kaidu.node=${ctx.node.id}`, '--label', `kaidu.fingerprint=${ctx.node.fingerprint}`];
    if (str(p.pod)) {
      if (argv[0] === 'docker') throw new KaiduError('E_DELEGATE', `${ctx.node.id}: a container in a pod needs runtime podman (docker has no pods)`);
      argv.push('--pod', str(p.pod)!);
    }
    // An init as PID 1 forwards the stop signal: a plain `sleep` as PID 1 ignores SIGTERM and
    // every stop would wait out the whole grace period.
    if (p.init === true) argv.push('--init');
    if (typeof p.stop_timeout === 'number') argv.push('--stop-timeout', String(this.stopTimeout(p)));
    for (const [k, v] of Object.entries({ ...ctx.node.env, ...map(p.env) }).sort()) argv.push('-e', `${k}=${v}`);
    if (!str(p.pod)) for (const port of list(p.ports)) argv.push('-p', port);
    // The kaidu:Port nodes hosted on this container (see topology/published-ports.ts).
    if (list(p.publish).length && str(p.pod)) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: a container in a pod cannot publish the Ports hosted on it (${list(p.publish).join(', ')}): the pod publishes ports`, { hint: "publish them with the pod's `ports`" });
    for (const port of list(p.publish)) argv.push('-p', port);
    for (const vol of list(p.volumes)) argv.push('-v', vol);
    // The image was made present (or found absent) by the pull policy already; run never pulls.
    argv.push('--pull', 'never', image, ...list(p.command));
    return argv;
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    return this.replace(ctx, undefined);
  }

  /**
   * Containers are replaced, not mutated: the new image is made present first (the old container
   * keeps serving meanwhile), then the old container is stopped and removed (it may have had
   * another name or runtime), then the new one runs.
   */
  async update(ctx: DelegateContext): Promise<DelegateResult> {
    return this.replace(ctx, ctx.previous?.properties);
  }

  private async replace(ctx: DelegateContext, before: Record<string, PlainValue> | undefined): Promise<DelegateResult> {
    const cli = this.cli(ctx);
    const name = this.nameOf(ctx);
    const argv = this.runArgv(ctx);
    const readiness = parseReadiness(ctx.node.properties.readiness, ctx.node.id);
    await this.ensureImage(ctx);
    if (before && (this.cli(ctx, before) !== cli || this.nameOf(ctx, before) !== name)) await this.remove(ctx, this.cli(ctx, before), this.nameOf(ctx, before), before);
    // The old container, or a leftover of this node with our name (an interrupted create), is
    // replaced, never duplicated; a container with our name that Kaidu did not make for this node
    // is not ours to remove.
    const existing = await this.look(ctx.runner, cli, name);
    if (existing) {
      if (existing.node !== ctx.node.id) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: a container named ${name} already exists and was not made by Kaidu for this node${existing.node ? ` (it belongs to ${existing.node})` : ''}; remove it or set container_name`);
      await this.remove(ctx, cli, name, before ?? ctx.node.properties);
    }
    const run = await runChecked(ctx.runner, { argv, signal: ctx.signal, timeoutMs: PULL_TIMEOUT_MS });
    if (readiness) {
      const what = `${ctx.node.id} (${cli} container ${name})`;
      await waitReady(readiness, { runner: ctx.runner, signal: ctx.signal, wrapCommand: (cmd) => [cli, 'exec', name, ...cmd] }, what, async () => {
        const now = await this.look(ctx.runner, cli, name);
        return !now ? 'the container is gone' : now.status !== 'running' ? `the container is ${now.status}` : undefined;
      });
      if (readiness.tcp) await this.waitListeningInside(ctx, cli, name, readiness.tcp.port, readiness.timeoutS * 1000, what);
    }
    const seen = await this.inspect({ ...ctx, previous: undefined });
    if (!seen.exists) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: ${cli} run succeeded but container ${name} is gone`);
    return { attributes: { container_id: run.stdout.trim().split('\n').pop() ?? '', ...seen.attributes }, status: seen.status };
  }

  /**
   * A tcp probe on a published port also needs the port listening inside (see published-port.ts):
   * docker's proxy accepts on it with nothing behind. Read from the container's network namespace
   * through its main process, so it needs nothing in the image. A host port it cannot map is left
   * to the probe alone.
   */
  private async waitListeningInside(ctx: DelegateContext, cli: Cli, name: string, hostPort: number, timeoutMs: number, what: string): Promise<void> {
    const inner = containerPortFor(hostPort, [...list(ctx.node.properties.ports), ...list(ctx.node.properties.publish)]);
    if (inner === undefined) return;
    const r = await runChecked(ctx.runner, { argv: [cli, 'container', 'inspect', '--format', '{{.State.Pid}}', name], signal: ctx.signal });
    const pid = Number(r.stdout.trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new KaiduError('E_DELEGATE', `${what}: the container has no running process (pid ${r.stdout.trim()})`);
    const start = Date.now();
    while (!(await listensInNamespaceOf(pid, inner).catch((err: unknown) => {
      throw new KaiduError('E_DELEGATE', `${what}: cannot read the container's sockets (${(err as Error).message}); its process ${pid} is gone?`);
    }))) {
      if (Date.now() - start > timeoutMs || ctx.signal?.aborted) throw new KaiduError('E_DELEGATE_TIMEOUT', `${what} was not ready within ${Math.round(timeoutMs / 1000)}s: port ${hostPort} accepts, but nothing listens on ${inner} inside the container`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Applies the pull policy to this container's image. */
  private async ensureImage(ctx: DelegateContext): Promise<void> {
    await ensureImage(ctx, this.cli(ctx), str(ctx.node.properties.image)!, this.pullPolicy(ctx));
  }

  /** The container by name, or undefined when the runtime says there is none. Any other failure throws. */
  private async look(runner: CommandRunner, cli: Cli, name: string): Promise<Seen | undefined> {
    const r = await runUnlessAbsent(runner, { argv: [cli, 'container', 'inspect', '--format', INSPECT_FORMAT, name] }, (e) => saysAbsent(cli, 'container', name, e));
    if (!r) return undefined;
    const [id = '', status = 'unknown', ip = '', node = ''] = r.stdout.trim().split('|');
    return { id, status, ip, node: node === '<no value>' ? '' : node };
  }

  /** Stops (with the grace period) and removes; a container already gone is fine, any other failure is not. */
  private async remove(ctx: DelegateContext, cli: Cli, name: string, props: Record<string, PlainValue>): Promise<void> {
    const stop = { argv: [cli, 'stop', '-t', String(this.stopTimeout(props)), name], timeoutMs: (this.stopTimeout(props) + 60) * 1000 };
    if (!(await runUnlessAbsent(ctx.runner, stop, (e) => saysAbsent(cli, 'container', name, e)))) return;
    await runUnlessAbsent(ctx.runner, { argv: [cli, 'rm', '-f', name] }, (e) => saysAbsent(cli, 'container', name, e));
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const props = appliedProperties(ctx);
    await this.remove(ctx, this.cli(ctx, props), this.nameOf(ctx, props), props);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const props = appliedProperties(ctx);
    const seen = await this.look(ctx.runner, this.cli(ctx, props), this.nameOf(ctx, props));
    if (!seen) return { exists: false, status: 'stopped', attributes: {} };
    // Rootless podman and pod members have no address of their own: they are reached through the
    // host's published ports.
    const address = seen.ip || str(ctx.node.properties.address) || '127.0.0.1';
    return { exists: true, status: seen.status === 'running' ? 'running' : 'stopped', attributes: { container_id: seen.id, status: seen.status, address } };
  }
}

/** The container Kaidu runs in a pod with an `image`, to host the nodes hosted on the pod: `<pod>-host`. */
export function podHostContainerName(podName: string): string {
  return `${podName}-host`;
}

/**
 * Podman pods. With an `image`, the pod also gets a workload container (`<pod>-host`, `--init`,
 * `sleep infinity`) that the nodes hosted on the pod (kaidu:Process, ConfigFile, Directory) run
 * and are written in; it is made with the pod and removed with it. The Ports hosted on the pod
 * are published by the pod (it owns the network namespace).
 */
export class PodDelegate implements Delegate {
  readonly name = 'pod';
  readonly handles = ['kaidu:Pod'];

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.pod_name) ?? workloadName(ctx);
  }

  private cli(props: Record<string, PlainValue>): string {
    return props.runtime === 'docker' ? 'docker' : 'podman';
  }

  /** The argv of the workload container, or undefined for a pod without `image`. */
  hostContainerArgv(ctx: DelegateContext): string[] | undefined {
    const image = str(ctx.node.properties.image);
    if (!image) return undefined;
    const name = this.nameOf(ctx);
    // `--init`: `sleep` as PID 1 ignores SIGTERM, and every stop of the pod would wait out its grace period.
    return ['podman', 'run', '-d', '--name', podHostContainerName(name), '--pod', name, '--label', `kaidu.node=${ctx.node.id}`, '--label', 'kaidu.role=pod-host', '--init', '--pull', 'never', image, 'sleep', 'infinity'];
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const p = ctx.node.properties;
    if (this.cli(p) === 'docker') throw new KaiduError('E_DELEGATE', `${ctx.node.id}: pods need podman (docker has no pods)`);
    const name = this.nameOf(ctx);
    const hostArgv = this.hostContainerArgv(ctx);
    // The image first: a missing one fails before anything is made.
    if (hostArgv) await ensureImage(ctx, 'podman', str(p.image)!, pullPolicyOf(ctx.node.id, p));
    // A leftover of this node (an interrupted create) is replaced, never duplicated; a pod with
    // the name that Kaidu did not make for this node is not ours to remove.
    const label = await runUnlessAbsent(ctx.runner, { argv: ['podman', 'pod', 'inspect', '--format', '{{index .Labels "kaidu.node"}}', name] }, (e) => saysAbsent('podman', 'pod', name, e));
    if (label) {
      const owner = label.stdout.trim().replace(/^<no value>$/, '');
      if (owner !== ctx.node.id) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: a pod named ${name} already exists and was not made by Kaidu for this node${owner ? ` (it belongs to ${owner})` : ''}; remove it or set pod_name`);
      await this.remove(ctx.runner, name);
    }
    const argv = ['podman', 'pod', 'create', '--name', name, '--label', `kaidu.node=${ctx.node.id}`];
    // Its own ports, then those of the kaidu:Port nodes hosted on it (topology/published-ports.ts).
    for (const port of [...list(p.ports), ...list(p.publish)]) argv.push('-p', port);
    const r = await runChecked(ctx.runner, { argv });
    try {
      await runChecked(ctx.runner, { argv: ['podman', 'pod', 'start', name] });
      if (hostArgv) await runChecked(ctx.runner, { argv: hostArgv, signal: ctx.signal });
    } catch (err) {
      // Half a pod hosts nothing: removed, so the retry starts clean (and nothing stays behind).
      await this.remove(ctx.runner, name).catch(() => undefined);
      throw err;
    }
    const seen = await this.inspect({ ...ctx, previous: undefined });
    if (!seen.exists) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: podman pod create succeeded but pod ${name} is gone`);
    return { attributes: { ...seen.attributes, pod_id: r.stdout.trim() }, status: seen.status };
  }

  /** A pod cannot change its published ports in place: it is recreated (its member containers go with it). */
  async update(ctx: DelegateContext): Promise<DelegateResult> {
    await this.delete(ctx);
    return this.create(ctx);
  }

  /** Removes the pod with every container in it (the workload container included). */
  private async remove(runner: CommandRunner, name: string): Promise<void> {
    await runUnlessAbsent(runner, { argv: ['podman', 'pod', 'rm', '-f', '-t', String(STOP_TIMEOUT_S), name], timeoutMs: (STOP_TIMEOUT_S + 60) * 1000 }, (e) => saysAbsent('podman', 'pod', name, e));
  }

  async delete(ctx: DelegateContext): Promise<void> {
    await this.remove(ctx.runner, this.nameOf(ctx, appliedProperties(ctx)));
  }

  /** Running when the pod runs and, with an `image`, its workload container does too (the nodes inside need it). */
  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const props = appliedProperties(ctx);
    const name = this.nameOf(ctx, props);
    const r = await runUnlessAbsent(ctx.runner, { argv: ['podman', 'pod', 'inspect', '--format', '{{.Id}}|{{.State}}|{{.InfraContainerID}}', name] }, (e) => saysAbsent('podman', 'pod', name, e));
    if (!r) return { exists: false, status: 'stopped', attributes: {} };
    const [id = '', state = '', infra = ''] = r.stdout.trim().split('|');
    const attributes: Record<string, PlainValue> = { pod_id: id, pod_name: name, state, infra_container_id: infra };
    let running = /^running$/i.test(state);
    if (str(props.image)) {
      const hostName = podHostContainerName(name);
      const c = await runUnlessAbsent(ctx.runner, { argv: ['podman', 'container', 'inspect', '--format', '{{.Id}}|{{.State.Status}}|{{.Pod}}', hostName] }, (e) => saysAbsent('podman', 'container', hostName, e));
      const [cid = '', cstate = '', cpod = ''] = c ? c.stdout.trim().split('|') : [];
      // A container of that name in another pod is not this pod's workload container.
      const ours = c !== undefined && cpod === id;
      attributes.host_container = hostName;
      attributes.host_container_id = ours ? cid : null;
      attributes.host_container_status = ours ? cstate : 'absent';
      running &&= ours && cstate === 'running';
    }
    return { exists: true, status: running ? 'running' : 'stopped', attributes };
  }
}
