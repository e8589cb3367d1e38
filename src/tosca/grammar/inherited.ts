/**
 * What the grammar alone cannot tell: a definition inside a type may leave out its `type` (or a
 * requirement its `capability`) only when it refines one its parent types declare.
 */
import type { Diagnostic } from '../diagnostic.js';
import type { Family, Loader } from '../loader.js';
import { entries, field, isMap, locate, seqItems, str, type YamlNode } from '../yaml-source.js';

/** Per family: the keys holding definitions, the keyword each needs, and what a message calls it. */
const DEFINITIONS: Partial<Record<Family, Array<[key: string, needs: string, what: string]>>> = {
  node: [['properties', 'type', 'property definition'], ['attributes', 'type', 'attribute definition'], ['capabilities', 'type', 'capability definition'], ['requirements', 'capability', 'requirement definition']],
  data: [['properties', 'type', 'property definition']],
  capability: [['properties', 'type', 'property definition'], ['attributes', 'type', 'attribute definition']],
  relationship: [['properties', 'type', 'property definition'], ['attributes', 'type', 'attribute definition']],
  group: [['properties', 'type', 'property definition'], ['attributes', 'type', 'attribute definition']],
  policy: [['properties', 'type', 'property definition']],
  artifact: [['properties', 'type', 'property definition']],
};

function definitions(node: YamlNode | null | undefined, key: string): Array<[string, YamlNode | null, unknown]> {
  const v = field(node, key);
  return key === 'requirements' ? seqItems(v).flatMap((i) => entries(i)) : entries(v);
}

export function checkInheritedDefinitions(loader: Loader, report: (d: Diagnostic) => void): void {
  for (const def of loader.types.values()) {
    if (def.unit.fromProfiles) continue;
    const keys = DEFINITIONS[def.family];
    if (!keys) continue;
    let ancestors: Array<YamlNode | null> | undefined;
    for (const [key, needs, what] of keys) {
      for (const [name, node, pair] of definitions(def.node, key)) {
        if (!isMap(node) || str(field(node, needs)) !== undefined) continue;
        ancestors ??= loader.chain(def.family, def.canonical).slice(1).map((t) => loader.def(def.family, t)?.node ?? null);
        if (ancestors.some((a) => definitions(a, key).some(([n]) => n === name))) continue;
        const at = locate(def.unit.src, pair as YamlNode);
        report({ severity: 'error', code: 'E_TOSCA_MISSING_KEYWORD', message: `${what} "${name}" of ${def.family} type "${def.name}" has no "${needs}"`, file: at.file, line: at.line, column: at.column, hint: `${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what} needs "${needs}" unless it refines one of a parent type` });
      }
    }
  }
}
