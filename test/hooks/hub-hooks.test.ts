/**
 * The hub's git hooks, run by the native git client on a real bare repository: pre-receive refuses
 * templates that do not compile, post-receive tells the agents. Needs the built CLI (`npm test`
 * builds it first) and `kaidu validate`.
 */
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../review/http-receiver.js';
import { cliIsBuilt, createSandbox, REPO_ROOT } from './git-sandbox.js';

const TOKEN = 'hub-token-123';

const VALID_SERVICE = `tosca_definitions_version: tosca_2_0
description: a tiny HTTP server

service_template:
  node_templates:
    host-a:
      type: kaidu:Host
    hello-port:
      type: kaidu:Port
      properties:
        protocol: tcp
      requirements:
        - host: host-a
    hello:
      type: kaidu:Process
      properties:
        command: [node, -e, "require('http').createServer((q, s) => s.end('hi')).listen(process.env.PORT)"]
        env:
          PORT: { $get_attribute: [hello-port, port] }
      requirements:
        - host: host-a
        - dependency: hello-port
`;

/** Line 8 names a type that does not exist (the diagnostic may point at it or at the node, line 7). */
const INVALID_SERVICE = `tosca_definitions_version: tosca_2_0

service_template:
  node_templates:
    host-a:
      type: kaidu:Host
    broken:
      type: kaidu:NoSuchType
      requirements:
        - host: host-a
`;

const settings = (agents: string[]) =>
  `branch: main\nservices_dir: services\nstate_dir: state\nagents:\n${agents.map((url, i) => `  - host: host-${i}\n    url: ${url}\n`).join('')}`;

let agent: Receiver | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
});

beforeAll(() => {
  if (!cliIsBuilt()) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.build.json` (npm test does it first)');
});

describe('hub hooks', () => {
  it('accepts valid templates and notifies every agent; an unreachable agent does not fail the push', async () => {
    agent = await startReceiver((r) => (r.headers.authorization === `Bearer ${TOKEN}` ? 202 : 401));
    const sb = createSandbox({ KAIDU_HOOK_TOKEN: TOKEN });
    sb.installHubHook('pre-receive');
    sb.installHubHook('post-receive');
    const sha = sb.commit({ 'kaidu.yaml': settings([agent.url, 'http://127.0.0.1:9']), 'services/hello.yaml': VALID_SERVICE }, 'hello');
    const push = await sb.gitAsync(['push', '-q', 'origin', 'main']);
    expect(push.stderr).not.toContain('refused');
    expect(push.status).toBe(0);
    expect(agent.received).toHaveLength(1);
    const r = agent.received[0]!;
    expect(r.url).toBe('/hooks/generic');
    expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
    // `before` (the hook's oldrev) lets receivers tell this push from a later one back to the same commit.
    expect(JSON.parse(r.raw.toString())).toEqual({ ref: 'refs/heads/main', after: sha, before: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(push.stderr).toContain('could not notify host-1');
    expect(readFileSync(sb.calls, 'utf8')).toContain('validate');
  });

  it('refuses templates that do not compile, and shows the diagnostic with file and line', async () => {
    agent = await startReceiver();
    const sb = createSandbox({ KAIDU_HOOK_TOKEN: TOKEN });
    sb.installHubHook('pre-receive');
    sb.installHubHook('post-receive');
    sb.commit({ 'kaidu.yaml': settings([agent.url]), 'services/broken.yaml': INVALID_SERVICE }, 'broken');
    const push = await sb.gitAsync(['push', 'origin', 'main']);
    expect(push.status).not.toBe(0);
    expect(push.stderr).toContain('remote: kaidu: push to refs/heads/main refused');
    expect(push.stderr).toMatch(/remote: .*services\/broken\.yaml:[78]:/);
    expect(push.stderr).toMatch(/pre-receive hook declined/);
    expect(agent.received).toHaveLength(0);
    // The hub did not take it.
    expect(sb.git(['rev-parse', '--verify', '-q', 'refs/heads/main'], sb.hub).status).not.toBe(0);
  });

  it('lets a push that only touches state/ through without validating (agents’ state commits)', async () => {
    agent = await startReceiver();
    const sb = createSandbox({ KAIDU_HOOK_TOKEN: TOKEN });
    const first = sb.commit({ 'kaidu.yaml': settings([agent.url]), 'services/hello.yaml': VALID_SERVICE }, 'hello');
    expect((await sb.gitAsync(['push', '-q', 'origin', 'main'])).status).toBe(0); // before the hooks: no validation yet
    sb.installHubHook('pre-receive');
    sb.installHubHook('post-receive');
    // Even a broken service already on the hub must not block an agent's state commit.
    const sha = sb.commit({ 'state/host-0/hello.yaml': 'schema: kaidu/state/v1\nhost: host-0\nservice: hello\nnodes: {}\n' }, 'state: host-0');
    const push = await sb.gitAsync(['push', '-q', 'origin', 'main']);
    expect(push.status).toBe(0);
    expect(readFileSync(sb.calls, 'utf8')).not.toContain('validate');
    // post-receive still tells the agents: other hosts may depend on that state.
    expect(JSON.parse(agent.received[0]!.raw.toString())).toEqual({ ref: 'refs/heads/main', after: sha, before: first });
  });

  it('ignores other branches and deletions', async () => {
    agent = await startReceiver();
    const sb = createSandbox({ KAIDU_HOOK_TOKEN: TOKEN });
    sb.installHubHook('pre-receive');
    sb.installHubHook('post-receive');
    sb.git(['checkout', '-q', '-b', 'wip']);
    sb.commit({ 'kaidu.yaml': settings([agent.url]), 'services/broken.yaml': INVALID_SERVICE }, 'work in progress');
    expect((await sb.gitAsync(['push', '-q', 'origin', 'wip'])).status).toBe(0);
    expect((await sb.gitAsync(['push', '-q', 'origin', ':wip'])).status).toBe(0);
    expect(agent.received).toHaveLength(0);
    expect(readFileSync(sb.calls, 'utf8')).not.toContain('validate');
  });
});

describe('pre-commit hook (user repository)', () => {
  it('refuses a commit whose staged templates do not compile, and lets a valid one through', () => {
    const sb = createSandbox();
    copyFileSync(join(REPO_ROOT, 'hooks', 'pre-commit'), join(sb.work, '.git', 'hooks', 'pre-commit'));
    chmodSync(join(sb.work, '.git', 'hooks', 'pre-commit'), 0o755);
    writeFileSync(join(sb.work, 'kaidu.yaml'), settings([]));
    mkdirSync(join(sb.work, 'services'));
    writeFileSync(join(sb.work, 'services', 'broken.yaml'), INVALID_SERVICE);
    sb.git(['add', '-A']);
    const bad = sb.git(['commit', '-m', 'broken']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr + bad.stdout).toMatch(/services\/broken\.yaml:[78]:/);
    expect(bad.stderr).toContain('commit refused');
    // Fixed in the working tree but not staged: still refused, the index is what is committed.
    writeFileSync(join(sb.work, 'services', 'broken.yaml'), VALID_SERVICE);
    expect(sb.git(['commit', '-m', 'still broken']).status).not.toBe(0);
    sb.git(['add', '-A']);
    const good = sb.git(['commit', '-m', 'fixed']);
    expect(good.stderr).not.toContain('refused');
    expect(good.status).toBe(0);
  });
});
