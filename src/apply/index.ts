export { applyPlan, type ApplyOptions, type ApplyResult, type ActionResult, type ActionOutcome, type DelegateSelector } from './apply.js';
export { progressPrinter, type ProgressEvent } from './progress.js';
