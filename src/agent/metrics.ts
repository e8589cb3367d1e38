import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from './default-metrics.js';

/** The agent's Prometheus metrics, on a registry of its own (several agents can share a process in tests). */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly passes = new Counter({ name: 'kaidu_passes_total', help: 'Passes run, by result', labelNames: ['result'] as const, registers: [this.registry] });
  readonly passDuration = new Histogram({
    name: 'kaidu_pass_duration_seconds',
    help: 'Duration of a pass: fetch, compile, plan, apply, push',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly events = new Counter({ name: 'kaidu_events_total', help: 'Events received, by source', labelNames: ['source'] as const, registers: [this.registry] });
  readonly coalesced = new Counter({ name: 'kaidu_events_coalesced_total', help: 'Events folded into a pass already queued', registers: [this.registry] });
  readonly pushRetries = new Counter({ name: 'kaidu_push_retries_total', help: 'State pushes retried after a rejected push', registers: [this.registry] });
  readonly actions = new Counter({ name: 'kaidu_actions_total', help: 'Actions applied, by kind and outcome', labelNames: ['kind', 'outcome'] as const, registers: [this.registry] });
  readonly hubRetries = new Counter({ name: 'kaidu_hub_retries_total', help: 'Passes run again after the hub could not be reached or kept refusing a push', registers: [this.registry] });
  readonly stateRepairs = new Counter({ name: 'kaidu_state_repairs_total', help: "This host's damaged state files rebuilt from what runs", labelNames: ['service'] as const, registers: [this.registry] });
  readonly skippedServices = new Gauge({ name: 'kaidu_skipped_services', help: 'Services the last plan left alone because their templates have errors', registers: [this.registry] });
  readonly relaySent = new Counter({
    name: 'kaidu_relay_sent_total',
    help: 'Relayed copies sent to other agents, by result: delivered, retried (a try failed, another follows), failed (gave up after the last try), refused (the child answered 4xx)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly relayReceived = new Counter({
    name: 'kaidu_relay_received_total',
    help: 'Relayed copies received, by result: accepted, duplicate (another parent sent it first), loop, refused (signature, shape or age)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly eventsDropped = new Counter({
    name: 'kaidu_events_dropped_total',
    help: "Events that started no pass, by reason: state (a state push of a host this one does not depend on), own-state (this host's own state push)",
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly nodes = new Gauge({ name: 'kaidu_nodes', help: 'Nodes on this host, by status', labelNames: ['status'] as const, registers: [this.registry] });

  constructor(withDefaults = true) {
    if (withDefaults) collectProcessMetrics(this.registry, 'kaidu_');
  }
}
