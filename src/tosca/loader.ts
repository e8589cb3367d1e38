/**
 * Loads a template and everything it imports into one type registry. Each file gets a scope:
 * its own types, what it imports without a namespace, and namespaces (`ns:Name`, nested as
 * `a:b:Name`). The standard profiles are implicit: `tosca:` (2.0 simple profile, or for a 1.x
 * document the normative types of its own version, 1.0 … 1.3, with their dotted names) and `kaidu:`
 * everywhere.
 */
import { parse as parseYamlText } from 'yaml';
import type { Diagnostic, SourceLocation } from './diagnostic.js';
import type { SourceFile, SourceReader } from './model.js';
import { lazySource, parseYaml, type YamlSource } from './yaml-source.js';
import { FAMILY_KEYS, type Family } from './families.js';
import type { FileHeader, FileRecord, ImportRecord, Offset, TypeRecord } from './document/records.js';
import { readHeader } from './document/read-header.js';
import { locationAt } from './document/offsets.js';
import { readFile } from './document/read-file.js';
import type { PrebuiltFile } from './document/prebuilt-records.js';
import { GrammarChecker, grammarFor } from './grammar/index.js';
import { KaiduError } from '../errors/kaidu-error.js';

export { FAMILY_KEYS, type Family };

/** A reader's error for a file that is there but cannot be read (`E_IO`): the input's problem, reported as `E_TOSCA_READ`. */
export function unreadable(err: unknown): err is KaiduError {
  return err instanceof KaiduError && err.code === 'E_IO';
}
const FAMILIES = Object.keys(FAMILY_KEYS) as Family[];
/**
 * The normative types of each 1.x version (names in profiles/index.yaml): each version has its own,
 * as its specification defines them (1.0 `tosca.nodes.BlockStorage`, 1.2 `tosca.datatypes.json`, ...).
 * A 2.0 document that writes dotted names gets the 1.3 ones.
 */
const NORMATIVE_PROFILE: Record<string, string> = {
  tosca_simple_yaml_1_0: 'tosca-simple-1.0',
  tosca_simple_yaml_1_1: 'tosca-simple-1.1',
  tosca_simple_yaml_1_2: 'tosca-simple-1.2',
  tosca_simple_yaml_1_3: 'tosca-simple-1.3',
};
const LATEST_1X = 'tosca_simple_yaml_1_3';
/** 1.3 shorthand: `tosca:Compute` in a node context means `tosca.nodes.Compute`. */
const NORMATIVE_PREFIX: Record<Family, string> = {
  data: 'tosca.datatypes.',
  capability: 'tosca.capabilities.',
  interface: 'tosca.interfaces.',
  artifact: 'tosca.artifacts.',
  relationship: 'tosca.relationships.',
  node: 'tosca.nodes.',
  group: 'tosca.groups.',
  policy: 'tosca.policies.',
};

export interface Scope {
  types: Record<Family, Map<string, string>>;
  namespaces: Map<string, Scope>;
}

export interface Unit {
  src: YamlSource;
  /** 2 for tosca_2_0, 1 for tosca_simple_yaml_1_x. */
  version: 1 | 2;
  versionText: string;
  /** Folder of the file, for relative imports and artifacts. */
  dir: string;
  scope: Scope;
  /** Functions declared in `functions:` (kept as calls). */
  functions: Set<string>;
  fromProfiles: boolean;
  /** The file read through its version's grammar (empty when it could not be parsed). */
  record: FileRecord;
  /** Where the grammar walk's problems go: held until the compile takes them (`checkGrammar`); none for profiles. */
  grammarProblems: ProblemSink;
  /** The file's grammar, for node template bodies read later (user files of a known version only). */
  grammar?: GrammarChecker;
}

/** Problems held until someone reports them, then reported as they come. */
export class ProblemSink {
  private held: Diagnostic[] = [];
  private target?: (d: Diagnostic) => void;

  add(d: Diagnostic): void {
    if (this.target) this.target(d);
    else this.held.push(d);
  }

