/**
 * Compile speed and memory: a generated service of N node templates (hosts × processes with
 * ports) at 1k, 10k and 100k nodes, against a baseline in the same process: parsing the same
 * text with the `yaml` library alone (the floor any YAML-based compiler stands on).
 */
import { parseDocument } from 'yaml';
import { fileURLToPath } from 'node:url';
import { compileService, createCompileCache } from '../src/tosca/index.js';
import { fsReader } from '../src/cli/fs-reader.js';
import type { SourceReader } from '../src/tosca/model.js';
import { best, gc, peakRssMiB, round } from './measure.js';

/** hosts × (1 port + 1 process per pair): ~N nodes in all. */
export function generate(nodes: number): string {
  const perHost = 100;
  const hosts = Math.max(1, Math.round(nodes / perHost));
  const out: string[] = ['tosca_definitions_version: tosca_2_0', 'service_template:', '  node_templates:'];
  for (let h = 0; h < hosts; h++) {
    out.push(`    host-${h}:`, '      type: kaidu:Host');
    for (let p = 0; p < (perHost - 1) / 2; p++) {
      out.push(
        `    port-${h}-${p}:`, '      type: kaidu:Port', '      requirements:', `        - host: host-${h}`,
        `    proc-${h}-${p}:`, '      type: kaidu:Process', '      properties:', `        command: [ /usr/bin/worker, --id, '${p}' ]`,
        '        env:', `          PORT: { $get_attribute: [ port-${h}-${p}, port ] }`, '      requirements:', `        - host: host-${h}`, `        - dependency: port-${h}-${p}`,
      );
    }
  }
  return out.join('\n') + '\n';
}

function single(text: string): SourceReader {
  return {
    readFile: async (path) => (path === 'big.yaml' ? { path, text, id: String(text.length) } : undefined),
    listDir: async () => [],
  };
}

export async function benchCompile(): Promise<Record<string, unknown>> {
  const profiles = fsReader(fileURLToPath(new URL('../../profiles/', import.meta.url)));
  const sizes = [1_000, 10_000, 100_000];
  const rows: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const text = generate(n);
    const baseline = await best(n >= 100_000 ? 1 : 3, () => parseDocument(text));
    gc();
    const compiled = await best(n >= 100_000 ? 1 : 3, () => compileService('big.yaml', single(text), { profiles, cache: createCompileCache() }));
    const nodes = Object.keys(compiled.value.service?.nodes ?? {}).length;
    const errs = compiled.value.diagnostics.filter((d) => d.severity === 'error').length;
    rows.push({ nodes, errors: errs, compile_ms: round(compiled.ms), us_per_node: round((compiled.ms * 1000) / nodes), baseline_yaml_parse_ms: round(baseline.ms), ratio_to_yaml_parse: round(compiled.ms / baseline.ms) });
  }
  const first = rows[0] as { us_per_node: number };
  const last = rows[rows.length - 1] as { us_per_node: number; compile_ms: number };
  return {
    sizes: rows,
    per_node_growth_1k_to_100k: round(last.us_per_node / first.us_per_node),
    target_100k_ms: 3000,
    meets_time_target: last.compile_ms < 3000,
    peak_rss_mib: await peakRssMiB(),
    target_peak_rss_mib: 1536,
  };
}
