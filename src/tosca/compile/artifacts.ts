/** A node's artifacts: its type's artifact definitions, with the template's own over them. */
import type { CompiledArtifact } from '../model.js';
import { joinPath } from '../loader.js';
import type { ArtifactRecord } from '../document/records.js';
import type { CompileContext } from './context.js';
import { copyValue, sharedPerType } from './shared.js';

export class ArtifactCompiler {
  /** Artifacts of a node type when the template assigns none: shared frozen, as interfaces are. */
  private readonly defaults = new Map<string, Record<string, CompiledArtifact>>();

  constructor(private readonly ctx: CompileContext) {}

  compile(types: string[], assigned: ArtifactRecord[] | undefined): Record<string, CompiledArtifact> {
    if (assigned !== undefined) return this.make(types, assigned);
    // Looked up before a closure is made for a miss: nearly every node finds it.
    return this.defaults.get(types[0] ?? '') ?? this.makeDefault(types);
  }

  private makeDefault(types: string[]): Record<string, CompiledArtifact> {
    return sharedPerType(this.defaults, types[0] ?? '', () => this.make(types, []));
  }

  private make(types: string[], assigned: ArtifactRecord[]): Record<string, CompiledArtifact> {
    const ctx = this.ctx;
    const out: Record<string, CompiledArtifact> = {};
    const all = new Map<string, ArtifactRecord>();
    for (const [name, a] of ctx.mergedDefs(types, 'artifacts')) all.set(name, a);
    for (const a of assigned) all.set(a.name, a);
    for (const [name, a] of all) {
      if (!a.file) continue;
      ctx.checkUntyped(a.properties, a.typeAt, a.unit, assigned.includes(a) ? undefined : a);
      const canonical = a.type ? ctx.loader.resolve(a.unit, 'artifact', a.type) : undefined;
      if (a.type && !canonical) ctx.report('error', 'E_TOSCA_UNKNOWN_TYPE', `unknown artifact type "${a.type}"`, ctx.loc(a.typeAt, a.unit), ctx.loader.versionHint(a.unit, 'artifact', a.type));
      out[name] = {
        type: canonical ?? 'tosca:File',
        types: canonical ? ctx.loader.chain('artifact', canonical) : ['tosca:File'],
        file: /^[a-z]+:\/\//i.test(a.file) || a.repository ? a.file : joinPath(a.unit.dir, a.file),
        ...(a.repository ? { repository: a.repository } : {}),
        ...(a.deployPath ? { deployPath: a.deployPath } : {}),
        // A type's artifact is its record's: each node gets its own copy of the values.
        properties: Object.fromEntries(a.properties.map(([k, v]) => [k, copyValue(v)])),
      };
    }
    return out;
  }
}
