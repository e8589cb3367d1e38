/**
 * What the grammar alone cannot tell: a definition inside a type may leave out its `type` (or a
 * requirement its `capability`) only when it refines one its parent types declare.
 */
import type { Diagnostic } from '../diagnostic.js';
import type { Family, Loader } from '../loader.js';
import type { TypeRecord } from '../document/records.js';
import { locationAt } from '../document/offsets.js';

type DefinitionKey = 'properties' | 'attributes' | 'capabilities' | 'requirements';

/** Per family: the keys holding definitions, the keyword each needs, and what a message calls it. */
const DEFINITIONS: Partial<Record<Family, Array<[key: DefinitionKey, needs: string, what: string]>>> = {
  node: [['properties', 'type', 'property definition'], ['attributes', 'type', 'attribute definition'], ['capabilities', 'type', 'capability definition'], ['requirements', 'capability', 'requirement definition']],
  data: [['properties', 'type', 'property definition']],
  capability: [['properties', 'type', 'property definition'], ['attributes', 'type', 'attribute definition']],
  relationship: [['properties', 'type', 'property definition'], ['attributes', 'type', 'attribute definition']],
  group: [['properties', 'type', 'property definition'], ['attributes', 'type', 'attribute definition']],
  policy: [['properties', 'type', 'property definition']],
  artifact: [['properties', 'type', 'property definition']],
};

/** A definition written as a map without the keyword it needs: [name, where its `name:` is]. */
function lacking(rec: TypeRecord, key: DefinitionKey): Array<[string, number]> {
  if (key === 'requirements') return rec.requirements.filter((r) => r.map && r.capability === undefined).map((r) => [r.name, r.pairAt]);
  if (key === 'capabilities') return rec.capabilities.filter((c) => c.map && c.type === undefined).map((c) => [c.name, c.pairAt]);
  return rec[key].filter((d) => d.map && d.type === undefined).map((d) => [d.name, d.at]);
}

export function checkInheritedDefinitions(loader: Loader, report: (d: Diagnostic) => void): void {
  for (const def of loader.types.values()) {
    if (def.unit.fromProfiles) continue;
    const keys = DEFINITIONS[def.family];
    if (!keys) continue;
    let ancestors: Array<TypeRecord | undefined> | undefined;
    for (const [key, needs, what] of keys) {
      for (const [name, at] of lacking(def.rec, key)) {
        ancestors ??= loader.chain(def.family, def.canonical).slice(1).map((t) => loader.def(def.family, t)?.rec);
        if (ancestors.some((a) => a !== undefined && (a[key] as Array<{ name: string }>).some((d) => d.name === name))) continue;
        const loc = locationAt(def.unit.src, at);
        report({ severity: 'error', code: 'E_TOSCA_MISSING_KEYWORD', message: `${what} "${name}" of ${def.family} type "${def.name}" has no "${needs}"`, file: loc.file, line: loc.line, column: loc.column, hint: `${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what} needs "${needs}" unless it refines one of a parent type` });
      }
    }
  }
}
