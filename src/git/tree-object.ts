/**
 * Trees and commits of a first clone, read from the objects just received (first-clone.ts)
 * instead of through isomorphic-git, which would find each in the pack, inflate it again and
 * parse it. Only plain objects are read here: anything unusual (a mode or name isomorphic-git
 * would refuse or normalise, a name outside printable ASCII, a malformed entry) answers
 * undefined, and the caller asks isomorphic-git, whose answer or error stays the reference.
 */
import type { TreeEntry } from './tree.js';

const TYPE_OF_MODE: Record<string, TreeEntry['type']> = { '40000': 'tree', '100644': 'blob', '100755': 'blob', '120000': 'blob', '160000': 'commit' };

/** A name isomorphic-git keeps as it is and sorts with `<`: printable ASCII, no separator, no reserved name. */
function plainName(name: string): boolean {
  if (name === '' || name === '.' || name === '..' || !/^[\x20-\x7e]+$/.test(name) || /[/\\:]/.test(name)) return false;
  const folded = name.toLowerCase().replace(/[. ]+$/, '');
  return folded !== '.git' && !/^\.?git~[1-9]$/.test(folded);
}

/** A tree object's entries as isomorphic-git's readTree gives them (sorted by name); undefined when not plain. */
export function parseTreeObject(data: Buffer): TreeEntry[] | undefined {
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const nul = space < 0 ? -1 : data.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > data.length) return undefined;
    const rawMode = data.toString('latin1', at, space);
    const type = TYPE_OF_MODE[rawMode];
    const path = data.toString('latin1', space + 1, nul);
    if (!type || !plainName(path)) return undefined;
    entries.push({ mode: rawMode === '40000' ? '040000' : rawMode, path, oid: data.toString('hex', nul + 1, nul + 21), type });
    at = nul + 21;
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The tree a commit object names, when the object starts as git writes it; undefined otherwise. */
export function commitTreeOf(data: Buffer): string | undefined {
  if (data.length < 46 || data.toString('latin1', 0, 5) !== 'tree ' || data[45] !== 0x0a) return undefined;
  const tree = data.toString('latin1', 5, 45);
  return /^[0-9a-f]{40}$/.test(tree) ? tree : undefined;
}
