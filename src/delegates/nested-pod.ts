/**
 * Running inside a Podman pod: in its workload container (`<pod>-host`, made with the pod when the
 * pod has an `image`), by container id like any container. The pod owns the network, so a Port
 * hosted on it is one of the pod's published ports (asked of any container in the pod). A pod
 * without an `image` has nowhere to run a command: a node hosted on it fails with a hint.
 */
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { podHostContainerName } from './container.js';
import { ContainerNest } from './nested-container.js';
import { registerNestedHost, type ExecOptions } from './nested-host.js';
import type { CommandResult, CommandRunner, DelegateContext, HostedOn } from './types.js';

export class PodNest extends ContainerNest {
  override readonly description: string;
  override readonly record: Record<string, PlainValue>;

  /**
   * `workload`: the pod's workload container id ('' when the pod has no `image`); `network`: a
   * container of the pod to ask about published ports (the workload container, else the infra one).
   */
  constructor(
    readonly podName: string,
    workload: string,
    network: string,
    private readonly noWorkload?: () => KaiduError,
  ) {
    super('podman', workload || network, workload ? podHostContainerName(podName) : '');
    this.description = `podman pod ${podName}`;
    // `workload: false`: the id is the infra container's, good for asking about ports, never for running anything.
    this.record = { kind: 'pod', runtime: 'podman', pod_name: podName, container_id: this.id, workload: workload !== '' };
  }

  override execArgv(argv: readonly string[], opts?: Omit<ExecOptions, 'input' | 'timeoutMs' | 'signal'>): string[] {
    if (this.noWorkload) throw this.noWorkload();
    return super.execArgv(argv, opts);
  }

  override exec(runner: CommandRunner, argv: readonly string[], opts?: ExecOptions): Promise<CommandResult> {
    if (this.noWorkload) return Promise.reject(this.noWorkload());
    return super.exec(runner, argv, opts);
  }

  override hostPath(runner: CommandRunner, path: string): Promise<string | undefined> {
    return this.noWorkload ? Promise.resolve(undefined) : super.hostPath(runner, path);
  }
}

function podNest(hostedOn: HostedOn, ctx: DelegateContext): PodNest {
  const a = hostedOn.attributes;
  const podName = typeof a.pod_name === 'string' && a.pod_name ? a.pod_name : undefined;
  if (!podName) throw new KaiduError('E_DELEGATE', `the pod ${hostedOn.node} has no pod name in its state: it was not created (yet)`);
  const hasImage = typeof hostedOn.properties.image === 'string' && hostedOn.properties.image !== '';
  const workload = typeof a.host_container_id === 'string' ? a.host_container_id : '';
  const infra = typeof a.infra_container_id === 'string' ? a.infra_container_id : '';
  if (hasImage && !workload) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: the pod ${hostedOn.node} has no workload container (${podHostContainerName(podName)}) in its state: it was not created (yet)`);
  if (!hasImage) {
    if (!infra) throw new KaiduError('E_DELEGATE', `the pod ${hostedOn.node} has no infra container id in its state: it was not created (yet)`);
    const hint = `give the pod an \`image\` (Kaidu then runs a ${podHostContainerName(podName)} container in it for the nodes hosted on the pod), or host the node on a kaidu:Container that joins the pod through its \`pod\` requirement`;
    // The hint is part of the message: apply's report shows only the message.
    return new PodNest(podName, '', infra, () => new KaiduError('E_DELEGATE', `${ctx.node.id} is hosted on the kaidu:Pod ${hostedOn.node}, which runs no container to host it: ${hint}`, { hint }));
  }
  return new PodNest(podName, workload, workload);
}

registerNestedHost('kaidu:Pod', 'pod', {
  fromHostedOn: (h, ctx) => podNest(h, ctx),
  fromRecord: (r) => {
    if (typeof r.container_id !== 'string' || !r.container_id || typeof r.pod_name !== 'string' || !r.pod_name) return undefined;
    if (r.workload === false) {
      const podName = r.pod_name;
      return new PodNest(podName, '', r.container_id, () => new KaiduError('E_DELEGATE', `podman pod ${podName} runs no container to run a command in (it has no \`image\`)`));
    }
    return new PodNest(r.pod_name, r.container_id, r.container_id);
  },
});
