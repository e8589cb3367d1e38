import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { KaiduError } from '../../errors/kaidu-error.js';
import { loadRepository } from '../../repository/index.js';
import { compileService, createCompileCache } from '../../tosca/index.js';
import { formatDiagnostic, type Diagnostic } from '../../tosca/diagnostic.js';
import type { CommandContext } from '../context.js';
import { fsReader, profilesReader } from '../fs-reader.js';
import { collectInput, readInputs } from '../inputs.js';

interface FileReport {
  file: string;
  errors: number;
  warnings: number;
}

const SKIP = new Set(['state', 'node_modules', '.git', '.kaidu', 'profiles']);

/** Folders with kaidu.yaml are repositories; other YAML files are validated one by one. */
async function collect(dir: string, repos: string[], files: string[]): Promise<void> {
  if (existsSync(join(dir, 'kaidu.yaml'))) {
    repos.push(dir);
    return;
  }
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory() && !SKIP.has(e.name) && !e.name.startsWith('.')) await collect(join(dir, e.name), repos, files);
    else if (e.isFile() && /\.ya?ml$/.test(e.name)) files.push(join(dir, e.name));
  }
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('validate')
    .description('compile TOSCA service templates and report every problem (file:line:column)')
    .argument('[paths...]', 'service templates, types-only files or folders (default: this repository)')
    .option('--input <name=value>', 'an input value (repeatable)', collectInput)
    .option('--inputs <file>', 'YAML file of input values')
    .option('--json', 'machine-readable output')
    .action(async (paths: string[], flags: { input?: string[]; inputs?: string; json?: boolean }) => {
      const inputs = await readInputs(flags.input, flags.inputs);
      const targets = paths.length ? paths : ['.'];
      const repos: string[] = [];
      const files: string[] = [];
      for (const p of targets) {
        const abs = resolve(ctx.cwd, p);
        if (!existsSync(abs)) throw new KaiduError('E_USAGE', `no such file or folder: ${p}`);
        if (statSync(abs).isDirectory()) await collect(abs, repos, files);
        else files.push(abs);
      }
      const profiles = profilesReader();
      const cache = createCompileCache();
      const diagnostics: Diagnostic[] = [];
      const reports: FileReport[] = [];
      const show = (base: string, d: Diagnostic): Diagnostic => ({ ...d, file: d.file.startsWith('profiles/') && !existsSync(join(base, d.file)) ? d.file : relative(ctx.cwd, join(base, d.file)) || d.file });
      for (const repo of repos) {
        const loaded = await loadRepository(fsReader(repo), { profiles, cache, inputs });
        // State files are the agents' business, not the templates': validate does not judge them.
        const ds = [...loaded.diagnostics, ...loaded.topology.diagnostics].filter((d) => !/^[EW]_STATE_/.test(d.code)).map((d) => show(repo, d));
        diagnostics.push(...ds);
        const byFile = new Map<string, FileReport>();
        for (const s of loaded.services) byFile.set(relative(ctx.cwd, join(repo, s.file)), { file: relative(ctx.cwd, join(repo, s.file)), errors: 0, warnings: 0 });
        for (const d of ds) {
          const r = byFile.get(d.file) ?? byFile.set(d.file, { file: d.file, errors: 0, warnings: 0 }).get(d.file)!;
          if (d.severity === 'error') r.errors++;
          else if (d.severity === 'warning') r.warnings++;
        }
        reports.push(...byFile.values());
      }
      for (const file of files) {
        const base = dirname(file);
        const result = await compileService(basename(file), fsReader(base, { confined: false }), { profiles, cache, inputs });
        const ds = result.diagnostics.map((d) => show(base, d));
        diagnostics.push(...ds);
        reports.push({ file: relative(ctx.cwd, file) || file, errors: ds.filter((d) => d.severity === 'error').length, warnings: ds.filter((d) => d.severity === 'warning').length });
      }
      const errors = diagnostics.filter((d) => d.severity === 'error').length;
      const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
      if (flags.json) {
        ctx.stdout.write(JSON.stringify({ ok: errors === 0, files: reports, diagnostics }, null, 2) + '\n');
      } else {
        for (const d of diagnostics) ctx.stdout.write(formatDiagnostic(d) + '\n');
        const count = reports.length;
        ctx.stdout.write(`${errors === 0 ? 'ok' : 'failed'}: ${count} file${count === 1 ? '' : 's'}, ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`);
      }
      if (errors > 0) ctx.setExitCode(1);
    });
}
