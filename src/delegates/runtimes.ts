/**
 * Workloads driven through their own tools: Podman/Docker containers and pods, distrobox,
 * systemd-nspawn machines, libvirt VMs. Every step is an argv run through the CommandRunner,
 * so tests pin the exact sequences and a sysadmin can repeat them by hand.
 */
import { ContainerDelegate, PodDelegate } from './container.js';
import { DistroboxDelegate } from './distrobox.js';
import { NspawnDelegate } from './nspawn.js';
import type { BuiltinOptions } from './registry.js';
import type { Delegate } from './types.js';
import { VirtualMachineDelegate } from './virtual-machine.js';

export { ContainerDelegate, PodDelegate } from './container.js';
export { DistroboxDelegate } from './distrobox.js';
export { NspawnDelegate } from './nspawn.js';
export { VirtualMachineDelegate, domainXml, chooseAccelerator } from './virtual-machine.js';
export { saysAbsent } from './not-found.js';
export { parseReadiness, waitReady, probeOnce, type ReadinessSpec } from './readiness-probe.js';
export { workloadName } from './runtime-common.js';

export function runtimeDelegates(opts: BuiltinOptions): Delegate[] {
  return [new ContainerDelegate(), new PodDelegate(), new DistroboxDelegate(), new NspawnDelegate(), new VirtualMachineDelegate(opts)];
}
