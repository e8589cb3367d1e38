import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  builtinDelegates,
  DelegateRegistry,
  hasScriptOperations,
  inputEnvName,
  parseOutputs,
  recordOnly,
  RecordingRunner,
  ScriptDelegate,
  SystemCommandRunner,
  type Delegate,
  type DelegateContext,
} from '../../src/delegates/index.js';
import type { CompiledInterface, Value } from '../../src/tosca/model.js';
import { context, desired, stateOf } from '../support/delegate-context.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-reg-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A delegate that only writes down what it was asked. */
function fake(name: string, handles: string[], log: string[]): Delegate {
  return {
    name,
    handles,
    async create(ctx) {
      log.push(`${name}.create ${ctx.node.id}`);
      return { attributes: { made_by: name } };
    },
    async update(ctx) {
      log.push(`${name}.update ${ctx.node.id}`);
      return { attributes: { made_by: name } };
    },
    async delete(ctx) {
      log.push(`${name}.delete ${ctx.node.id}`);
    },
    async inspect() {
      return { exists: true, status: 'running', attributes: { seen_by: name } };
    },
  };
}

function standard(ops: Record<string, string>, inputs: Record<string, Value> = {}, opOutputs: Record<string, string[]> = {}): Record<string, CompiledInterface> {
  return {
    Standard: {
      type: 'tosca:Standard',
      types: ['tosca:Standard'],
      inputs,
      operations: Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, { implementation: v, dependencies: [], inputs: {}, outputs: opOutputs }])),
    },
  };
}

/** Each script appends its operation name to a log file in the data dir. */
const logScript = (log: string) => `#!/bin/sh\necho "$KAIDU_OPERATION" >> "${log}"\n`;

describe('DelegateRegistry', () => {
  it('selects by the most-derived type that has a delegate; undefined without one (or the fallback)', () => {
    const log: string[] = [];
    const base = fake('base', ['acme:Base'], log);
    const special = fake('special', ['acme:Special'], log);
    const r = new DelegateRegistry().register(base).register(special);
    expect(r.select({ types: ['acme:Special', 'acme:Base', 'tosca:Root'] })).toBe(special);
    expect(r.select({ types: ['acme:Other', 'acme:Base', 'tosca:Root'] })).toBe(base);
    expect(r.select({ types: ['tosca:Compute', 'tosca:Root'] })).toBeUndefined();
    expect(new DelegateRegistry({ fallback: recordOnly }).select({ types: ['tosca:Compute'] })).toBe(recordOnly);
    expect(r.byName('special')).toBe(special);
    expect(r.describe()).toEqual({ base: ['acme:Base'], special: ['acme:Special'] });
  });

  it('has every built-in, and records kaidu:Host and types Kaidu does not act on', () => {
    const r = builtinDelegates({ dataDir: dir, runner: new RecordingRunner() });
    const names = (t: string) => r.select({ types: [t, 'tosca:Root'] })?.name;
    expect(['kaidu:Process', 'kaidu:Port', 'kaidu:Directory', 'kaidu:ConfigFile', 'kaidu:Container', 'kaidu:Pod', 'kaidu:Distrobox', 'kaidu:Nspawn', 'kaidu:VirtualMachine', 'kaidu:Host', 'tosca.nodes.Compute'].map(names)).toEqual([
      'process',
      'port',
      'directory',
      'config-file',
      'container',
      'pod',
      'distrobox',
      'nspawn',
      'virtual-machine',
      'record-only',
      'record-only',
    ]);
    expect(r.byName('record-only')).toBe(recordOnly);
  });

  it('layers Standard scripts over the built-in delegate; the state name finds the same pair again', () => {
    const log: string[] = [];
    const r = new DelegateRegistry().register(fake('process', ['kaidu:Process'], log));
    const d = r.select({ types: ['kaidu:Process'], interfaces: standard({ configure: 'x.sh' }) })!;
    expect(d).toBeInstanceOf(ScriptDelegate);
    expect(d.name).toBe('script+process');
    expect(r.byName('script+process')?.name).toBe('script+process');
    expect(r.select({ types: ['tosca:SoftwareComponent'], interfaces: standard({ create: 'x.sh' }) })!.name).toBe('script');
    expect(r.byName('script')).toBeInstanceOf(ScriptDelegate);
    expect(r.byName('script+nothing')).toBeUndefined();
    // A URL implementation is not a repository script.
    expect(r.select({ types: ['kaidu:Process'], interfaces: standard({ create: 'https://example.com/x' }) })!.name).toBe('process');
  });
});

