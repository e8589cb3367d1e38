/** What the real-container tests share: the stand-in image, running an engine's CLI, and why an engine cannot run here. */
import { execFileSync } from 'node:child_process';

export { freePort } from '../../src/demo/run-demo.js';

/** The busybox image `.ci/runtimes.sh up` seeds (from the loopback registry). */
export const TEST_IMAGE = process.env.KAIDU_TEST_IMAGE ?? 'docker.io/library/busybox:1.36';

/** Runs a command to its end; never throws (ok false with its stderr instead). */
export function runTool(argv: string[], timeoutMs = 30_000): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs }) };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? (e as Error).message) };
  }
}

/** Why `cli` cannot run the container tests here, or undefined when it can. */
export function engineUnavailable(cli: 'podman' | 'docker', image = TEST_IMAGE): string | undefined {
  const info = runTool([cli, 'info']);
  if (!info.ok) return `${cli} does not work here (${cli} info: ${info.out.trim().split('\n').pop() ?? 'failed'}); run .ci/runtimes.sh up`;
  const present = cli === 'podman' ? runTool(['podman', 'image', 'exists', image]) : runTool(['docker', 'image', 'inspect', image]);
  if (!present.ok) return `${image} is not in ${cli}'s local store; run .ci/runtimes.sh up`;
  return undefined;
}
