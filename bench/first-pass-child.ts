/**
 * One agent-like first pass in a fresh process (`node first-pass-child.js <url> <dataDir>`):
 * clone the hub, list every file (the tree walk), read every file. Prints JSON: the module
 * import's CPU apart (start-up is not the first pass), then wall and CPU of each phase, the
 * clone's own steps (from its debug log) included.
 */
const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const importCpu0 = cpu();
const { openHub, phaseClock } = await import('../src/git/index.js');
const importCpuMs = cpu() - importCpu0;
const [url, dataDir] = process.argv.slice(2) as [string, string];
let clone: unknown;
const logger = { debug: (o: { phases?: unknown }, msg: string) => void (msg === 'cloned the hub' && (clone = o.phases)), info() {}, warn() {}, error() {} };
const phases: Record<string, { ms: number; cpuMs: number }> = {};
const phase = phaseClock(phases);
const hub = await openHub({ url, dataDir, branch: 'main', logger: logger as never });
phase('open');
const tip = await hub.fetch();
phase('clone');
const paths = await hub.changedPaths(undefined, tip);
phase('read_tree');
const reader = hub.reader(tip);
let bytes = 0;
for (const p of paths) {
  const f = await reader.readFile(p);
  if (!f) throw new Error(`first pass: ${p} missing`);
  bytes += f.text.length;
}
phase('read_blobs');
process.stdout.write(`${JSON.stringify({ importCpuMs, files: paths.length, bytes, phases, clone })}\n`);
