import { existsSync, realpathSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { KaiduError } from '../../errors/kaidu-error.js';
import type { CommandContext } from '../context.js';

/** `templates/` of the package: three levels up from src/cli/commands/ and from dist/cli/commands/. */
const TEMPLATES = fileURLToPath(new URL('../../../templates/', import.meta.url));

/** The package's root (templates/, hooks/, package.json): three levels up, as for TEMPLATES. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What `kaidu init` writes: template file (under templates/, or the package root) → path in the new repository. */
interface ScaffoldFile {
  template: string;
  path: string;
  fromRoot?: boolean;
  executable?: boolean;
}

function scaffold(gitlab: boolean): ScaffoldFile[] {
  const files: ScaffoldFile[] = [
    { template: 'repo/kaidu.yaml', path: 'kaidu.yaml' },
    { template: 'repo/services/hello.yaml', path: 'services/hello.yaml' },
    { template: 'github/kaidu.yml', path: '.github/workflows/kaidu.yml' },
    { template: 'repo/package.json', path: 'package.json' },
    // Stored without its dot: npm leaves .gitignore files out of published packages.
    { template: 'repo/gitignore', path: '.gitignore' },
    { template: 'repo/README.md', path: 'README.md' },
    { template: 'hooks/pre-commit', path: '.githooks/pre-commit', fromRoot: true, executable: true },
  ];
  if (gitlab) files.push({ template: 'gitlab/.gitlab-ci.yml', path: '.gitlab-ci.yml' });
  return files;
}

interface InitFlags {
  host?: string;
  gitlab?: boolean;
  force?: boolean;
  kaiduFrom?: string;
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('init')
    .description('scaffold a Kaidu repository: settings, a hello service, CI workflow, pre-commit hook')
    .argument('[dir]', 'where (default: the current directory)')
    .option('--host <name>', 'the host the hello service runs on (default: this machine’s name)')
    .option('--gitlab', 'also write .gitlab-ci.yml')
    .option('--force', 'overwrite files that exist')
    .option('--kaidu-from <spec>', 'where npm gets kaidu for package.json and CI: a folder, a git URL, a tarball (default: this kaidu)')
    .action(async (dir: string | undefined, flags: InitFlags) => {
      const target = resolve(ctx.cwd, dir ?? '.');
      const host = flags.host === undefined ? hostName(hostname()) : flags.host;
      if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(host)) {
        throw new KaiduError('E_USAGE', `--host must be lower-case letters, digits and dashes, not "${host}"`);
      }
      const files = scaffold(Boolean(flags.gitlab));
      const existing = files.filter((f) => existsSync(join(target, f.path))).map((f) => f.path);
      if (existing.length > 0 && !flags.force) {
        ctx.stderr.write(`kaidu init: ${target} already has ${existing.join(', ')}; nothing written (--force overwrites them)\n`);
        ctx.setExitCode(1);
        return;
      }
      // No registry serves kaidu: by default the scaffold installs this very copy (a folder link, no network).
      const spec = flags.kaiduFrom ?? `file:${realpathSync(PACKAGE_ROOT).replace(/\/+$/, '')}`;
      // It is written into package.json and YAML as is: no quotes, backslashes or control characters.
      if (/["\\\x00-\x1f]/.test(spec) || spec.length > 2048) throw new KaiduError('E_USAGE', `kaidu's package spec must have no quotes, backslashes or control characters, not ${JSON.stringify(spec)}`);
      const values: Record<string, string> = { __HOST__: host, __NAME__: packageName(basename(target)), __KAIDU_SPEC__: spec };
      for (const f of files) {
        const text = (await readFile(join(f.fromRoot ? PACKAGE_ROOT : TEMPLATES, f.template), 'utf8')).replace(/__(HOST|NAME|KAIDU_SPEC)__/g, (m) => values[m]!);
        await mkdir(dirname(join(target, f.path)), { recursive: true });
        await writeFile(join(target, f.path), text, { flag: flags.force ? 'w' : 'wx', ...(f.executable ? { mode: 0o755 } : {}) });
        if (f.executable) await chmod(join(target, f.path), 0o755);
      }
      ctx.stdout.write(
        [
          `Created a Kaidu repository in ${target}:`,
          ...files.map((f) => `  ${f.path}${existing.includes(f.path) ? ' (overwritten)' : ''}`),
          '',
          'Next:',
          ...(dir ? [`  cd ${shellWord(dir)}`] : []),
          '  git init -b main          # kaidu init does not create the git repository',
          `  npm install               # kaidu (${spec}) and the pre-commit hook; no registry needed`,
          '  npx kaidu validate && npx kaidu plan',
          `  git add -A && git commit -m "kaidu init"`,
          '',
          ...(flags.kaiduFrom
            ? []
            : [`CI installs kaidu from ${spec} too, which exists only on this machine: see README.md ("Kaidu is not on a package registry").`, '']),
        ].join('\n'),
      );
    });
}

/** `dir` as one shell word: the Next: lines are meant to be pasted. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A host name as TOSCA node names and state folders want it: `Web-1.example.com` → `web-1`. */
export function hostName(raw: string): string {
  const name = (raw.split('.')[0] ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return name || 'local';
}

function packageName(dir: string): string {
  const name = dir.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-._]+|[-._]+$/g, '');
  return name || 'kaidu-services';
}
