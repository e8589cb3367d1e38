import { describe, expect, it } from 'vitest';
import { commandFailed, formatArgv, MAX_OUTPUT_BYTES, RecordingRunner, runChecked, SystemCommandRunner } from '../../src/delegates/index.js';

const node = process.execPath;

describe('SystemCommandRunner', () => {
  it('runs argv (no shell), resolves whatever the exit code, with stdout, stderr and input', async () => {
    const r = await new SystemCommandRunner().run({
      argv: [node, '-e', 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{console.log("in:"+s+" arg:"+process.argv[1]);console.error("warn");process.exit(3)})', '$(echo hostile); `id`'],
      input: 'hello',
    });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('in:hello arg:$(echo hostile); `id`\n');
    expect(r.stderr).toBe('warn\n');
  });

  it('passes only the given environment and cwd', async () => {
    const r = await new SystemCommandRunner().run({ argv: [node, '-e', 'console.log(process.cwd(), process.env.ONLY, process.env.HOME === undefined)'], env: { ONLY: 'x' }, cwd: '/' });
    expect(r.stdout.trim()).toBe('/ x true');
  });

  it('kills a command that runs too long, with whatever it started, and fails with E_COMMAND_TIMEOUT', async () => {
    const started = Date.now();
    // The shell leaves a background sleep holding the pipes: the runner must not wait for it.
    const err = await new SystemCommandRunner().run({ argv: ['/bin/sh', '-c', 'sleep 30 & sleep 30'], timeoutMs: 300 }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'E_COMMAND_TIMEOUT' });
    expect((err as Error).message).toContain('did not finish within 0.3s');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('does not wait for a background job that outlives a finished command', async () => {
    const started = Date.now();
    const r = await new SystemCommandRunner().run({ argv: ['/bin/sh', '-c', 'echo done; sleep 5 &'] });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'done\n' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('honours an abort signal', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(new SystemCommandRunner().run({ argv: ['sleep', '30'], signal: ac.signal })).rejects.toMatchObject({ code: 'E_APPLY_CANCELLED' });
    await expect(new SystemCommandRunner().run({ argv: ['true'], signal: ac.signal })).rejects.toMatchObject({ code: 'E_APPLY_CANCELLED' });
  });

  it('keeps only the last MiB of a huge output', async () => {
    const r = await new SystemCommandRunner().run({ argv: [node, '-e', 'process.stdout.write("a".repeat(3*1024*1024)); process.stdout.write("END")'] });
    expect(r.stdout.length).toBe(MAX_OUTPUT_BYTES);
    expect(r.stdout.endsWith('aEND')).toBe(true);
  });

  it('a command that cannot start is E_COMMAND_FAILED naming it', async () => {
    await expect(new SystemCommandRunner().run({ argv: ['/nonexistent/kaidu-tool', '--x'] })).rejects.toMatchObject({ code: 'E_COMMAND_FAILED', message: expect.stringContaining('/nonexistent/kaidu-tool --x') });
  });
});

describe('commandFailed', () => {
  it('names the argv (quoted where needed) and shows the last lines of stderr', () => {
    const stderr = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n');
    const err = commandFailed({ exitCode: 125, stdout: '', stderr, durationMs: 1 }, { argv: ['podman', 'run', '--name', 'a b', "it's"] });
    expect(err.code).toBe('E_COMMAND_FAILED');
    expect(err.message.split('\n')[0]).toBe(`podman run --name 'a b' 'it'\\''s' exited with 125`);
    expect(err.message).toContain('line 40');
    expect(err.message).not.toContain('line 20\n');
    expect(formatArgv(['a', ''])).toBe("a ''");
  });

  it('runChecked throws it on a non-zero exit', async () => {
    const runner = new RecordingRunner().on('virsh start', { exitCode: 1, stderr: 'error: failed to get domain' });
    await expect(runChecked(runner, { argv: ['virsh', 'start', 'x'] })).rejects.toThrow(/virsh start x exited with 1\nerror: failed to get domain/);
  });
});

describe('RecordingRunner', () => {
  it('records every command and replies by matcher (first match wins; default exit 0)', async () => {
    const runner = new RecordingRunner()
      .on('podman inspect', { stdout: 'abc running' })
      .on(/\brm\b/, { exitCode: 1, stderr: 'no such container' })
      .on((argv) => argv.includes('--fail'), { exitCode: 2 });
    expect(await runner.run({ argv: ['podman', 'inspect', 'x'] })).toMatchObject({ exitCode: 0, stdout: 'abc running' });
    expect(await runner.run({ argv: ['podman', 'rm', '-f', 'x'] })).toMatchObject({ exitCode: 1, stderr: 'no such container' });
    expect(await runner.run({ argv: ['tool', '--fail'] })).toMatchObject({ exitCode: 2 });
    expect(await runner.run({ argv: ['anything'] })).toEqual({ exitCode: 0, stdout: '', stderr: '', durationMs: 0 });
    expect(runner.lines).toEqual(['podman inspect x', 'podman rm -f x', 'tool --fail', 'anything']);
    runner.clear();
    expect(runner.calls).toEqual([]);
  });
});
