import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { humanLine } from '../../src/cli/log-output.js';
import { killManaged } from '../support/agent-harness.js';
import { kaidu } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';

const exec = promisify(execFile);
let repo: string;

const service = (command: string) => `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    local: { type: kaidu:Host }
    app:
      type: kaidu:Process
      properties:
        command: ${command}
      requirements: [ { host: local } ]
`;

async function makeRepo(command: string): Promise<string> {
  const dir = tempDir('kaidu-apply-out-');
  await mkdir(join(dir, 'services'));
  await writeFile(join(dir, 'kaidu.yaml'), 'branch: main\n');
  await writeFile(join(dir, 'services', 'hello.yaml'), service(command));
  const git = (...args: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: dir });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-qm', 'one');
  return dir;
}

afterEach(async () => {
  if (repo) await killManaged(repo);
});

/** A stream that says it is a terminal, as `kaidu apply` in a shell sees it. */
function terminal(): { stream: Writable & { isTTY: boolean }; text: () => string } {
  let text = '';
  const stream = Object.assign(new Writable({ write(c, _e, cb) { text += String(c); cb(); } }), { isTTY: true });
  return { stream, text: () => text };
}

describe('kaidu apply output', () => {
  it('a failing action: human lines only on a terminal, no raw JSON, no colour with NO_COLOR', async () => {
    repo = await makeRepo('[/nonexistent/kaidu-no-such-program]');
    const out = terminal();
    const err = terminal();
    const code = await main(['apply', '--yes'], { stdout: out.stream, stderr: err.stream, cwd: repo, env: { NO_COLOR: '1', KAIDU_LOG_LEVEL: 'warn' } });
    expect(code).toBe(1);
    expect(out.text() + err.text()).toContain('FAILED');
    for (const line of (out.text() + err.text()).split('\n')) expect(line, line).not.toMatch(/^\{"level"/);
    expect(out.text() + err.text()).not.toMatch(/\x1b\[[0-9;]*m/);
    // The log records are there, as people read them, on stderr.
    expect(err.text()).toMatch(/^\d\d:\d\d:\d\d (WARN |ERROR) /m);
  });

  it('not a terminal: logs stay JSON lines on stderr, stdout has none', async () => {
    repo = await makeRepo('[/nonexistent/kaidu-no-such-program]');
    const r = await kaidu(['apply', '--yes'], repo, { KAIDU_LOG_LEVEL: 'warn' });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    for (const line of r.stdout.split('\n')) expect(line).not.toMatch(/^\{/);
    const json = r.stderr.split('\n').filter((l) => l.startsWith('{'));
    expect(json.length).toBeGreaterThan(0);
    for (const l of json) expect(() => JSON.parse(l)).not.toThrow();
  });

  it('formats a pino record for people, colour only when asked', () => {
    const rec = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 0, 1), pid: 1, hostname: 'h', name: 'kaidu', msg: 'action failed', node: 'web/app', err: { message: 'exit code 3', stack: '…' } });
    expect(humanLine(rec, false)).toBe('12:00:01 WARN  action failed node=web/app err="exit code 3"\n');
    expect(humanLine(rec, true)).toContain('\x1b[33mWARN \x1b[0m');
  });

  it('after the last service is removed, apply --yes takes the host from state/ and deletes its nodes', async () => {
    repo = await makeRepo('[node, -e, "setInterval(()=>{},1e6)"]');
    const first = await kaidu(['apply', '--yes'], repo);
    expect(first.code, first.stderr).toBe(0);
    await rm(join(repo, 'services', 'hello.yaml'));
    const second = await kaidu(['apply', '--yes'], repo);
    expect(second.stderr).not.toContain('name no kaidu:Host');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('- hello/app');
    const status = await kaidu(['status'], repo);
    expect(status.stdout).not.toContain('hello  app');
  });

  it('with neither templates nor state naming a host, says to pass --host', async () => {
    repo = await makeRepo('[x]');
    await rm(join(repo, 'services', 'hello.yaml'));
    const r = await kaidu(['apply', '--yes'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hint: pass --host NAME');
  });
});
