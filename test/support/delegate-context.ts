import { pino } from 'pino';
import type { CommandRunner, DelegateContext, DesiredNode } from '../../src/delegates/types.js';
import type { NodeState, PlainValue } from '../../src/state/model.js';
import { SystemCommandRunner } from '../../src/delegates/command-runner.js';

export function desired(type: string, properties: Record<string, PlainValue>, extra: Partial<DesiredNode> = {}): DesiredNode {
  const name = extra.name ?? 'n1';
  return { id: `svc/${name}`, service: 'svc', key: name, name, host: 'h', type, types: [type, 'tosca:Root'], properties, env: {}, interfaces: {}, artifacts: {}, fingerprint: 'fp', ...extra };
}

export function context(dataDir: string, node: DesiredNode, opts: { previous?: NodeState; runner?: CommandRunner; files?: Record<string, string>; reserved?: number[]; onExit?: DelegateContext['onExit'] } = {}): DelegateContext {
  return {
    node,
    ...(opts.previous ? { previous: opts.previous } : {}),
    host: 'h',
    dataDir,
    readRepoFile: async (p) => (opts.files?.[p] !== undefined ? Buffer.from(opts.files[p]!) : undefined),
    reservedPorts: new Set(opts.reserved ?? []),
    runner: opts.runner ?? new SystemCommandRunner(),
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
    ...(opts.onExit ? { onExit: opts.onExit } : {}),
  };
}

export function stateOf(type: string, properties: Record<string, PlainValue>, attributes: Record<string, PlainValue>): NodeState {
  return { type, fingerprint: 'fp', status: 'running', properties, attributes, revision: 'r', appliedAt: 'x' };
}
