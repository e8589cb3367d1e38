export * from './model.js';
export { canonicalJson, fingerprint } from './fingerprint.js';
export { serializeServiceState, stateFilePath } from './serialize.js';
export { parseServiceState, type ParsedState } from './parse.js';
export { loadState, type LoadedState } from './load.js';
export { writeFileAtomic } from './write-file.js';
export { readFleetState, type FleetState, type FleetStateInput, type HostStateOrigin, type StateBranchInput } from './fleet-state.js';