describe('operation scripts', () => {
  it('hasScriptOperations takes a node or its interfaces, whatever the Standard interface is called', () => {
    expect(hasScriptOperations(desired('tosca:Root', {}, { interfaces: standard({ create: 'a.sh' }) }))).toBe(true);
    expect(hasScriptOperations(standard({ create: 'a.sh' }))).toBe(true);
    expect(hasScriptOperations({ Lifecycle: { ...standard({ start: 'a.sh' }).Standard!, types: ['tosca.interfaces.node.lifecycle.Standard'] } })).toBe(true);
    expect(hasScriptOperations(desired('tosca:Root', {}))).toBe(false);
    expect(hasScriptOperations({ Custom: { ...standard({ start: 'a.sh' }).Standard!, types: ['acme:Custom'] } })).toBe(false);
  });

  it('parses name=value lines and name<<EOF blocks; inputs become UPPER_SNAKE names', () => {
    expect(parseOutputs('a=1\nurl=http://x/?q=1\ncert<<EOF\n-----BEGIN\nabc\nEOF\n\nnoequals\n')).toEqual({ a: '1', url: 'http://x/?q=1', cert: '-----BEGIN\nabc' });
    expect(inputEnvName('http-port')).toBe('HTTP_PORT');
    expect(inputEnvName('db.user name')).toBe('DB_USER_NAME');
  });

  it('scripts replace the steps they define: all three lifecycle scripts mean no built-in create', async () => {
    const log: string[] = [];
    const opLog = join(dir, 'ops.log');
    const files = { 'c.sh': logScript(opLog), 'g.sh': logScript(opLog), 's.sh': logScript(opLog) };
    const r = new DelegateRegistry().register(fake('process', ['kaidu:Process'], log));
    const node = desired('kaidu:Process', {}, { interfaces: standard({ create: 'c.sh', configure: 'g.sh', start: 's.sh' }) });
    await r.select(node)!.create(context(dir, node, { files }));
    expect(log).toEqual([]);
    expect(await readFile(opLog, 'utf8')).toBe('create\nconfigure\nstart\n');
  });

  it('around a built-in delegate: create script, built-in create, configure; delete after the node is gone from the templates', async () => {
    const log: string[] = [];
    const opLog = join(dir, 'ops.log');
    const files = { 'c.sh': logScript(opLog), 'g.sh': logScript(opLog), 'stop.sh': logScript(opLog), 'del.sh': logScript(opLog) };
    const r = new DelegateRegistry().register(fake('process', ['kaidu:Process'], log));
    const node = desired('kaidu:Process', {}, { interfaces: standard({ create: 'c.sh', configure: 'g.sh', stop: 'stop.sh', delete: 'del.sh' }) });
    const d = r.select(node)!;
    const made = await d.create(context(dir, node, { files }));
    expect(made.attributes).toEqual({ made_by: 'process' });
    expect(await readFile(opLog, 'utf8')).toBe('create\nconfigure\n');
    // Apply deletes with the name from the state and a node without interfaces, at a revision
    // where the scripts may be gone: the copies made at create run.
    const again = r.byName(d.name)!;
    const gone = desired('kaidu:Process', {});
    expect((await again.inspect(context(dir, gone))).attributes).toEqual({ seen_by: 'process' });
    await again.delete(context(dir, gone, { previous: stateOf('kaidu:Process', {}, made.attributes) }));
    expect(await readFile(opLog, 'utf8')).toBe('create\nconfigure\nstop\ndelete\n');
    // stop and delete are both scripts: the built-in delete did not run.
    expect(log).toEqual(['process.create svc/n1']);
    await expect(stat(join(dir, 'run', 'scripts', 'svc', 'n1'))).rejects.toThrow();
  });

  it('update runs stop, the built-in update, configure, start; outputs keep the previous attributes', async () => {
    const log: string[] = [];
    const opLog = join(dir, 'ops.log');
    const files = { 'stop.sh': logScript(opLog), 'g.sh': `${logScript(opLog)}echo "config_version=2" >> "$KAIDU_OUTPUTS"\n` };
    const r = new DelegateRegistry().register(fake('port', ['kaidu:Port'], log));
    const node = desired('kaidu:Port', {}, { interfaces: standard({ stop: 'stop.sh', configure: 'g.sh' }) });
    const res = await r.select(node)!.update(context(dir, node, { files, previous: stateOf('kaidu:Port', {}, { port: 20001, config_version: '1' }) }));
    expect(res.attributes).toEqual({ port: 20001, made_by: 'port', config_version: '2' });
    expect(log).toEqual(['port.update svc/n1']);
    expect(await readFile(opLog, 'utf8')).toBe('stop\nconfigure\n');
  });

  it('passes inputs, injected env and KAIDU_* variables; maps TOSCA 2.0 outputs to attributes; runs without a shebang', async () => {
    const files = {
      'start.sh': [
        'echo "inputs=$PORT,$OPTIONS,$DB_HOST" >> "$KAIDU_OUTPUTS"',
        'echo "who=$KAIDU_NODE@$KAIDU_HOST in $KAIDU_SERVICE" >> "$KAIDU_OUTPUTS"',
        'echo "listen=$PORT" >> "$KAIDU_OUTPUTS"',
        '',
      ].join('\n'),
    };
    const iface = standard({ start: 'start.sh' }, { port: 8080, options: { tls: true } }, { listen: ['SELF', 'http_port'] });
    const node = desired('tosca:SoftwareComponent', {}, { interfaces: iface, env: { DB_HOST: '10.0.0.9' } });
    const d = new DelegateRegistry().select(node)!;
    const r = await d.create(context(dir, node, { files }));
    expect(r.attributes).toEqual({ inputs: '8080,{"tls":true},10.0.0.9', who: 'svc/n1@h in svc', http_port: '8080' });
    expect((await stat(join(dir, 'run', 'scripts', 'svc', 'n1', 'start-start.sh'))).mode & 0o777).toBe(0o700);
  });

  it('a failing script is E_COMMAND_FAILED naming the operation and showing the stderr tail; a missing one is E_DELEGATE', async () => {
    const files = { 'bad.sh': '#!/bin/sh\necho "step 1 ok"\necho "cannot bind 0.0.0.0:80" >&2\nexit 9\n' };
    const node = desired('tosca:SoftwareComponent', {}, { interfaces: standard({ configure: 'bad.sh' }) });
    const err = await new ScriptDelegate(undefined).create(context(dir, node, { files })).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'E_COMMAND_FAILED' });
    expect((err as Error).message).toMatch(/svc\/n1: the configure script bad\.sh exited with 9\ncannot bind 0\.0\.0\.0:80/);
    const missing = desired('tosca:SoftwareComponent', {}, { interfaces: standard({ configure: 'nope.sh' }) });
    await expect(new ScriptDelegate(undefined).create(context(dir, missing, { files }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('nope.sh is not in the repository') });
  });

  it('refuses operation inputs that are still function calls', async () => {
    const iface = standard({ start: 'start.sh' }, { addr: { $fn: 'get_attribute', args: ['SELF', 'address'] } as unknown as Value });
    const node = desired('tosca:SoftwareComponent', {}, { interfaces: iface });
    await expect(new ScriptDelegate(undefined).create(context(dir, node, { files: { 'start.sh': 'true\n' } }))).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('input "addr"') });
  });

  it('honours the operation timeout', async () => {
    const iface = standard({ start: 'slow.sh' });
    iface.Standard!.operations.start!.timeout = 0.3;
    const node = desired('tosca:SoftwareComponent', {}, { interfaces: iface });
    const ctx: DelegateContext = context(dir, node, { files: { 'slow.sh': '#!/bin/sh\nsleep 20\n' }, runner: new SystemCommandRunner() });
    await expect(new ScriptDelegate(undefined).create(ctx)).rejects.toMatchObject({ code: 'E_COMMAND_TIMEOUT' });
  });
});
