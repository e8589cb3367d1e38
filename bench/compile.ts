/**
 * Compile speed and memory: a generated service of N node templates (hosts × processes with
 * ports) at 1k, 10k and 100k nodes, against a baseline in the same process: parsing the same
 * text with the `yaml` library alone (the floor any YAML-based compiler stands on).
 */
import { parseDocument } from 'yaml';
import { fileURLToPath } from 'node:url';
import { compileService, createCompileCache } from '../src/tosca/index.js';
import { fsReader, readOnce } from '../src/cli/fs-reader.js';
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

/** Resets the kernel's peak-RSS mark (Linux ≥ 4.0), so each size reports its own peak. */
async function resetPeakRss(): Promise<void> {
  try {
    const { writeFile } = await import('node:fs/promises');
    await writeFile('/proc/self/clear_refs', '5');
  } catch {
    // not Linux: the peak is the process's
  }
}

export async function benchCompile(): Promise<Record<string, unknown>> {
  // read once, as the CLI and the agent do (`profilesReader`)
  const profiles = readOnce(fsReader(fileURLToPath(new URL('../../profiles/', import.meta.url))));
  const sizes = [1_000, 10_000, 100_000];
  const rows: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const text = generate(n);
    // A warm cache, as in an agent or a second `validate`: the standard profiles are parsed already.
    const cache = createCompileCache();
    await compileService('big.yaml', single(generate(1)), { profiles, cache });
    gc();
    await resetPeakRss();
    const cpu0 = process.cpuUsage();
    const runs = n >= 100_000 ? 1 : 3;
    const compiled = await best(runs, () => compileService('big.yaml', single(text), { profiles, cache }));
    const cpu = process.cpuUsage(cpu0);
    const peak = await peakRssMiB();
    const nodes = Object.keys(compiled.value.service?.nodes ?? {}).length;
    const errs = compiled.value.diagnostics.filter((d) => d.severity === 'error').length;
    compiled.value = undefined as never;
    gc();
    // The yaml library's parse of the same text, as a yardstick (too slow and big to run at 100k).
    const baseline = n <= 10_000 ? await best(3, () => parseDocument(text, { uniqueKeys: false })) : undefined;
    rows.push({
      nodes,
      errors: errs,
      compile_ms: round(compiled.ms),
      cpu_ms_per_run: round((cpu.user + cpu.system) / 1000 / runs),
      us_per_node: round((compiled.ms * 1000) / nodes),
      peak_rss_mib: peak,
      ...(baseline ? { yaml_parse_only_ms: round(baseline.ms), ratio_to_yaml_parse: round(compiled.ms / baseline.ms) } : {}),
    });
  }
  const first = rows[0] as { us_per_node: number };
  const last = rows[rows.length - 1] as { us_per_node: number; compile_ms: number; peak_rss_mib: number };
  return {
    sizes: rows,
    per_node_growth_1k_to_100k: round(last.us_per_node / first.us_per_node),
    target_100k_ms: 3000,
    meets_time_target: last.compile_ms < 3000,
    peak_rss_mib: await peakRssMiB(),
    target_peak_rss_mib: 1536,
    meets_memory_target: last.peak_rss_mib < 1536,
  };
}
