import { gitFs as fs } from './git-fs.js';
import git from 'isomorphic-git';
import type { ClonedObjects } from './first-clone.js';
import { commitTreeOf, parseTreeObject } from './tree-object.js';

export interface TreeEntry {
  mode: string;
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

/** Tree objects by oid: immutable, so a cache never goes stale. */
export class TreeCache {
  private readonly trees = new Map<string, TreeEntry[]>();
  /** Each cached tree's entries by name, made on its first lookup (a first pass looks up every file). */
  private readonly byName = new WeakMap<TreeEntry[], Map<string, TreeEntry>>();
  /**
   * `received`: the objects a first clone just received (first-clone.ts), read before
   * isomorphic-git is asked; a tree is taken out once parsed (it lives on in this cache).
   */
  constructor(
    private readonly gitdir: string,
    private readonly cache: object,
    private readonly received?: ClonedObjects,
  ) {}

  async entries(oid: string): Promise<TreeEntry[]> {
    let e = this.trees.get(oid);
    if (!e) {
      const raw = this.received?.get(oid);
      if (raw?.type === 'tree') {
        this.received!.delete(oid);
        e = parseTreeObject(raw.data);
      }
      e ??= (await git.readTree({ fs, gitdir: this.gitdir, oid, cache: this.cache })).tree as TreeEntry[];
      if (this.trees.size > 50_000) this.trees.clear();
      this.trees.set(oid, e);
    }
    return e;
  }

  async rootTree(commit: string): Promise<string> {
    const raw = this.received?.get(commit);
    const tree = raw?.type === 'commit' ? commitTreeOf(raw.data) : undefined;
    if (tree) return tree;
    const { commit: c } = await git.readCommit({ fs, gitdir: this.gitdir, oid: commit, cache: this.cache });
    return c.tree;
  }

  private async entry(tree: string, name: string): Promise<TreeEntry | undefined> {
    const list = this.trees.get(tree) ?? (await this.entries(tree));
    let names = this.byName.get(list);
    if (!names) {
      names = new Map();
      // The first of two entries with one name wins, as a scan would find it (a hostile tree may hold both).
      for (const e of list) if (!names.has(e.path)) names.set(e.path, e);
      this.byName.set(list, names);
    }
    return names.get(name);
  }

  /** The entry at `path` under tree `root`, or undefined. */
  async lookup(root: string, path: string): Promise<TreeEntry | undefined> {
    const parts = path.split('/').filter((p) => p && p !== '.');
    if (parts.length === 0) return { mode: '040000', path: '', oid: root, type: 'tree' };
    let tree = root;
    for (let i = 0; i < parts.length; i++) {
      const entry = await this.entry(tree, parts[i]!);
      if (!entry) return undefined;
      if (i === parts.length - 1) return entry;
      if (entry.type !== 'tree') return undefined;
      tree = entry.oid;
    }
    return undefined;
  }

  /**
   * The part of `path` that is a symbolic link (git mode 120000) under tree `root`: the path
   * itself or a folder on the way to it. Kaidu never follows one (it could point anywhere on the
   * host that reads it).
   */
  async linkOnPath(root: string, path: string): Promise<string | undefined> {
    const parts = path.split('/').filter((p) => p && p !== '.');
    let tree = root;
    for (let i = 0; i < parts.length; i++) {
      const entry = await this.entry(tree, parts[i]!);
      if (!entry) return undefined;
      if (entry.mode === '120000') return parts.slice(0, i + 1).join('/');
      if (entry.type !== 'tree') return undefined;
      tree = entry.oid;
    }
    return undefined;
  }

  /** Paths that differ between two trees; identical subtrees (same oid) are skipped whole. */
  async diff(a: string | undefined, b: string | undefined, prefix = ''): Promise<string[]> {
    if (a === b) return [];
    const ea = a ? await this.entries(a) : [];
    const eb = b ? await this.entries(b) : [];
    const ma = new Map(ea.map((e) => [e.path, e]));
    const mb = new Map(eb.map((e) => [e.path, e]));
    const out: string[] = [];
    for (const name of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
      const x = ma.get(name);
      const y = mb.get(name);
      if (x?.oid === y?.oid && x?.type === y?.type) continue;
      const p = prefix ? `${prefix}/${name}` : name;
      const xt = x?.type === 'tree' ? x.oid : undefined;
      const yt = y?.type === 'tree' ? y.oid : undefined;
      if (xt || yt) out.push(...(await this.diff(xt, yt, p)));
      if ((x && x.type !== 'tree') || (y && y.type !== 'tree')) out.push(p);
    }
    return out;
  }

  /**
   * A new tree: `root` with `changes` applied (content to write, null to delete). Only the
   * changed blobs and subtrees are written; their oids are appended to `written` (what a push
   * must send). An emptied folder disappears, as in git. An existing file keeps its mode.
   */
  async update(root: string | undefined, changes: Map<string, string | null>, written: string[] = []): Promise<string | undefined> {
    const entries = new Map((root ? await this.entries(root) : []).map((e) => [e.path, e]));
    let changed = false;
    const nested = new Map<string, Map<string, string | null>>();
    for (const [path, content] of changes) {
      const slash = path.indexOf('/');
      if (slash < 0) {
        const old = entries.get(path);
        if (content === null) {
          if (old) {
            entries.delete(path);
            changed = true;
          }
          continue;
        }
        const blob = Buffer.from(content, 'utf8');
        const oid = await git.hashBlob({ object: blob }).then((r) => r.oid);
        if (old?.type === 'blob' && old.oid === oid) continue;
        await git.writeBlob({ fs, gitdir: this.gitdir, blob });
        written.push(oid);
        entries.set(path, { mode: old?.type === 'blob' ? old.mode : '100644', path, oid, type: 'blob' });
        changed = true;
      } else {
        const dir = path.slice(0, slash);
        (nested.get(dir) ?? nested.set(dir, new Map()).get(dir)!).set(path.slice(slash + 1), content);
      }
    }
    for (const [dir, sub] of nested) {
      const existing = entries.get(dir);
      const before = existing?.type === 'tree' ? existing.oid : undefined;
      const subtree = await this.update(before, sub, written);
      if (subtree === before) continue; // nothing changed below (or nothing there to delete)
      if (subtree) entries.set(dir, { mode: '040000', path: dir, oid: subtree, type: 'tree' });
      else entries.delete(dir);
      changed = true;
    }
    if (!changed) return root;
    if (entries.size === 0) return undefined;
    const oid = await git.writeTree({ fs, gitdir: this.gitdir, tree: [...entries.values()] });
    written.push(oid);
    return oid;
  }
}
