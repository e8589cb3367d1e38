export * from './model.js';
export { plan, desiredFingerprint, filesOf, needsOf, type PlanOptions } from './plan.js';
export { resolveNode, nodeStateOf, stateKey, envPrefix, type ResolvedNode } from './resolve.js';
export { diffProperties } from './diff.js';
export { renderText, useColor, summaryLine, type TextOptions } from './render-text.js';
export { renderJson, parsePlanJson } from './render-json.js';
export { renderMarkdown, type MarkdownOptions } from './render-markdown.js';
