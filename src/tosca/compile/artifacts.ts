/** A node's artifacts: its type's artifact definitions, with the template's own over them. */
import type { CompiledArtifact } from '../model.js';
import { joinPath, type Unit } from '../loader.js';
import { entries, field, locate, str, type YamlNode } from '../yaml-source.js';
import type { CompileContext } from './context.js';
import { sharedPerType } from './shared.js';

export class ArtifactCompiler {
  /** Artifacts of a node type when the template assigns none: shared frozen, as interfaces are. */
  private readonly defaults = new Map<string, Record<string, CompiledArtifact>>();

  constructor(private readonly ctx: CompileContext) {}

  compile(types: string[], assigned: YamlNode | null | undefined): Record<string, CompiledArtifact> {
    if (assigned !== undefined && assigned !== null) return this.make(types, assigned);
    return sharedPerType(this.defaults, types[0] ?? '', () => this.make(types, assigned));
  }

  private make(types: string[], assigned: YamlNode | null | undefined): Record<string, CompiledArtifact> {
    const ctx = this.ctx;
    const out: Record<string, CompiledArtifact> = {};
    const all = new Map<string, { node: YamlNode | null; unit: Unit }>([...ctx.mergedDefs(types, 'artifacts')]);
    for (const [k, v] of entries(assigned)) all.set(k, { node: v, unit: ctx.unit });
    for (const [name, { node, unit }] of all) {
      const file = str(node) ?? str(field(node, 'file'));
      if (!file) continue;
      const typeRef = str(field(node, 'type'));
      const canonical = typeRef ? ctx.loader.resolve(unit, 'artifact', typeRef) : undefined;
      if (typeRef && !canonical) ctx.report('error', 'E_TOSCA_UNKNOWN_TYPE', `unknown artifact type "${typeRef}"`, locate(unit.src, field(node, 'type')));
      out[name] = {
        type: canonical ?? 'tosca:File',
        types: canonical ? ctx.loader.chain('artifact', canonical) : ['tosca:File'],
        file: /^[a-z]+:\/\//i.test(file) || str(field(node, 'repository')) ? file : joinPath(unit.dir, file),
        ...(str(field(node, 'repository')) ? { repository: str(field(node, 'repository'))! } : {}),
        ...(str(field(node, 'deploy_path')) ? { deployPath: str(field(node, 'deploy_path'))! } : {}),
        properties: Object.fromEntries(entries(field(node, 'properties')).map(([k, x]) => [k, ctx.value(x, unit)])),
      };
    }
    return out;
  }
}