  /** Reports what is held, and from now on what comes. */
  reportTo(target: (d: Diagnostic) => void): void {
    for (const d of this.held) target(d);
    this.held = [];
    this.target = target;
  }
}

/** Where an import or a profile is named (what a problem with it points at). */
export interface NamedAt {
  src: YamlSource;
  at: Offset;
}

export interface TypeDef {
  family: Family;
  canonical: string;
  name: string;
  parentRef?: string;
  /** The definition as read through the grammar. */
  rec: TypeRecord;
  unit: Unit;
}

function emptyFileRecord(): FileRecord {
  return { version: '', versionAt: 0, imports: [], functions: [], repositories: [], types: Object.fromEntries(FAMILIES.map((f) => [f, []])) as unknown as FileRecord['types'] };
}

/** 1 for tosca_simple_yaml_1_0 … 1_3; 2 otherwise (an unsupported version is read as 2.0 after its error). */
function versionOf(text: string): 1 | 2 {
  return /^tosca_simple_yaml_1_[0-3]$/.test(text) ? 1 : 2;
}

function newUnit(src: YamlSource, header: FileHeader, ref: { reader: 'repo' | 'profiles'; path: string }): Unit {
  return { src, version: versionOf(header.version), versionText: header.version, dir: dirOf(ref.path), scope: emptyScope(), functions: new Set(), fromProfiles: ref.reader === 'profiles', record: emptyFileRecord(), grammarProblems: new ProblemSink() };
}

function emptyScope(): Scope {
  return { types: Object.fromEntries(FAMILIES.map((f) => [f, new Map()])) as Scope['types'], namespaces: new Map() };
}

export function joinPath(dir: string, rel: string): string {
  const parts = (rel.startsWith('/') ? rel.slice(1) : `${dir}/${rel}`).split('/');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else out.push('..');
    } else out.push(p);
  }
  return out.join('/');
}

const dirOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

interface ProfileEntry {
  file: string;
  namespace?: string;
}

/**
 * Parsed imports and profiles, shared across compiles (the incremental compile cache): one version
 * per file, replaced when its content id changes, so an agent following a branch for months holds
 * what the current revision uses and not every version it ever saw. A service's own file is not
 * kept here: its compiled result is (`ServiceMemo`), and a 10,000-node document parsed is large.
 */
export class ParseCache {
  readonly docs = new Map<string, { id: string; src: YamlSource }>();
  profileIndex?: Map<string, ProfileEntry>;
  /** The normative profiles' texts of every 1.x version, for hints on a name of another version. */
  normativeTexts?: Map<string, string>;
  /** Their type names, parsed when a hint first needs them (a compile without errors never does). */
  normativeNames?: Map<string, Record<Family, Set<string>>>;
}

export class Loader {
  readonly types = new Map<string, TypeDef>();
  readonly diagnostics: Diagnostic[] = [];
  private readonly units = new Map<string, Unit>();
  private readonly loading: string[] = [];
  private profileIndex = new Map<string, ProfileEntry>();
  private implicit: { tosca2?: Scope; kaidu?: Scope } = {};
  /** Normative scope per 1.x version, loaded when a document of that version is met. */
  private readonly normative = new Map<string, Scope | undefined>();
  /** The files of the normative profiles (`profiles/tosca-simple-1.0/normative.yaml`, ...). */
  private normativeFiles = new Set<string>();

  constructor(
    private readonly repo: SourceReader,
    private readonly profiles: SourceReader,
    private readonly cache: ParseCache,
  ) {}

  private diag(severity: Diagnostic['severity'], code: string, message: string, at: SourceLocation, hint?: string): void {
    this.diagnostics.push({ severity, code, message, file: at.file, line: at.line, column: at.column, ...(hint ? { hint } : {}) });
  }

  /** Every file loaded so far (the entry, its imports, the profiles). */
  loadedUnits(): IterableIterator<Unit> {
    return this.units.values();
  }

