/**
 * The nesting runners the built-in delegates know: importing this module registers them
 * (containers, pods, nspawn machines, distroboxes).
 */
import './nested-container.js';
import './nested-pod.js';
import './nested-nspawn.js';
import './nested-distrobox.js';

export { insideOf, recordedInside, isNestingHost, registerNestedHost, nestingTypes, type NestedHost, type NestedHostFactory, type ExecOptions, type NestState } from './nested-host.js';
export { ContainerNest } from './nested-container.js';
export { NspawnNest } from './nested-nspawn.js';
export { DistroboxNest } from './nested-distrobox.js';
