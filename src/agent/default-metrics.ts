/**
 * prom-client's standard process and Node.js metrics, without its event-loop delay monitor: that
 * one arms a 10 ms timer for the life of the process, and an agent that nothing happens to must
 * use no CPU (it cost 0.3 s a minute idle). The lag is measured when scraped instead.
 */
import { createRequire } from 'node:module';
import { Gauge, type Registry } from 'prom-client';

type Installer = (registry: Registry, config: { prefix?: string }) => void;

// Each of these reads its value when scraped (or from a GC observer); none runs a timer.
// prom-client 15 keeps them as separate modules; `collectDefaultMetrics` offers no way to leave one out.
const MODULES = [
  'processCpuTotal', 'processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors',
  'processHandles', 'processRequests', 'processResources', 'heapSizeAndUsed', 'heapSpacesSizeAndUsed', 'version', 'gc',
];

const load = createRequire(import.meta.url);

export function collectProcessMetrics(registry: Registry, prefix: string): void {
  for (const name of MODULES) (load(`prom-client/lib/metrics/${name}.js`) as Installer)(registry, { prefix });
  new Gauge({
    name: `${prefix}nodejs_eventloop_lag_seconds`,
    help: 'Lag of the event loop in seconds, measured when scraped',
    registers: [registry],
    async collect() {
      const start = process.hrtime.bigint();
      await new Promise((r) => setImmediate(r));
      this.set(Number(process.hrtime.bigint() - start) / 1e9);
    },
  });
}
