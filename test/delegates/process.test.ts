import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProcessDelegate, RecordingRunner } from '../../src/delegates/index.js';
import type { ExitEvent } from '../../src/delegates/types.js';
import { killManaged } from '../support/agent-harness.js';
import { context, desired, stateOf } from '../support/delegate-context.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-proc-'));
});
afterEach(async () => {
  await killManaged(dir);
  await rm(dir, { recursive: true, force: true });
});

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
const sleeper = (extra: string[] = []) => ['node', '-e', 'setInterval(()=>{},1e6)', ...extra];
/** Node may take a while to boot on a loaded machine: wait for what the child writes, not a fixed time. */
async function logContains(file: string, text: string, ms = 10_000): Promise<string> {
  let content = '';
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 25))) {
    content = await readFile(file, 'utf8').catch(() => '');
    if (content.includes(text)) break;
  }
  return content;
}

describe('process delegate', () => {
  it('starts detached with logs and env, stops, and restarts with new env on update', async () => {
    const d = new ProcessDelegate({ dataDir: dir, runner: new RecordingRunner() });
    const node = desired('kaidu:Process', { command: ['node', '-e', 'console.log("hello " + process.env.WHO); setInterval(()=>{},1e6)'], env: { WHO: 'one' } }, { env: { DB_PORT: '5432' } });
    const created = await d.create(context(dir, node));
    const pid = created.attributes.pid as number;
    expect(alive(pid)).toBe(true);
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
    expect(environ).toContain('WHO=one');
    expect(environ).toContain('DB_PORT=5432');
    expect(await logContains(join(dir, 'logs', 'svc', 'n1.out.log'), 'hello one')).toContain('hello one');
    const previous = stateOf('kaidu:Process', node.properties, created.attributes);
    const updated = await d.update(context(dir, desired('kaidu:Process', { ...node.properties, env: { WHO: 'two' } }), { previous }));
    const pid2 = updated.attributes.pid as number;
    expect(pid2).not.toBe(pid);
    expect(alive(pid)).toBe(false);
    expect(await readFile(`/proc/${pid2}/environ`, 'utf8')).toContain('WHO=two');
    await d.delete(context(dir, node, { previous: stateOf('kaidu:Process', node.properties, updated.attributes) }));
    expect(alive(pid2)).toBe(false);
  });

  it('kills a process that ignores SIGTERM after the grace period', async () => {
    const d = new ProcessDelegate({ dataDir: dir, runner: new RecordingRunner() });
    const node = desired('kaidu:Process', { command: ['node', '-e', 'process.on("SIGTERM",()=>{}); console.log("trapped"); setInterval(()=>{},1e6)'], stop_grace: 0.5 });
    const { attributes } = await d.create(context(dir, node));
    // Only once the handler is installed does the process really ignore SIGTERM.
    expect(await logContains(join(dir, 'logs', 'svc', 'n1.out.log'), 'trapped')).toContain('trapped');
    const started = Date.now();
    await d.delete(context(dir, node, { previous: stateOf('kaidu:Process', node.properties, attributes) }));
    expect(alive(attributes.pid as number)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('re-adopts by pid and start time after an agent restart; a recycled pid is not ours', async () => {
    const node = desired('kaidu:Process', { command: sleeper() });
    const { attributes } = await new ProcessDelegate({ dataDir: dir, runner: new RecordingRunner() }).create(context(dir, node));
    const fresh = new ProcessDelegate({ dataDir: dir, runner: new RecordingRunner() });
    const seen = await fresh.inspect(context(dir, node, { previous: stateOf('kaidu:Process', node.properties, attributes) }));
    expect(seen).toMatchObject({ exists: true, status: 'running' });
    const recycled = await fresh.inspect(context(dir, node, { previous: stateOf('kaidu:Process', node.properties, { ...attributes, start_time: '1' }) }));
    expect(recycled.exists).toBe(false);
    // Create after a crash that lost the state adopts the running copy: never two.
    const again = await fresh.create(context(dir, node));
    expect(again.attributes.pid).toBe(attributes.pid);
  });

  it('a process that dies at once fails with its exit code and the tail of stderr', async () => {
    const d = new ProcessDelegate({ dataDir: dir, runner: new RecordingRunner() });
    const err = await d.create(context(dir, desired('kaidu:Process', { command: ['/bin/sh', '-c', 'echo "no database configured" >&2; exit 3'] }))).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'E_PROCESS_EXITED' });
    expect((err as Error).message).toContain('exit code 3');
    expect((err as Error).message).toContain('no database configured');
  });

  it('reports a later exit as an event, through the supervisor’s exit file', async () => {
    const d = new ProcessDelegate({ dataDir: dir, runner: new RecordingRunner() });
    const exits: ExitEvent[] = [];
    const got = new Promise<void>((resolve) => {
      void d.create(context(dir, desired('kaidu:Process', { command: ['node', '-e', 'setTimeout(()=>process.exit(7), 800)'] }), { onExit: (e) => { exits.push(e); resolve(); } }));
    });
    await got;
    expect(exits[0]).toMatchObject({ nodeId: 'svc/n1', exitCode: 7 });
  });

  it('runs as a user-mode systemd unit when asked (commands pinned)', async () => {
    const runner = new RecordingRunner().on('systemctl --user show', { stdout: 'MainPID=4242\nActiveState=active\nLoadState=loaded\nResult=success\n' });
    const d = new ProcessDelegate({ dataDir: dir, runner });
    const r = await d.create(context(dir, desired('kaidu:Process', { command: ['/usr/bin/app', '--port', '80'], env: { A: '1' }, systemd: true, stop_grace: 5 }), { runner }));
    expect(runner.lines).toEqual([
      'systemd-run --user --unit=kaidu-svc-n1 --collect --property=KillMode=mixed --property=TimeoutStopSec=5 --setenv=A=1 -- /usr/bin/app --port 80',
      'systemctl --user show --property=MainPID,ActiveState,LoadState,Result kaidu-svc-n1.service',
    ]);
    expect(r.attributes).toMatchObject({ pid: 4242, status: 'active' });
  });
});
