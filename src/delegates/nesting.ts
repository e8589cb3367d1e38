/**
 * The nesting runners the built-in delegates know: importing this module registers them (the
 * container and pod runners here; rt-machines' Nspawn and Distrobox runners register the same way).
 */
import './nested-container.js';
import './nested-pod.js';

export { insideOf, recordedInside, isNestingHost, registerNestedHost, nestingTypes, type NestedHost, type NestedHostFactory, type ExecOptions, type NestState } from './nested-host.js';
export { ContainerNest } from './nested-container.js';
