import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { KaiduError } from '../../errors/kaidu-error.js';
import type { Diagnostic } from '../../tosca/diagnostic.js';
import type { CommandContext } from '../context.js';
import { repoDir, DIR_OPTION } from '../repo-dir.js';
import { exitCodeFor } from '../exit-code.js';
import { collectInput, readInputs } from '../inputs.js';

interface FileReport {
  file: string;
  errors: number;
  warnings: number;
}

const SKIP = new Set(['state', 'node_modules', '.git', '.kaidu', 'profiles']);

/** After this many files, the walk and the compile say how far they got (stderr). */
const PROGRESS_EVERY = 200;

/**
 * Folders with kaidu.yaml are repositories; other YAML files are validated one by one. Hidden
 * folders, node_modules and symbolic links are never entered (a given folder may be a busy one).
 */
async function collect(dir: string, repos: string[], files: string[], progress: Progress): Promise<void> {
  if (existsSync(join(dir, 'kaidu.yaml'))) {
    repos.push(dir);
    return;
  }
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory() && !SKIP.has(e.name) && !e.name.startsWith('.')) await collect(join(dir, e.name), repos, files, progress);
    else if (e.isFile() && /\.ya?ml$/.test(e.name)) {
      files.push(join(dir, e.name));
      progress.found(files.length);
    }
  }
}

/**
 * The repository `cwd` is in: the nearest folder at or above it with kaidu.yaml, not above the
 * top of its git checkout; else `cwd` itself when it has the default `services/` folder (every
 * setting is optional: the hooks validate such an exported tree). Undefined outside a repository.
 */
function enclosingRepository(cwd: string): string | undefined {
  for (let dir = cwd; ; ) {
    if (existsSync(join(dir, 'kaidu.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir || existsSync(join(dir, '.git'))) break;
    dir = parent;
  }
  return existsSync(join(cwd, 'services')) && statSync(join(cwd, 'services')).isDirectory() ? cwd : undefined;
}

/** Long walks and long runs show where they are: a line on stderr every PROGRESS_EVERY files. */
interface Progress {
  found(count: number): void;
  checked(count: number, total: number): void;
}

function progressOn(stderr: NodeJS.WritableStream): Progress {
  return {
    found(count) {
      if (count % PROGRESS_EVERY === 0) stderr.write(`validate: found ${count} YAML files so far…\n`);
    },
    checked(count, total) {
      if (total >= PROGRESS_EVERY && (count % PROGRESS_EVERY === 0 || count === total)) stderr.write(`validate: ${count}/${total} files checked\n`);
    },
  };
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('validate')
    .description('compile TOSCA service templates and report every problem (file:line:column)')
    .argument('[paths...]', 'service templates, types-only files or folders (default: this repository)')
    .option('--input <name=value>', 'an input value (repeatable)', collectInput)
    .option('--inputs <file>', 'YAML file of input values')
    .option('--json', 'machine-readable output')
    .option(DIR_OPTION[0], 'run in this folder: PATHS and the default repository are taken from there')
    .action(async (paths: string[], flags: { input?: string[]; inputs?: string; json?: boolean; dir?: string }) => {
      const [{ compileService, createCompileCache }, { formatDiagnostic }, { fsReader, profilesReader }] = await Promise.all([
        import('../../tosca/index.js'),
        import('../../tosca/diagnostic.js'),
        import('../fs-reader.js'),
      ]);
      const inputs = await readInputs(flags.input, flags.inputs);
      const cwd = repoDir(ctx, 'validate', flags.dir, undefined);
      const repos: string[] = [];
      const files: string[] = [];
      const progress = progressOn(ctx.stderr);
      if (paths.length === 0) {
        // Only a repository is validated without paths: walking whatever folder this is (a home,
        // /tmp) could read anything, for as long as it takes.
        const repo = enclosingRepository(cwd);
        if (!repo) throw new KaiduError('E_USAGE', 'not in a Kaidu repository (no kaidu.yaml here or above up to the git checkout\'s top, no services/ folder here)', { hint: 'name the files or folders to validate: kaidu validate PATH...' });
        repos.push(repo);
      }
      for (const p of paths) {
        const abs = resolve(cwd, p);
        if (!existsSync(abs)) throw new KaiduError('E_USAGE', `no such file or folder: ${p}`);
        if (statSync(abs).isDirectory()) await collect(abs, repos, files, progress);
        else files.push(abs);
      }
      const profiles = profilesReader();
      const cache = createCompileCache();
      const diagnostics: Diagnostic[] = [];
      const reports: FileReport[] = [];
      const show = (base: string, d: Diagnostic): Diagnostic => ({ ...d, file: d.file.startsWith('profiles/') && !existsSync(join(base, d.file)) ? d.file : relative(ctx.cwd, join(base, d.file)) || d.file });
      for (const repo of repos) {
        // Imported here: a repository brings topology, plans and state; files named alone need only the compiler.
        const { loadRepository } = await import('../../repository/index.js');
        const loaded = await loadRepository(fsReader(repo), { profiles, cache, inputs });
        // State files are the agents' business, not the templates': validate does not judge them.
        // (by origin, not only by code: a state file over a YAML limit says E_YAML_*)
        const ofState = new Set(loaded.state.diagnostics);
        const ds = [...loaded.diagnostics, ...loaded.topology.diagnostics].filter((d) => !ofState.has(d) && !/^[EW]_STATE_/.test(d.code)).map((d) => show(repo, d));
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
      for (const [i, file] of files.entries()) {
        const base = dirname(file);
        const result = await compileService(basename(file), fsReader(base, { confined: false }), { profiles, cache, inputs });
        const ds = result.diagnostics.map((d) => show(base, d));
        diagnostics.push(...ds);
        reports.push({ file: relative(ctx.cwd, file) || file, errors: ds.filter((d) => d.severity === 'error').length, warnings: ds.filter((d) => d.severity === 'warning').length });
        progress.checked(i + 1, files.length);
      }
      if (ctx.env.KAIDU_CACHE_STATS) {
        const s = profiles.prebuilt?.stats;
        ctx.stderr.write(`kaidu: profiles: ${s ? `${s.used} files from the prebuilt store, ${s.missed} read from YAML` : 'no prebuilt store, read from YAML'}\n`);
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
      const code = exitCodeFor(diagnostics);
      if (code !== 0) ctx.setExitCode(code);
    });
}
