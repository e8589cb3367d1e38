/**
 * A file read as the loader reads it (header, grammar walk, records), with the entities whose keys
 * a reader took from the walk: what the record tests check about "read as the walk enters it".
 */
import { parseYaml } from '../../src/tosca/yaml-source.js';
import type { Unit } from '../../src/tosca/loader.js';
import { GrammarChecker, grammarFor } from '../../src/tosca/grammar/index.js';
import type { EntityReader } from '../../src/tosca/grammar/check.js';
import { readFile } from '../../src/tosca/document/read-file.js';
import { readHeader } from '../../src/tosca/document/read-header.js';

/** `counted` picks which entities taken from the walk are listed in `taken`. */
export function walkRecords(text: string, counted: (entity: string) => boolean) {
  const src = parseYaml('t.yaml', text);
  const header = readHeader(src.root);
  const unit = { src, version: header.version === 'tosca_2_0' ? 2 : 1, versionText: header.version, dir: '', functions: new Set<string>(), fromProfiles: false } as unknown as Unit;
  const problems: string[] = [];
  const checker = new GrammarChecker(grammarFor(header.version)!, src, (code, message, at) => problems.push(`${code} ${at.line}:${at.column} ${message}`));
  const taken: string[] = [];
  // Sees what readFile hands the walk as its entity reader.
  let inner: EntityReader | undefined;
  Object.defineProperty(checker, 'reader', {
    get: () => inner && ((entity: string, node) => {
      const visit = inner!(entity, node);
      if (visit && counted(entity)) taken.push(entity);
      return visit;
    }) as EntityReader,
    set: (r: EntityReader | undefined) => (inner = r),
  });
  return { src, file: readFile(unit, checker, header), problems, taken };
}
