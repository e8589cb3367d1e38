import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProcessDelegate, RecordingRunner, SystemCommandRunner } from '../../src/delegates/index.js';
import type { ExitEvent } from '../../src/delegates/types.js';
import { killManaged } from '../support/agent-harness.js';
import { context, desired, stateOf } from '../support/delegate-context.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-proc2-'));
});
afterEach(async () => {
  await killManaged(dir);
  await rm(dir, { recursive: true, force: true });
});

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isRoot = process.getuid?.() === 0;
const nobody = (() => {
  try {
    return Boolean(readFileSync('/etc/passwd', 'utf8').match(/^nobody:/m));
  } catch {
    return false;
  }
})();

describe('process delegate (more)', () => {
  it('neither a failed start nor our own stop is reported as an exit event; a later crash is, once', async () => {
    const d = new ProcessDelegate({ dataDir: dir, runner: new SystemCommandRunner() });
    const exits: ExitEvent[] = [];
    const onExit = (e: ExitEvent) => exits.push(e);
    await expect(d.create(context(dir, desired('kaidu:Process', { command: ['/bin/sh', '-c', 'echo no config >&2; exit 5'] }, { name: 'bad' }), { onExit }))).rejects.toMatchObject({ code: 'E_PROCESS_EXITED' });
    const node = desired('kaidu:Process', { command: ['node', '-e', 'setInterval(()=>{},1e6)'], stop_grace: 2 }, { name: 'ok' });
    const made = await d.create(context(dir, node, { onExit }));
    await d.delete(context(dir, node, { previous: stateOf('kaidu:Process', node.properties, made.attributes), onExit }));
    const crash = desired('kaidu:Process', { command: ['node', '-e', 'setTimeout(()=>{ throw new Error("boom") }, 500)'] }, { name: 'crash' });
    await d.create(context(dir, crash, { onExit }));
    for (let i = 0; i < 100 && exits.length === 0; i++) await sleep(50);
    await sleep(300);
    expect(exits).toHaveLength(1);
    expect(exits[0]).toMatchObject({ nodeId: 'svc/crash', exitCode: 1, signal: null });
    // After the exit, inspect says stopped with the recorded code.
    const seen = await new ProcessDelegate({ dataDir: dir, runner: new SystemCommandRunner() }).inspect(context(dir, crash, { previous: stateOf('kaidu:Process', crash.properties, { pid: null }) }));
    expect(seen.exists).toBe(false);
  });

  it('a command that cannot be found fails the create with the reason', async () => {
    const d = new ProcessDelegate({ dataDir: dir, runner: new SystemCommandRunner() });
    const err = await d.create(context(dir, desired('kaidu:Process', { command: ['/nonexistent/kaidu-app', '--serve'] }))).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'E_PROCESS_EXITED' });
    expect((err as Error).message).toContain('/nonexistent/kaidu-app');
  });

  it('delete is idempotent, and never signals a pid that is not ours any more', async () => {
    const d = new ProcessDelegate({ dataDir: dir, runner: new SystemCommandRunner() });
    const node = desired('kaidu:Process', { command: ['node', '-e', 'setInterval(()=>{},1e6)'] });
    // Our own test runner's pid with another start time: a recycled pid. It must survive.
    await d.delete(context(dir, node, { previous: stateOf('kaidu:Process', node.properties, { pid: process.pid, supervisor_pid: process.pid, start_time: '1' }) }));
    await d.delete(context(dir, node, { previous: stateOf('kaidu:Process', node.properties, { pid: process.pid, supervisor_pid: process.pid, start_time: '1' }) }));
    expect(alive(process.pid)).toBe(true);
  });

  it('an unknown user is a clear error; without root another user is refused', async () => {
    const runner = new RecordingRunner().on('id', { exitCode: 1, stderr: "id: 'ghost': no such user" });
    const d = new ProcessDelegate({ dataDir: dir, runner });
    await expect(d.create(context(dir, desired('kaidu:Process', { command: ['true'], user: 'ghost' }), { runner }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('no user "ghost"') });
  });

  it.skipIf((!isRoot || !nobody) && process.env.CI !== 'true')(`runs as another user when the agent is root${isRoot && nobody ? '' : ' (skipped: needs root and a "nobody" user)'}`, async () => {
    expect(isRoot && nobody, 'CI=true: this test needs root and a "nobody" user').toBe(true);
    const d = new ProcessDelegate({ dataDir: dir, runner: new SystemCommandRunner() });
    const node = desired('kaidu:Process', { command: ['node', '-e', 'console.log("uid=" + process.getuid() + " user=" + process.env.USER); setInterval(()=>{},1e6)'], user: 'nobody' });
    const made = await d.create(context(dir, node));
    const status = await readFile(`/proc/${made.attributes.pid}/status`, 'utf8');
    const nobodyUid = /^nobody:[^:]*:(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))![1];
    expect(/^Uid:\s+(\d+)/m.exec(status)![1]).toBe(nobodyUid);
    for (let i = 0; i < 40 && !(await readFile(join(dir, 'logs', 'svc', 'n1.out.log'), 'utf8')).includes('uid='); i++) await sleep(50);
    expect(await readFile(join(dir, 'logs', 'svc', 'n1.out.log'), 'utf8')).toContain(`uid=${nobodyUid} user=nobody`);
    await d.delete(context(dir, node, { previous: stateOf('kaidu:Process', node.properties, made.attributes) }));
    expect(alive(made.attributes.pid as number)).toBe(false);
  });

  it('systemd: delete stops the unit, inspect reads MainPID and ActiveState (commands pinned)', async () => {
    const runner = new RecordingRunner().on('systemctl --user show', { stdout: 'MainPID=0\nActiveState=failed\nLoadState=loaded\nResult=exit-code\n' }).on('systemctl --user stop', { exitCode: 5, stderr: 'Failed to stop kaidu-svc-n1.service: Unit kaidu-svc-n1.service not loaded.' });
    const d = new ProcessDelegate({ dataDir: dir, runner });
    const node = desired('kaidu:Process', { command: ['/usr/bin/app'], systemd: true });
    const previous = stateOf('kaidu:Process', node.properties, { pid: 4242 });
    expect(await d.inspect(context(dir, node, { runner, previous }))).toEqual({ exists: false, status: 'stopped', attributes: { pid: 0, status: 'failed' } });
    await d.delete(context(dir, node, { runner, previous }));
    expect(runner.lines).toEqual(['systemctl --user show --property=MainPID,ActiveState,LoadState,Result kaidu-svc-n1.service', 'systemctl --user stop kaidu-svc-n1.service']);
    // Any other stop failure (or a show that failed) is an error, never "stopped".
    const denied = new RecordingRunner().on('systemctl --user stop', { exitCode: 1, stderr: 'Failed to stop kaidu-svc-n1.service: Access denied' }).on('systemctl --user show', { exitCode: 1, stderr: 'Failed to connect to bus: No medium found' });
    await expect(d.delete(context(dir, node, { runner: denied, previous }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    await expect(d.inspect(context(dir, node, { runner: denied, previous }))).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    // With a user: that user's manager, through --machine=<user>@.host.
    const theirs = new RecordingRunner().on('systemctl', { stdout: 'MainPID=0\nActiveState=inactive\nLoadState=not-found\n' });
    const withUser = desired('kaidu:Process', { command: ['/usr/bin/app'], systemd: true, user: 'alice' });
    await d.inspect(context(dir, withUser, { runner: theirs, previous: stateOf('kaidu:Process', withUser.properties, {}) }));
    expect(theirs.lines).toEqual(['systemctl --user --machine=alice@.host show --property=MainPID,ActiveState,LoadState,Result kaidu-svc-n1.service']);
  });
});