  /** Problems found in files' node templates as they were read (after loading). */
  lateDiagnostics(): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const u of this.units.values()) if (u.src.late) out.push(...u.src.late);
    return out;
  }

  async init(): Promise<void> {
    if (this.cache.profileIndex) {
      this.profileIndex = this.cache.profileIndex;
    } else {
      const index = await this.profiles.readFile('index.yaml');
      if (index) {
        const parsed = this.profiles.prebuilt?.data('index.yaml', index.text) ?? parseYamlText(index.text);
        const data = (parsed as { profiles?: Record<string, ProfileEntry> } | null)?.profiles ?? {};
        for (const [name, entry] of Object.entries(data)) this.profileIndex.set(name, entry);
      }
      this.cache.profileIndex = this.profileIndex;
    }
    for (const name of Object.values(NORMATIVE_PROFILE)) {
      const file = this.profileIndex.get(name)?.file;
      if (file) this.normativeFiles.add(`profiles/${file}`);
    }
  }

  /** The names of Kaidu's own profiles (its profiles' index.yaml). */
  profileNames(): string[] {
    return [...this.profileIndex.keys()];
  }

  /** The scope of a profile by name, loaded once. */
  async profile(name: string, from?: NamedAt, ns?: string): Promise<Scope | undefined> {
    const entry = this.profileIndex.get(name);
    let unit: Unit | undefined;
    if (entry) unit = await this.load({ reader: 'profiles', path: entry.file }, entry.namespace ? `${entry.namespace}:` : '');
    else unit = await this.repoProfile(name, ns ? `${ns}:` : '');
    if (!unit && from) this.diag('warning', 'W_TOSCA_UNKNOWN_PROFILE', `profile "${name}" is not available here: types from it cannot be checked, and using them is an error`, locationAt(from.src, from.at), `profiles here: ${[...this.profileIndex.keys()].join(', ')}`);
    return unit?.scope;
  }

  /**
   * A profile of the user's repository: named in `profiles/index.yaml` (the same format as Kaidu's
   * own index), or `profiles/<file>.yaml` / `profiles/<dir>/<file>.yaml` whose `profile:` is the name.
   */
  private async repoProfile(name: string, prefix: string): Promise<Unit | undefined> {
    const index = await this.repo.readFile('profiles/index.yaml');
    if (index) {
      let entry: ProfileEntry | undefined;
      try {
        const data = parseYamlText(index.text) as { profiles?: Record<string, ProfileEntry> } | null;
        const e = data?.profiles?.[name];
        if (e && typeof e.file === 'string') entry = e;
      } catch {
        // a broken index is skipped; the files are still searched below
      }
      if (entry) return this.load({ reader: 'repo', path: joinPath('profiles', entry.file) }, typeof entry.namespace === 'string' ? `${entry.namespace}:` : prefix);
    }
    const declares = new RegExp(`^profile:\\s*['"]?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]?\\s*(#.*)?$`, 'm');
    const candidates: string[] = [];
    for (const e of await this.repo.listDir('profiles')) {
      if (e.kind === 'file' && /\.ya?ml$/.test(e.name) && e.name !== 'index.yaml') candidates.push(`profiles/${e.name}`);
      else if (e.kind === 'dir') for (const f of await this.repo.listDir(`profiles/${e.name}`)) if (f.kind === 'file' && /\.ya?ml$/.test(f.name)) candidates.push(`profiles/${e.name}/${f.name}`);
    }
    for (const path of candidates) {
      const f = await this.repo.readFile(path);
      if (f && declares.test(f.text)) return this.load({ reader: 'repo', path }, prefix);
    }
    return undefined;
  }

  async implicitScopes(): Promise<void> {
    this.implicit.tosca2 = await this.profile('org.oasis-open.simple:2.0');
    this.implicit.kaidu = await this.profile('io.kaidu:1.0');
  }

  /**
   * Loads the normative types a document of this version sees, once. The entry is loaded first, so
   * its version's profile is loaded first: in a compile that mixes 1.x versions, a type name that
   * several versions define is one type, the entry version's (see `declare`).
   */
  private async ensureNormative(version: 1 | 2, versionText: string): Promise<void> {
    const v = version === 1 ? versionText : LATEST_1X;
    if (this.normative.has(v)) return;
    this.normative.set(v, undefined);
    const name = NORMATIVE_PROFILE[v];
    if (name) this.normative.set(v, await this.profile(name));
    if (version === 1) await this.readNormativeTexts();
  }

  /** Reads the normative profiles of every 1.x version (their types are not declared, only named in hints). */
  private async readNormativeTexts(): Promise<void> {
    if (this.cache.normativeTexts) return;
    const texts = new Map<string, string>();
    for (const [version, profile] of Object.entries(NORMATIVE_PROFILE)) {
      const file = this.profileIndex.get(profile)?.file;
      const text = file ? (await this.profiles.readFile(file))?.text : undefined;
      if (text) texts.set(version, text);
    }
    this.cache.normativeTexts = texts;
  }

  /** Which type names each 1.x version defines, per family: its profile's records (read through its grammar). */
  private normativeNames(): Map<string, Record<Family, Set<string>>> | undefined {
    if (!this.cache.normativeNames && this.cache.normativeTexts) {
      const names = new Map<string, Record<Family, Set<string>>>();
      for (const [version, text] of this.cache.normativeTexts) {
        const file = this.profileIndex.get(NORMATIVE_PROFILE[version]!)!.file;
        // The profile of the document's own version is loaded already; the others are read aside, not declared.
        const record = this.units.get(`profiles:${file}`)?.record ?? this.readAside({ reader: 'profiles', path: file }, text);
        names.set(version, Object.fromEntries(FAMILIES.map((f) => [f, new Set(record.types[f].map((t) => t.name))])) as Record<Family, Set<string>>);
      }
      this.cache.normativeNames = names;
    }
    return this.cache.normativeNames;
  }

  /** A file read into its record only: not kept as a unit, its types not declared, its problems dropped. */
  private readAside(ref: { reader: 'repo' | 'profiles'; path: string }, text: string): FileRecord {
    const src = parseYaml(ref.reader === 'profiles' ? `profiles/${ref.path}` : ref.path, text);
    const header = readHeader(src.root);
    const unit = newUnit(src, header, ref);
    if (src.root) this.readThroughGrammar(unit, header);
    return unit.record;
  }

  /**
   * For a type name unknown in a 1.x document that another 1.x version defines: what this version
   * calls it (1.0 `tosca.nodes.BlockStorage` is 1.1's `tosca.nodes.Storage.BlockStorage`), or which
   * versions have it.
   */
  versionHint(unit: Unit, family: Family, ref: string): string | undefined {
    const all = unit.version === 1 ? this.normativeNames() : undefined;
    if (!all) return undefined;
    const name = ref.startsWith('tosca:') ? ref.slice(6) : ref;
    const versions = [...all].filter(([v, f]) => v !== unit.versionText && (f[family].has(name) || f[family].has(`${NORMATIVE_PREFIX[family]}${name}`)));
    if (versions.length === 0) return undefined;
    const last = name.slice(name.lastIndexOf('.') + 1);
    const own = all.get(unit.versionText)?.[family];
    // A rename: this version's name for it is one the versions that have `ref` do not have.
    const here = own ? [...own].filter((n) => n.endsWith(`.${last}`) && versions.every(([, f]) => !f[family].has(n))) : [];
    const where = versions.map(([v]) => v.replace(/^tosca_simple_yaml_(\d)_(\d)$/, '$1.$2')).join(', ');
    if (here.length === 1) return `did you mean "${here[0]}"? ("${ref}" is the TOSCA ${where} name; this document is ${unit.versionText})`;
    return `"${ref}" is a normative type of TOSCA ${where}, not of ${unit.versionText}`;
  }

  /** The normative scope a unit resolves dotted names and the 1.x `tosca:` shorthand in. */
  private normativeFor(unit: Unit): Scope | undefined {
    return this.normative.get(unit.version === 1 ? unit.versionText : LATEST_1X);
  }

  /** Files read to see whether they are there, kept for `load` (which would read them again). */
  private readonly probed = new Map<string, SourceFile>();

  /** Whether there is a file at `path`: one that cannot be read exists too (loading it says why). */
  private async exists(reader: 'repo' | 'profiles', path: string): Promise<boolean> {
    const key = `${reader}:${path}`;
    if (this.units.has(key) || this.probed.has(key)) return true;
    try {
      const file = await (reader === 'repo' ? this.repo : this.profiles).readFile(path);
      if (file) this.probed.set(key, file);
      return file !== undefined;
    } catch (err) {
      if (unreadable(err)) return true;
      throw err;
    }
  }

  /**
   * Loads one file (once per prefix). `prefix` is prepended to the canonical names of the types it
   * declares: `tosca:` and `kaidu:` for the profiles, '' for the user's files.
   */
  async load(ref: { reader: 'repo' | 'profiles'; path: string }, prefix: string, from?: NamedAt, entry = false): Promise<Unit | undefined> {
    const key = `${ref.reader}:${ref.path}`;
    if (this.loading.includes(key)) {
      if (from) this.diag('error', 'E_TOSCA_IMPORT_CYCLE', `import cycle: ${[...this.loading.slice(this.loading.indexOf(key)), key].map((k) => k.replace(/^[a-z]+:/, '')).join(' → ')}`, locationAt(from.src, from.at));
      return undefined;
    }
    const existing = this.units.get(key);
    if (existing) return existing;
    const reader = ref.reader === 'repo' ? this.repo : this.profiles;
    let file = this.probed.get(key);
    this.probed.delete(key);
    try {
      file ??= await reader.readFile(ref.path);
    } catch (err) {
      // An import that exists but cannot be read is reported where it is imported; the entry
      // file's own read error goes up to the compile (reported at its line 1).
      if (!from || !unreadable(err)) throw err;
      this.diag('error', 'E_TOSCA_READ', err.message, locationAt(from.src, from.at));
      return undefined;
    }
    if (!file) {
      if (from) this.diag('error', 'E_TOSCA_IMPORT_NOT_FOUND', `import not found: ${ref.path}`, locationAt(from.src, from.at), 'import paths are relative to the importing file');
      return undefined;
    }
    const prebuilt = ref.reader === 'profiles' ? this.profiles.prebuilt?.lookup(ref.path, file.text) : undefined;
    if (prebuilt) {
      const unit = this.prebuiltUnit(`profiles/${ref.path}`, dirOf(ref.path), file.text, prebuilt);
      if (unit) return this.declareUnit(key, unit, ref.reader, prefix);
    }
    const cached = this.cache.docs.get(key);
    let src = cached && cached.id === file.id ? cached.src : undefined;
    if (!src) {
      src = parseYaml(ref.reader === 'profiles' ? `profiles/${ref.path}` : ref.path, file.text);
      // The id is asked for only if the file is met again: hashing a big file read once is wasted.
      if (!entry) this.cache.docs.set(key, { get id() { return file.id; }, src });
    }
    this.diagnostics.push(...src.diagnostics);
    const header = readHeader(src.root);
    const versionText = header.version;
    const version = versionOf(versionText);
    if (version === 2 && versionText !== 'tosca_2_0') {
      if (src.root) {
        this.diag('error', 'E_TOSCA_VERSION', versionText ? `unsupported tosca_definitions_version "${versionText}"` : 'missing tosca_definitions_version', locationAt(src, header.versionAt), 'use tosca_2_0 or tosca_simple_yaml_1_0 … 1_3');
      }
    }
    // Kaidu's profiles need no normative types (and the normative ones are what is being loaded).
    if (ref.reader === 'repo' && src.root) await this.ensureNormative(version, versionText);
    const unit = newUnit(src, header, ref);
    if (!src.root) {
      this.units.set(key, unit);
      return unit;
    }
    this.readThroughGrammar(unit, header);
    return this.declareUnit(key, unit, ref.reader, prefix);
  }

  /**
   * A profile file as read at build time: its record decoded, its YAML parsed only if something asks
   * for it. Undefined if the record cannot be decoded (the file is then read from its YAML).
   */
  private prebuiltUnit(path: string, dir: string, text: string, prebuilt: PrebuiltFile): Unit | undefined {
    const versionText = prebuilt.versionText;
    const version: 1 | 2 = /^tosca_simple_yaml_1_[0-3]$/.test(versionText) ? 1 : 2;
    const unit: Unit = { src: lazySource(path, text, prebuilt.lineStarts), version, versionText, dir, scope: emptyScope(), functions: new Set(), fromProfiles: true, record: emptyFileRecord(), grammarProblems: new ProblemSink() };
    try {
      unit.record = prebuilt.record(unit);
    } catch {
      return undefined;
    }
    return unit;
  }

  /** Registers a read unit, then loads its imports and declares its types. */
  private async declareUnit(key: string, unit: Unit, reader: 'repo' | 'profiles', prefix: string): Promise<Unit> {
    this.units.set(key, unit);
    this.loading.push(key);
    try {
      for (const name of unit.record.functions) unit.functions.add(name);
      for (const imp of unit.record.imports) await this.importOne(unit, reader, imp);
      this.declare(unit, prefix);
    } finally {
      this.loading.pop();
    }
    return unit;
  }

  /**
   * The one walk of a file: its version's grammar checks it while the readers take imports, type
   * definitions and the service template (problems held for the compile to report; a profile's,
   * or a file of a version Kaidu does not read, dropped: they are not the user's to fix here).
   */
  private readThroughGrammar(unit: Unit, header: FileHeader): void {
    const grammar = grammarFor(unit.versionText);
    const own = grammar && !unit.fromProfiles;
    const checker = new GrammarChecker(grammar ?? grammarFor('tosca_2_0')!, unit.src, own ? (code, message, at, hint) => unit.grammarProblems.add({ severity: 'error', code, message, file: at.file, line: at.line, column: at.column, ...(hint ? { hint } : {}) }) : () => {});
    unit.record = readFile(unit, checker, header);
    if (own) unit.grammar = checker;
  }

  private async importOne(unit: Unit, reader: 'repo' | 'profiles', imp: ImportRecord): Promise<void> {
    const { file, profile, namespace: ns } = imp;
    const from: NamedAt = { src: unit.src, at: imp.at };
    let scope: Scope | undefined;
    if (profile) scope = await this.profile(profile, from, ns);
    else if (file) {
      if (/^[a-z]+:\/\//i.test(file)) {
        this.diag('warning', 'W_TOSCA_REMOTE_IMPORT', `remote import ${file} is not fetched; its types are unknown`, locationAt(unit.src, imp.at));
        return;
      }
      let path = joinPath(unit.dir, file);
      // Not beside the importer: look in the profiles/ folders of the enclosing folders, the way
      // shared profiles are laid out next to the templates that use them.
      if (!(await this.exists(reader, path))) {
        const rest = file.replace(/^(\.\.\/|\.\/)+/, '');
        for (let up = 0, dir = unit.dir; up < 8; up++, dir = joinPath(dir, '..')) {
          const candidate = joinPath(dir, `profiles/${rest}`);
          if (await this.exists(reader, candidate)) {
            path = candidate;
            break;
          }
        }
      }
      // Types imported under a namespace are known by it everywhere (`acme:Server`): the first import names them.
      const child = await this.load({ reader, path }, ns && !unit.fromProfiles ? `${ns}:` : '', from);
      scope = child?.scope;
    } else {
      this.diag('error', 'E_TOSCA_IMPORT', 'an import needs a file (or url) or a profile', locationAt(unit.src, imp.at));
      return;
    }
    if (!scope) return;
    if (ns) unit.scope.namespaces.set(ns, scope);
    else {
      for (const f of FAMILIES) for (const [k, v] of scope.types[f]) if (!unit.scope.types[f].has(k)) unit.scope.types[f].set(k, v);
      for (const [k, v] of scope.namespaces) if (!unit.scope.namespaces.has(k)) unit.scope.namespaces.set(k, v);
    }
  }

  private declare(unit: Unit, prefix: string): void {
    const normative = unit.fromProfiles && this.normativeFiles.has(unit.src.path);
    for (const family of FAMILIES) {
      for (const rec of unit.record.types[family]) {
        const name = rec.name;
        let canonical = `${prefix}${name}`;
        const clash = this.types.get(`${family}|${canonical}`);
        // A normative name another 1.x version's profile already declared is that type (one
        // `tosca.nodes.Compute` per compile, so hosting and type checks agree across versions);
        // the names only this version has stay its own.
        if (normative && clash && clash.unit !== unit && clash.unit.fromProfiles && this.normativeFiles.has(clash.unit.src.path)) {
          unit.scope.types[family].set(name, clash.canonical);
          continue;
        }
        if (clash && clash.unit !== unit) canonical = `${canonical}@${unit.src.path}`;
        const def: TypeDef = { family, canonical, name, rec, unit, ...(rec.derivedFrom ? { parentRef: rec.derivedFrom } : {}) };
        if (clash && clash.unit === unit) {
          this.diag('error', 'E_TOSCA_DUPLICATE_TYPE', `type "${name}" is declared twice`, locationAt(unit.src, rec.at));
          continue;
        }
        this.types.set(`${family}|${canonical}`, def);
        this.byFamily[family].set(canonical, def);
        unit.scope.types[family].set(name, canonical);
      }
    }
  }

  /** The type names `unit` can write for a family (for "did you mean"): its scope, its namespaces, the implicit profiles. */
  typeNames(unit: Unit, family: Family): string[] {
    const out = new Set<string>();
    const add = (scope: Scope | undefined, prefix: string, depth: number) => {
      if (!scope) return;
      for (const k of scope.types[family].keys()) out.add(prefix + k);
      if (depth < 3) for (const [ns, s] of scope.namespaces) add(s, `${prefix}${ns}:`, depth + 1);
    };
    add(unit.scope, '', 0);
    add(this.implicit.kaidu, 'kaidu:', 3);
    const normative = this.normativeFor(unit);
    if (unit.version === 2) add(this.implicit.tosca2, 'tosca:', 3);
    else if (normative) {
      add(normative, '', 3);
      for (const k of normative.types[family].keys()) out.add(`tosca:${k.slice(k.lastIndexOf('.') + 1)}`);
    }
    return [...out];
  }

  /** A type reference as written in `unit` → canonical name, or undefined. */
  resolve(unit: Unit, family: Family, ref: string): string | undefined {
    let perUnit = this.resolved.get(unit);
    if (!perUnit) {
      perUnit = Object.fromEntries(FAMILIES.map((f) => [f, new Map()])) as Record<Family, Map<string, string | undefined>>;
      this.resolved.set(unit, perUnit);
    }
    const known = perUnit[family];
    if (known.has(ref)) return known.get(ref);
    const found = this.resolveUncached(unit, family, ref);
    known.set(ref, found);
    return found;
  }

  private resolveUncached(unit: Unit, family: Family, ref: string): string | undefined {
    const scopes: Scope[] = [unit.scope];
    const lookup = (scope: Scope, name: string): string | undefined => {
      const direct = scope.types[family].get(name);
      if (direct) return direct;
      const i = name.indexOf(':');
      if (i > 0) {
        const ns = scope.namespaces.get(name.slice(0, i));
        if (ns) return lookup(ns, name.slice(i + 1));
      }
      return undefined;
    };
    for (const s of scopes) {
      const found = lookup(s, ref);
      if (found) return found;
    }
    const i = ref.indexOf(':');
    const ns = i > 0 ? ref.slice(0, i) : undefined;
    const rest = i > 0 ? ref.slice(i + 1) : ref;
    if (ns === 'kaidu' && this.implicit.kaidu) return lookup(this.implicit.kaidu, rest);
    if (unit.version === 1) {
      const normative = this.normativeFor(unit);
      if (normative) {
        if (ns === 'tosca') {
          const hit = lookup(normative, `${NORMATIVE_PREFIX[family]}${rest}`) ?? lookup(normative, rest);
          if (hit) return hit;
          for (const [name, canonical] of normative.types[family]) if (name.endsWith(`.${rest}`)) return canonical;
          return undefined;
        }
        if (!ns) {
          const hit = lookup(normative, ref) ?? lookup(normative, `${NORMATIVE_PREFIX[family]}${ref}`);
          if (hit) return hit;
          if (unit.version === 1) for (const [name, canonical] of normative.types[family]) if (name.endsWith(`.${ref}`)) return canonical;
        }
      }
    }
    if (ns === 'tosca' && this.implicit.tosca2) return lookup(this.implicit.tosca2, rest);
    // 1.3 dotted names in a 2.0 document, as other tools write them.
    const latest = this.normative.get(LATEST_1X);
    if (!ns && ref.startsWith('tosca.') && latest) return lookup(latest, ref);
    return undefined;
  }

  /** Derivation chain, most-derived first; a cycle or unknown parent is reported once and cut. */
  private readonly cyclesReported = new Set<string>();
  /** Lookups by family, then name: no key strings built on the hot path (100,000 templates). */
  private readonly byFamily = Object.fromEntries(FAMILIES.map((f) => [f, new Map<string, TypeDef>()])) as Record<Family, Map<string, TypeDef>>;
  private readonly chainsByFamily = Object.fromEntries(FAMILIES.map((f) => [f, new Map<string, string[]>()])) as Record<Family, Map<string, string[]>>;
  private readonly resolved = new WeakMap<Unit, Record<Family, Map<string, string | undefined>>>();

  def(family: Family, canonical: string): TypeDef | undefined {
    return this.byFamily[family]?.get(canonical);
  }

  chain(family: Family, canonical: string): string[] {
    const cached = this.chainsByFamily[family].get(canonical);
    if (cached) return cached;
    const out = this.computeChain(family, canonical);
    this.chainsByFamily[family].set(canonical, out);
    return out;
  }

  private computeChain(family: Family, canonical: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    let cur: string | undefined = canonical;
    while (cur) {
      if (seen.has(cur)) {
        // One report per cycle, at the first of its types met, however many types lead into it.
        const cycle = out.slice(out.indexOf(cur));
        const key = `${family}|${[...cycle].sort().join('|')}`;
        if (!this.cyclesReported.has(key)) {
          this.cyclesReported.add(key);
          const first = this.def(family, cycle[0]!)!;
          // A warning, not an error: real-world templates (Puccini's tour/interfaces.yaml) carry one
          // and other tools accept them; the chain is cut where it loops.
          this.diag('warning', 'W_TOSCA_DERIVATION_CYCLE', `derivation cycle: ${[...cycle, cur].join(' → ')}`, locationAt(first.unit.src, first.rec.derivedFromAt ?? first.rec.valueAt), 'a type cannot derive from itself, directly or through its parents; the chain is cut here');
        }
        break;
      }
      seen.add(cur);
      out.push(cur);
      const def = this.def(family, cur);
      if (!def?.parentRef) break;
      if (PRIMITIVES.has(def.parentRef) || def.parentRef === 'scalar') {
        out.push(def.parentRef);
        break;
      }
      const parent = this.resolve(def.unit, def.family, def.parentRef);
      if (!parent) {
        this.diag('error', 'E_TOSCA_UNKNOWN_TYPE', `unknown parent type "${def.parentRef}" of ${def.name}`, locationAt(def.unit.src, def.rec.derivedFromAt ?? def.rec.valueAt), this.versionHint(def.unit, def.family, def.parentRef));
        break;
      }
      cur = parent;
    }
    return out;
  }

  report(severity: Diagnostic['severity'], code: string, message: string, at: SourceLocation, hint?: string): void {
    this.diag(severity, code, message, at, hint);
  }
}

export const PRIMITIVES = new Set([
  'string', 'integer', 'float', 'boolean', 'timestamp', 'version', 'range', 'list', 'map', 'nil', 'null', 'bytes', 'any',
  'scalar-unit.size', 'scalar-unit.time', 'scalar-unit.frequency', 'scalar-unit.bitrate',
]);
