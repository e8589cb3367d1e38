/** One grammar per TOSCA version, chosen by `tosca_definitions_version`. */
import type { Grammar } from './shape.js';
import { tosca10, tosca11, tosca12, tosca13 } from './tosca-1.js';
import { tosca20 } from './tosca-2.js';

/**
 * Each built when a file of its version is first read: a run reads one or two versions, and
 * building all five tables was ~7 ms of every validate's start (issue 16).
 */
const BUILDERS: ReadonlyMap<string, () => Grammar> = new Map([
  ['tosca_simple_yaml_1_0', tosca10],
  ['tosca_simple_yaml_1_1', tosca11],
  ['tosca_simple_yaml_1_2', tosca12],
  ['tosca_simple_yaml_1_3', tosca13],
  ['tosca_2_0', tosca20],
]);
const built = new Map<string, Grammar>();

/** The grammar of a version as written in a file, or undefined for one Kaidu does not read. */
export function grammarFor(versionText: string): Grammar | undefined {
  let grammar = built.get(versionText);
  if (grammar === undefined) {
    const build = BUILDERS.get(versionText);
    if (build === undefined) return undefined;
    built.set(versionText, (grammar = build()));
  }
  return grammar;
}

export { GrammarChecker, type GrammarProblem } from './check.js';
export type { Entity, Grammar, Keyword, Shape } from './shape.js';
