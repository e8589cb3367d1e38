/** One grammar per TOSCA version, chosen by `tosca_definitions_version`. */
import type { Grammar } from './shape.js';
import { TOSCA_1_0, TOSCA_1_1, TOSCA_1_2, TOSCA_1_3 } from './tosca-1.js';
import { TOSCA_2_0 } from './tosca-2.js';

const GRAMMARS: ReadonlyMap<string, Grammar> = new Map([TOSCA_1_0, TOSCA_1_1, TOSCA_1_2, TOSCA_1_3, TOSCA_2_0].map((g) => [g.version, g]));

/** The grammar of a version as written in a file, or undefined for one Kaidu does not read. */
export function grammarFor(versionText: string): Grammar | undefined {
  return GRAMMARS.get(versionText);
}

export { GrammarChecker, type GrammarProblem } from './check.js';
export type { Entity, Grammar, Keyword, Shape } from './shape.js';
