import { resolve, sep } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';

/**
 * Every path under the agent's data directory is built here. Each part is one folder or file
 * name: never empty, never `.` or `..`, no separator, no leading dot, no control character. The
 * result is checked to lie inside the data dir, so a hostile service or node name (or a bug) can
 * never put a file, a working directory or an `rm -r` outside its own place.
 */
export function dataPath(dataDir: string, ...parts: string[]): string {
  const root = resolve(dataDir);
  for (const part of parts) {
    const why = badPart(part);
    if (why) throw new KaiduError('E_PATH_CONFINED', `refusing the path ${JSON.stringify(parts.join('/'))} under the data directory ${root}: ${why}`, { hint: 'service, node and host names must be safe names (see profiles/kaidu/README.md)' });
  }
  const full = resolve(root, ...parts);
  if (full !== root && !full.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw new KaiduError('E_PATH_CONFINED', `refusing ${full}: it is outside the data directory ${root}`);
  }
  return full;
}

function badPart(part: string): string | undefined {
  if (part === '') return 'a name is empty';
  if (part === '.' || part === '..') return `"${part}" is not a name`;
  if (part.includes('/') || part.includes('\\')) return `${JSON.stringify(part)} contains a path separator`;
  if (part.startsWith('.')) return `${JSON.stringify(part)} starts with a dot`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(part)) return `${JSON.stringify(part)} contains a control character`;
  return undefined;
}
