import { createHash } from 'node:crypto';
import type { SourceFile, SourceReader } from '../../src/tosca/model.js';

/** Files in memory, for compiler tests. */
export function memoryReader(files: Record<string, string>): SourceReader {
  return {
    async readFile(path): Promise<SourceFile | undefined> {
      const text = files[path];
      return text === undefined ? undefined : { path, text, id: createHash('sha1').update(text).digest('hex') };
    },
    async listDir(path) {
      const prefix = path === '.' || path === '' ? '' : `${path.replace(/\/$/, '')}/`;
      const seen = new Map<string, 'file' | 'dir'>();
      for (const f of Object.keys(files)) {
        if (!f.startsWith(prefix)) continue;
        const rest = f.slice(prefix.length);
        const i = rest.indexOf('/');
        seen.set(i < 0 ? rest : rest.slice(0, i), i < 0 ? 'file' : 'dir');
      }
      return [...seen].map(([name, kind]) => ({ name, kind }));
    },
  };
}
