import { createHash } from 'node:crypto';
import { chmod, readFile, rm, stat } from 'node:fs/promises';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { writeFileAtomic } from '../state/write-file.js';
import { hostPath } from './host-path.js';
import { insideOf, recordedInside } from './nesting.js';
import { inspectPath, insidePath, NestedConfigFile } from './nested-files.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

/**
 * Renders `{{ name }}` / `{{ a.b }}` placeholders from `variables`. `{{{{` writes a literal `{{`.
 * A placeholder without a variable is an error naming it and its line in the template.
 */
export function renderTemplate(text: string, variables: Record<string, PlainValue>, templatePath: string): string {
  const lines = text.split('\n');
  return lines
    .map((line, i) =>
      line
        .replace(/\{\{\{\{/g, '\u0000')
        .replace(/\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g, (_m, name: string) => {
          let cur: PlainValue | undefined = variables;
          for (const part of name.split('.')) cur = cur && typeof cur === 'object' && !Array.isArray(cur) ? (cur as Record<string, PlainValue>)[part] : undefined;
          if (cur === undefined) throw new KaiduError('E_DELEGATE', `${templatePath}:${i + 1}: no variable "${name}" for this placeholder`, { hint: `variables: ${Object.keys(variables).join(', ') || 'none'}` });
          return cur === null ? '' : typeof cur === 'string' ? cur : JSON.stringify(cur);
        })
        .replace(/\u0000/g, '{{'),
    )
    .join('\n');
}

/** A file rendered from a repository template, written atomically; re-rendered only when it changes. */
export class ConfigFileDelegate implements Delegate {
  readonly name = 'config-file';
  readonly handles = ['kaidu:ConfigFile'];
  private readonly nested = new NestedConfigFile();

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const { path, template, variables, mode } = ctx.node.properties;
    if (typeof path !== 'string' || typeof template !== 'string') throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "path" and "template" are required`);
    const inside = insideOf(ctx);
    const target = inside ? insidePath(ctx, path, 'path') : await hostPath(ctx, path, 'path');
    const source = await ctx.readRepoFile(template);
    if (!source) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: template ${template} is not in the repository`);
    const rendered = renderTemplate(source.toString('utf8'), (variables ?? {}) as Record<string, PlainValue>, template);
    const checksum = createHash('sha256').update(rendered).digest('hex');
    const fileMode = parseInt(typeof mode === 'string' ? mode : '0644', 8);
    if (Number.isNaN(fileMode)) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: mode must be octal like "0644"`);
    if (inside) {
      await this.nested.write(ctx, inside, target, rendered, fileMode);
      return { attributes: { path: target, checksum, inside: inside.record } };
    }
    const current = await readFile(target, 'utf8').catch(() => undefined);
    // Unchanged content is not rewritten (its mtime stays, nothing watching it reloads); a changed mode still applies.
    if (current !== rendered) await writeFileAtomic(target, rendered, fileMode);
    if (((await stat(target)).mode & 0o7777) !== fileMode) await chmod(target, fileMode);
    return { attributes: { path: target, checksum } };
  }

  /** Re-renders; a file moved to a new `path` leaves no copy at the old one. */
  async update(ctx: DelegateContext): Promise<DelegateResult> {
    const result = await this.create(ctx);
    const before = ctx.previous?.attributes.path;
    const wasInside = recordedInside(ctx);
    if (wasInside) {
      // Moved to another path, or into another workload: the old copy goes.
      const now = result.attributes.inside;
      const same = JSON.stringify(now ?? null) === JSON.stringify(wasInside.record) && before === result.attributes.path;
      if (!same && typeof before === 'string') await this.nested.remove(ctx, wasInside, insidePath(ctx, before, 'previous path'));
      return result;
    }
    // From the outer host into a workload: the outer copy goes.
    if (result.attributes.inside) {
      if (typeof before === 'string') await rm(await hostPath(ctx, before, 'previous path'), { force: true });
      return result;
    }
    // The old path comes from the state file (anyone who can push can edit it): checked like a new one.
    if (typeof before === 'string' && before !== result.attributes.path) await rm(await hostPath(ctx, before, 'previous path'), { force: true });
    return result;
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const path = ctx.previous?.attributes.path;
    const inside = recordedInside(ctx);
    if (inside) return void (typeof path === 'string' ? await this.nested.remove(ctx, inside, insidePath(ctx, path, 'path')) : undefined);
    if (typeof path === 'string') await rm(await hostPath(ctx, path, 'path'), { force: true });
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const path = ctx.previous?.attributes.path;
    const inside = recordedInside(ctx);
    if (inside) return inspectPath(ctx, inside, typeof path === 'string' ? path : undefined);
    const exists = typeof path === 'string' && Boolean(await stat(path).catch(() => undefined));
    return { exists, status: exists ? 'running' : 'stopped', attributes: ctx.previous?.attributes ?? {} };
  }
}
