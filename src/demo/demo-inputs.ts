/**
 * The demo keeps every file it makes in its own folder: each service input named `data_root`
 * (web-db's defaults to /var/tmp/kaidu-web-db) is pointed there through `inputs:` in the hub's
 * kaidu.yaml, so the folder's removal takes the data too and a second run starts empty.
 */
import { parse, parseDocument } from 'yaml';

/** `files` (path → text, as pushed to the hub) with kaidu.yaml setting `data_root` under `dataRoot`. */
export function withDemoDataRoot(files: Record<string, string>, dataRoot: string): Record<string, string> {
  const doc = parseDocument(files['kaidu.yaml'] ?? '');
  const servicesDir = String((doc.toJS() as { services_dir?: string } | null)?.services_dir ?? 'services').replace(/\/+$/, '');
  let changed = false;
  for (const [path, text] of Object.entries(files)) {
    const m = new RegExp(`^${servicesDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([^/]+)\\.ya?ml$`).exec(path);
    if (!m) continue;
    let inputs: unknown;
    try {
      inputs = (parse(text) as { service_template?: { inputs?: Record<string, unknown> } } | null)?.service_template?.inputs;
    } catch {
      continue; // not ours to judge: the agents report it
    }
    if (!inputs || typeof inputs !== 'object' || !('data_root' in inputs)) continue;
    doc.setIn(['inputs', m[1]!, 'data_root'], `${dataRoot}/${m[1]}`);
    changed = true;
  }
  return changed ? { ...files, 'kaidu.yaml': doc.toString() } : files;
}
