import perfHooks from 'node:perf_hooks';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentMetrics } from '../../src/agent/metrics.js';

describe('agent metrics', () => {
  afterEach(() => vi.restoreAllMocks());

  it('has the process metrics but arms no event-loop monitor (an idle agent must use no CPU)', async () => {
    const monitor = vi.spyOn(perfHooks, 'monitorEventLoopDelay');
    const metrics = new AgentMetrics();
    expect(monitor).not.toHaveBeenCalled();
    const text = await metrics.registry.metrics();
    for (const name of ['kaidu_process_cpu_user_seconds_total', 'kaidu_process_resident_memory_bytes', 'kaidu_nodejs_heap_size_used_bytes', 'kaidu_nodejs_gc_duration_seconds', 'kaidu_nodejs_version_info', 'kaidu_nodejs_eventloop_lag_seconds', 'kaidu_passes_total']) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    const lag = /^kaidu_nodejs_eventloop_lag_seconds (\S+)$/m.exec(text);
    expect(Number(lag?.[1])).toBeGreaterThan(0);

    // the spy does see prom-client's own default set arm it: this test can tell them apart
    collectDefaultMetrics({ register: new Registry(), eventLoopMonitoringPrecision: 1000 });
    expect(monitor).toHaveBeenCalled();
    (monitor.mock.results[0]!.value as { disable(): void }).disable();
  });
});
