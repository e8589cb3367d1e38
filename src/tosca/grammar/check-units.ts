/** The compiler's entry to the grammar: every user file checked once per compile. */
import type { Diagnostic } from '../diagnostic.js';
import type { Loader, Unit } from '../loader.js';
import { GrammarChecker } from './check.js';
import { grammarFor } from './index.js';
import { checkInheritedDefinitions } from './inherited.js';

/**
 * Checks each file of the user's (not Kaidu's own profiles, which tests check once) through the
 * grammar of its version, and returns the entry file's checker: node template bodies are checked
 * as the compiler reads them.
 */
export function checkGrammar(loader: Loader, entry: Unit, report: (d: Diagnostic) => void): GrammarChecker | undefined {
  let entryChecker: GrammarChecker | undefined;
  for (const unit of loader.loadedUnits()) {
    if (unit.fromProfiles || !unit.src.root) continue;
    const grammar = grammarFor(unit.versionText);
    if (!grammar) continue; // the loader reported the version
    const checker = new GrammarChecker(grammar, unit.src, (code, message, at, hint) => report({ severity: 'error', code, message, file: at.file, line: at.line, column: at.column, ...(hint ? { hint } : {}) }));
    checker.checkFile(unit.src.root);
    if (unit === entry) entryChecker = checker;
  }
  checkInheritedDefinitions(loader, report);
  return entryChecker;
}
