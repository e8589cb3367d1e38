/**
 * `npm run bench -- [startup|compile|plan|replan|git|agent|hello|hello-two|containers|vm|fuzz|relay|fleet]...`: runs the named benchmarks (all by default) and
 * writes bench-report.json. Each benchmark reports its numbers with ratios against a baseline
 * measured in the same process, and the target it is meant to meet.
 */
import { readFile, writeFile } from 'node:fs/promises';

type Bench = () => Promise<Record<string, unknown>>;

const benches: Record<string, () => Promise<Bench>> = {
  startup: async () => (await import('./startup.js')).benchStartup,
  compile: async () => (await import('./compile.js')).benchCompile as Bench,
  plan: async () => (await import('./plan.js')).benchPlan,
  replan: async () => (await import('./replan.js')).benchReplan,
  git: async () => (await import('./git.js')).benchGit as Bench,
  agent: async () => (await import('./agent.js')).benchAgent,
  hello: async () => (await import('./hello.js')).benchHello,
  'hello-two': async () => (await import('./hello-two.js')).benchHelloTwoAgents,
  containers: async () => (await import('./containers.js')).benchContainers,
  vm: async () => (await import('./vm.js')).benchVm,
  fuzz: async () => (await import('./fuzz.js')).benchFuzz as Bench,
  relay: async () => (await import('./relay.js')).benchRelay,
  fleet: async () => (await import('./fleet/bench-fleet.js')).benchFleet,
};

async function main(): Promise<void> {
  const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const run = names.length ? names : Object.keys(benches);
  const unknown = run.filter((n) => !benches[n]);
  if (unknown.length) {
    console.error(`unknown benchmark: ${unknown.join(', ')} (known: ${Object.keys(benches).join(', ')})`);
    process.exit(2);
  }
  const file = 'bench-report.json';
  let report: Record<string, unknown> = {};
  try {
    report = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    // first run
  }
  for (const name of run) {
    console.log(`bench ${name}…`);
    const fn = await benches[name]!();
    const result = await fn();
    report[name] = { at: new Date().toISOString(), node: process.version, ...result };
    console.log(JSON.stringify(result, null, 2));
  }
  await writeFile(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
