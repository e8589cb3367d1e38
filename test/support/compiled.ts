/** Builds small `CompiledService`s by hand, for tests of layers above the compiler. */
import type { CompiledNode, CompiledPolicy, CompiledService, Value } from '../../src/tosca/model.js';

const CHAINS: Record<string, string[]> = {
  'kaidu:Host': ['kaidu:Host', 'tosca:Root'],
  'kaidu:Process': ['kaidu:Process', 'tosca:Root'],
  'kaidu:Port': ['kaidu:Port', 'tosca:Root'],
  'kaidu:Directory': ['kaidu:Directory', 'tosca:Root'],
  'kaidu:ConfigFile': ['kaidu:ConfigFile', 'tosca:Root'],
  'kaidu:HostedOn': ['kaidu:HostedOn', 'tosca:HostedOn', 'tosca:Root'],
  'kaidu:DependsOn': ['kaidu:DependsOn', 'tosca:DependsOn', 'tosca:Root'],
  'kaidu:ConnectsTo': ['kaidu:ConnectsTo', 'tosca:ConnectsTo', 'tosca:Root'],
  'kaidu:Placement': ['kaidu:Placement', 'tosca:Root'],
  'kaidu:Spread': ['kaidu:Spread', 'tosca:Root'],
};

export interface NodeSpec {
  type?: string;
  properties?: Record<string, Value>;
  host?: string;
  dependsOn?: string[];
  connectsTo?: string[];
}

export function node(name: string, spec: NodeSpec, file = 'services/svc.yaml', line = 1): CompiledNode {
  const type = spec.type ?? 'kaidu:Process';
  const rel = (t: string) => ({ type: t, types: CHAINS[t] ?? [t], properties: {}, attributes: {}, interfaces: {} });
  const src = { file, line, column: 5 };
  return {
    name,
    type,
    types: CHAINS[type] ?? [type],
    metadata: {},
    directives: [],
    properties: spec.properties ?? {},
    attributes: {},
    capabilities: {},
    requirements: [
      ...(spec.host ? [{ name: 'host', target: spec.host, relationship: rel('kaidu:HostedOn'), source: src }] : []),
      ...(spec.dependsOn ?? []).map((t) => ({ name: 'dependency', target: t, relationship: rel('kaidu:DependsOn'), source: src })),
      ...(spec.connectsTo ?? []).map((t) => ({ name: 'connection', target: t, relationship: rel('kaidu:ConnectsTo'), source: src })),
    ],
    interfaces: {},
    artifacts: {},
    source: src,
  };
}

export function host(name: string, labels: Record<string, string> = {}): CompiledNode {
  return node(name, { type: 'kaidu:Host', properties: { labels } });
}

export function policy(name: string, type: 'kaidu:Placement' | 'kaidu:Spread', targets: string[], properties: Record<string, Value>): CompiledPolicy {
  return { name, type, types: CHAINS[type]!, targets, properties, source: { file: 'services/svc.yaml', line: 1, column: 1 } };
}

export function service(name: string, nodes: CompiledNode[], policies: CompiledPolicy[] = []): CompiledService {
  return {
    name,
    file: `services/${name}.yaml`,
    toscaVersion: 'tosca_2_0',
    metadata: {},
    inputs: {},
    outputs: {},
    nodes: Object.fromEntries(nodes.map((n) => [n.name, n])),
    groups: {},
    policies,
    workflows: {},
  };
}

export const getAttribute = (...args: Value[]): Value => ({ $fn: 'get_attribute', args });
