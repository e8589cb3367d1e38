import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { hostName, register as registerInit } from '../../src/cli/commands/init.js';
import { register as registerValidate } from '../../src/cli/commands/validate.js';
import { parseSettings } from '../../src/repository/settings.js';
import { runKaidu } from '../review/cli-run.js';
import { tempDir } from '../support/temp-dir.js';

const FILES = ['kaidu.yaml', 'services/hello.yaml', '.github/workflows/kaidu.yml', 'package.json', '.gitignore', 'README.md', '.githooks/pre-commit'];

const fresh = () => tempDir('kaidu-init-');

describe('kaidu init', () => {
  it('scaffolds a repository', async () => {
    const root = fresh();
    const run = await runKaidu(['init', 'deploy', '--host', 'web-1'], [registerInit], { cwd: root });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const dir = join(root, 'deploy');
    for (const f of FILES) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(existsSync(join(dir, '.gitlab-ci.yml'))).toBe(false);
    expect(run.stdout).toContain('git init');

    const { settings, diagnostics } = parseSettings(readFileSync(join(dir, 'kaidu.yaml'), 'utf8'));
    expect(diagnostics).toEqual([]);
    expect(settings).toMatchObject({ branch: 'main', servicesDir: 'services', stateDir: 'state', agents: [] });

    const hello = parse(readFileSync(join(dir, 'services/hello.yaml'), 'utf8'));
    const nodes = hello.service_template.node_templates;
    expect(nodes['web-1'].type).toBe('kaidu:Host');
    expect(nodes['hello-port'].type).toBe('kaidu:Port');
    expect(nodes.hello.type).toBe('kaidu:Process');
    expect(nodes.hello.properties.env.PORT).toEqual({ $get_attribute: ['hello-port', 'port'] });

    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('deploy');
    expect(pkg.scripts.prepare).toMatch(/^git config core\.hooksPath \.githooks/);
    // No registry serves kaidu: the scaffold installs this copy.
    expect(pkg.devDependencies).toEqual({ kaidu: `file:${realpathSync(join(import.meta.dirname, '..', '..'))}` });
    expect(statSync(join(dir, '.githooks/pre-commit')).mode & 0o111).toBe(0o111);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('node_modules/');
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).not.toMatch(/__[A-Z_]+__/);
  });

  it('writes templates that validate', async () => {
    const dir = fresh();
    expect((await runKaidu(['init', '--host', 'local'], [registerInit], { cwd: dir })).code).toBe(0);
    const run = await runKaidu(['validate'], [registerValidate], { cwd: dir });
    expect(run.stdout + run.stderr).not.toMatch(/: error /);
    expect(run.code).toBe(0);
  });

  it('refuses to overwrite, lists the files, and overwrites with --force', async () => {
    const dir = fresh();
    expect((await runKaidu(['init', '--host', 'a'], [registerInit], { cwd: dir })).code).toBe(0);
    const again = await runKaidu(['init', '--host', 'b'], [registerInit], { cwd: dir });
    expect(again.code).toBe(1);
    for (const f of FILES) expect(again.stderr).toContain(f);
    expect(readFileSync(join(dir, 'services/hello.yaml'), 'utf8')).toContain('    a:\n');
    const forced = await runKaidu(['init', '--host', 'b', '--force'], [registerInit], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('(overwritten)');
    expect(readFileSync(join(dir, 'services/hello.yaml'), 'utf8')).toContain('    b:\n');
  });

  it('--kaidu-from names where npm gets kaidu, and refuses what would break package.json', async () => {
    const dir = fresh();
    const run = await runKaidu(['init', '--host', 'local', '--kaidu-from', 'git+https://git.example/you/kaidu.git'], [registerInit], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).devDependencies.kaidu).toBe('git+https://git.example/you/kaidu.git');
    expect(run.stdout).not.toContain('exists only on this machine');
    const bad = await runKaidu(['init', '--host', 'local', '--kaidu-from', 'a "b'], [registerInit], { cwd: fresh() });
    expect(bad.code).toBe(2);
  });

  it('--gitlab adds .gitlab-ci.yml', async () => {
    const dir = fresh();
    expect((await runKaidu(['init', '--gitlab', '--host', 'local'], [registerInit], { cwd: dir })).code).toBe(0);
    const ci = parse(readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8'));
    expect(ci['kaidu-plan'].script.join('\n')).toContain('kaidu pr-comment --provider gitlab');
    expect(ci['kaidu-trigger'].script.join('\n')).toContain('kaidu trigger');
  });

  it('refuses a host name that is not a node name', async () => {
    const run = await runKaidu(['init', '--host', 'Bad Host'], [registerInit], { cwd: fresh() });
    expect(run.code).toBe(2);
  });

  it('derives the default host from the machine name', () => {
    expect(hostName('Web_1.example.com')).toBe('web-1');
    expect(hostName('...')).toBe('local');
    expect(hostName('')).toBe('local');
  });
});

describe('the GitHub workflow kaidu init writes', () => {
  const wf = parse(readFileSync(new URL('../../templates/github/kaidu.yml', import.meta.url), 'utf8'));

  it('plans pull requests and comments, with the permissions that needs', () => {
    expect(wf.on.pull_request['paths-ignore']).toEqual(['state/**']);
    expect(wf.jobs.plan.permissions).toMatchObject({ 'pull-requests': 'write', statuses: 'write' });
    const runs = wf.jobs.plan.steps.map((s: { run?: string }) => s.run ?? '').join('\n');
    expect(runs).toContain('npx kaidu plan --base ${{ github.event.pull_request.base.sha }} --head ${{ github.event.pull_request.head.sha }}');
    expect(runs).toContain('kaidu pr-comment');
  });

  it('triggers the agent after a push to main, but not for state commits', () => {
    expect(wf.on.push).toEqual({ branches: ['main'], 'paths-ignore': ['state/**'] });
    const step = wf.jobs.trigger.steps.find((s: { run?: string }) => s.run?.includes('kaidu trigger'));
    expect(step.run).toContain('--url "${{ vars.KAIDU_AGENT_URL }}" --secret-env KAIDU_WEBHOOK_SECRET');
    expect(step.env.KAIDU_WEBHOOK_SECRET).toBe('${{ secrets.KAIDU_WEBHOOK_SECRET }}');
  });
});
