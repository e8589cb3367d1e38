export * from './model.js';
export { buildTopology, dependencyLevels, edgesFrom, findCycles, instancesOf } from './build.js';
export { edgeKind, isA, HOST_TYPE } from './kinds.js';
export { rankHosts, rendezvousScore, spreadInstances } from './rendezvous.js';
export { renderGraph, renderMermaid, renderDot, renderJson, renderText, type GraphFormat } from './render.js';
export { mermaidId, mermaidLabel } from './mermaid.js';
