/**
 * Push → state commits of two agents (issue 16 gave 3.6 s until both of two agents had committed,
 * bench/baselines.json): `examples/hello`'s process and port, once on host `a` and once on host
 * `b`, each host with its own agent on one git http-backend hub. Each push changes both greetings,
 * so both agents update (stop, start, wait until the port accepts) and each pushes its own state
 * branch. Measured from the start of `git push` until the second of the two state commits naming
 * the pushed revision reached the hub (and, beside it, the first). At the end each state branch
 * must record its process running at the last revision, answering with its last greeting. Traffic
 * stays on 127.0.0.1. `KAIDU_BENCH_HELLO_PUSHES` sets the number of pushes (15).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseDocument, stringify } from 'yaml';
import { createBareRepo } from '../src/git/hub-server.js';
import { REVISION_TRAILER, stateBranch } from '../src/git/state-refs.js';
import { freePort } from '../src/demo/run-demo.js';
import { checkFinalState, median, stopHelloProcess } from './hello.js';
import { round } from './measure.js';
import { startWebhookHub, type PushReader } from './webhook-hub.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/kaidu.js');
const EXAMPLE = join(ROOT, 'examples/hello');
const HOSTS = ['a', 'b'] as const;
const PREVIOUS_MS = (JSON.parse(readFileSync(fileURLToPath(new URL('../../bench/baselines.json', import.meta.url)), 'utf8')) as { 'kaidu-previous': Record<string, number> })['kaidu-previous']['agent_push_to_state_two_agents_ms'];

/** The example's process and port once per host, each greeting naming its host and push. */
function twoHostService(exampleText: string, push: number): string {
  const example = parseDocument(exampleText).toJS() as { service_template: { node_templates: Record<string, { properties?: Record<string, unknown> }> } };
  const { hello, 'hello-port': port } = example.service_template.node_templates;
  if (!hello?.properties?.command || !port) throw new Error('examples/hello/services/hello.yaml no longer has hello and hello-port');
  const command = hello.properties.command;
  const nodes: Record<string, unknown> = {};
  HOSTS.forEach((h, i) => {
    nodes[h] = { type: 'kaidu:Host' };
    // The two "hosts" are one machine: each reserves from its own half of the example's range, as
    // two machines' agents could not collide.
    nodes[`hello-port-${h}`] = { ...port, properties: { range: [20000 + 500 * i, 20499 + 500 * i] }, requirements: [{ host: h }] };
    nodes[`hello-${h}`] = {
      type: 'kaidu:Process',
      properties: { command, env: { GREETING: `Hello ${h} ${push}`, PORT: { $get_attribute: [`hello-port-${h}`, 'port'] } } },
      requirements: [{ host: h }, { dependency: `hello-port-${h}` }],
    };
  });
  return stringify({ tosca_definitions_version: 'tosca_2_0', service_template: { node_templates: nodes } });
}

export async function benchHelloTwoAgents(): Promise<Record<string, unknown>> {
  const pushes = Number(process.env.KAIDU_BENCH_HELLO_PUSHES ?? 15);
  const dir = await mkdtemp(join(tmpdir(), 'kaidu-bench-hello-two-'));
  const secret = 'bench';
  await writeFile(join(dir, 'secret'), secret);
  const exampleText = await readFile(join(EXAMPLE, 'services/hello.yaml'), 'utf8');
  await createBareRepo(join(dir, 'hub'), 'hub.git', {
    files: { 'kaidu.yaml': await readFile(join(EXAMPLE, 'kaidu.yaml'), 'utf8'), 'services/hello.yaml': twoHostService(exampleText, 0) },
  });
  const { hub, url, pushes: hubPushes, deliverTo } = await startWebhookHub(join(dir, 'hub'), secret);
  const hubGitdir = join(dir, 'hub', 'hub.git');
  const agents: ChildProcess[] = [];
  const git = (cwd: string, ...args: string[]) => exec('git', ['-c', 'user.name=B', '-c', 'user.email=b@example.invalid', ...args], { cwd });
  const stateRefs = new Map(HOSTS.map((h) => [`refs/heads/${stateBranch(h)}`, h]));
  try {
    const ports = await Promise.all(HOSTS.map(() => freePort()));
    deliverTo(...ports.map((p) => `http://127.0.0.1:${p}`));
    // Until each host's first state commit (its catch-up pass) has reached the hub.
    const firsts = waitForStates(hubPushes(), stateRefs, async () => true);
    HOSTS.forEach((h, i) => {
      agents.push(spawn(process.execPath, [BIN, 'agent', '--repo', url, '--host', h, '--listen', `127.0.0.1:${ports[i]}`, '--data-dir', join(dir, `agent-${h}`), '--webhook-secret-file', join(dir, 'secret')], { stdio: 'ignore' }));
    });
    await firsts;
    const work = join(dir, 'work');
    await git(dir, 'clone', '-q', url, work);
    const both: number[] = [];
    const first: number[] = [];
    let oid = '';
    for (let i = 1; i <= pushes; i++) {
      await git(work, 'pull', '-q', '--rebase', 'origin', 'main');
      await writeFile(join(work, 'services', 'hello.yaml'), twoHostService(exampleText, i));
      await git(work, 'commit', '-qam', `greetings ${i}`);
      oid = (await git(work, 'rev-parse', 'HEAD')).stdout.trim();
      const names = async (after: string) => (await exec('git', ['--git-dir', hubGitdir, 'log', '-1', '--format=%B', after])).stdout.includes(`${REVISION_TRAILER}: ${oid}`);
      const t0 = performance.now();
      const states = waitForStates(hubPushes(), stateRefs, names);
      await git(work, 'push', '-q', 'origin', 'HEAD:main');
      const at = await states;
      first.push(Math.min(...at) - t0);
      both.push(Math.max(...at) - t0);
    }
    for (const h of HOSTS) await checkFinalState(work, oid, `Hello ${h} ${pushes}`, h, `hello-${h}`, `hello-port-${h}`);
    const p50 = median(both);
    return {
      example: 'examples/hello, its process and port on each of two hosts, one agent per host',
      pushes,
      push_to_both_state_commits_ms: both.map((x) => Math.round(x)),
      push_to_both_state_commits_p50_ms: round(p50, 0),
      push_to_first_state_commit_p50_ms: round(median(first), 0),
      previous_release_two_agents_ms: PREVIOUS_MS ?? null,
      ratio_to_previous_release: PREVIOUS_MS ? round(PREVIOUS_MS / p50) : null,
      goal: 'none of its own in issue 16 (the one-agent p50 < 800 ms is the hello bench); reported against the previous release',
    };
  } finally {
    for (const a of agents) {
      if (a.exitCode === null && a.signalCode === null) {
        a.kill('SIGTERM');
        await new Promise((r) => a.once('exit', r));
      }
    }
    for (const h of HOSTS) await stopHelloProcess(join(dir, `agent-${h}`, 'run'));
    await hub.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

/**
 * When (performance.now()) each host's state branch received a push that `accept` takes: the
 * hub's pushes are read in order, none missed, until every host has one.
 */
async function waitForStates(pushes: PushReader, refs: Map<string, string>, accept: (after: string) => Promise<boolean>): Promise<number[]> {
  const at = new Map<string, number>();
  while (at.size < refs.size) {
    const notice = await pushes.next();
    const t = performance.now();
    const host = refs.get(notice.ref);
    if (host === undefined || at.has(host)) continue;
    if (notice.before === notice.after) throw new Error(`the state push to ${notice.ref} did not move the branch`);
    if (await accept(notice.after)) at.set(host, t);
  }
  return [...at.values()];
}
