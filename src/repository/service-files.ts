import type { SourceReader } from '../tosca/model.js';
import type { RepoSettings } from './settings.js';

/** Service template files: `<services_dir>/*.yaml` (sub-folders hold artifacts and imports). */
export async function listServiceFiles(reader: SourceReader, settings: Pick<RepoSettings, 'servicesDir'>): Promise<string[]> {
  const entries = await reader.listDir(settings.servicesDir);
  return entries
    .filter((e) => e.kind === 'file' && /\.ya?ml$/.test(e.name))
    .map((e) => `${settings.servicesDir}/${e.name}`)
    .sort();
}

/** A service's name: its file's name without `.yaml` (`services/web.yaml` → `web`). */
export function serviceName(path: string, settings: Pick<RepoSettings, 'servicesDir'>): string {
  return path.slice(settings.servicesDir.length + 1).replace(/\.ya?ml$/, '');
}
