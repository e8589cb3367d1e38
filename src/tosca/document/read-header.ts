/**
 * What a file's grammar walk needs before it starts: `tosca_definitions_version`, which picks the
 * grammar, and the names under `functions:`, which a validation clause anywhere in the file may
 * call (the walk can meet the clause before the `functions:` key). Read once, into the FileRecord.
 */
import { entries, field, str, type YamlNode } from '../yaml-source.js';
import { offsetOf } from './offsets.js';
import type { FileHeader } from './records.js';

export function readHeader(root: YamlNode | null): FileHeader {
  const version = field(root, 'tosca_definitions_version');
  return {
    version: str(version) ?? '',
    // The value when there is one, else the document: what "missing" or "unsupported" points at.
    versionAt: offsetOf(version ?? root),
    functions: entries(field(root, 'functions')).map(([name]) => name.replace(/^\$/, '')),
  };
}
