/** The compiler's entry to the grammar: the problems of every user file's one walk, reported once per compile. */
import type { Diagnostic } from '../diagnostic.js';
import type { Loader, Unit } from '../loader.js';
import type { GrammarChecker } from './check.js';
import { checkInheritedDefinitions } from './inherited.js';

/**
 * Reports what the grammar walk of each user file found as the loader read it (not Kaidu's own
 * profiles, which tests check once), and returns the entry file's checker: node template bodies
 * are checked as the compiler reads them, reported from then on as they are found.
 */
export function checkGrammar(loader: Loader, entry: Unit, report: (d: Diagnostic) => void): GrammarChecker | undefined {
  for (const unit of loader.loadedUnits()) {
    if (unit.fromProfiles || !unit.src.root || !unit.grammar) continue;
    unit.grammarProblems.reportTo(report);
  }
  checkInheritedDefinitions(loader, report);
  return entry.grammar;
}
