import type { Topology } from './model.js';
import { mermaidId, mermaidLabel } from './mermaid.js';

export type GraphFormat = 'mermaid' | 'dot' | 'json' | 'text';

function shortType(type: string): string {
  return type.replace(/^tosca\.nodes\./, 'tosca.').replace(/^kaidu:/, '');
}

/** Nodes grouped by host: the picture a sysadmin draws. `only` limits it to some instances. */
export function renderMermaid(t: Topology, only?: ReadonlySet<string>, highlight?: ReadonlyMap<string, string>): string {
  const lines = ['flowchart LR'];
  const byHost = new Map<string, string[]>();
  for (const n of Object.values(t.nodes)) {
    if (n.isHost || (only && !only.has(n.id))) continue;
    const key = n.host ?? '(unplaced)';
    (byHost.get(key) ?? byHost.set(key, []).get(key)!).push(n.id);
  }
  for (const host of [...byHost.keys()].sort()) {
    lines.push(`  subgraph ${mermaidId('host:' + host)}["${mermaidLabel(host)}"]`);
    for (const id of byHost.get(host)!) {
      const n = t.nodes[id]!;
      const mark = highlight?.get(id);
      lines.push(`    ${mermaidId(id)}["${mermaidLabel(`${mark ? mark + ' ' : ''}${n.name}${n.index !== undefined ? '#' + n.index : ''}`)}<br/><small>${mermaidLabel(shortType(n.template.type))}</small>"]`);
    }
    lines.push('  end');
  }
  for (const e of t.edges) {
    if (e.kind === 'host') continue;
    const s = t.nodes[e.source];
    const d = t.nodes[e.target];
    if (!s || !d || s.isHost || d.isHost) continue;
    if (only && !(only.has(e.source) && only.has(e.target))) continue;
    lines.push(`  ${mermaidId(e.source)} ${e.kind === 'connects' ? '-.->' : '-->'}|"${mermaidLabel(e.requirement)}"| ${mermaidId(e.target)}`);
  }
  if (highlight) {
    const classes: Record<string, string> = { '+': 'create', '~': 'update', '-': 'delete', '…': 'wait' };
    lines.push('  classDef create fill:#d4f7d4,stroke:#2a7a2a', '  classDef update fill:#fff3c4,stroke:#a07800', '  classDef delete fill:#ffd6d6,stroke:#a00000', '  classDef wait fill:#e0e8ff,stroke:#3050a0');
    for (const [id, mark] of highlight) if (classes[mark] && t.nodes[id]) lines.push(`  class ${mermaidId(id)} ${classes[mark]}`);
  }
  return lines.join('\n') + '\n';
}

export function renderDot(t: Topology): string {
  const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = ['digraph kaidu {', '  rankdir=LR;', '  node [shape=box, fontname="sans-serif"];'];
  const byHost = new Map<string, string[]>();
  for (const n of Object.values(t.nodes)) {
    if (n.isHost) continue;
    const key = n.host ?? '(unplaced)';
    (byHost.get(key) ?? byHost.set(key, []).get(key)!).push(n.id);
  }
  let i = 0;
  for (const host of [...byHost.keys()].sort()) {
    lines.push(`  subgraph cluster_${i++} {`, `    label=${q(host)};`);
    for (const id of byHost.get(host)!) lines.push(`    ${q(id)} [label=${q(`${t.nodes[id]!.name}\n${shortType(t.nodes[id]!.template.type)}`)}];`);
    lines.push('  }');
  }
  for (const e of t.edges) {
    if (e.kind === 'host' || t.nodes[e.target]?.isHost) continue;
    lines.push(`  ${q(e.source)} -> ${q(e.target)} [label=${q(e.requirement)}];`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

export function renderJson(t: Topology): string {
  return (
    JSON.stringify(
      {
        hosts: t.hosts,
        nodes: Object.values(t.nodes).map((n) => ({ id: n.id, service: n.service, name: n.name, ...(n.index !== undefined ? { index: n.index } : {}), type: n.template.type, host: n.host ?? null, isHost: n.isHost })),
        edges: t.edges.map((e) => ({ source: e.source, target: e.target, requirement: e.requirement, kind: e.kind, relationship: e.relationship.type })),
        diagnostics: t.diagnostics,
      },
      null,
      2,
    ) + '\n'
  );
}

/** A terminal picture: each host as a box-drawn tree of what runs on it and what it needs. */
export function renderText(t: Topology): string {
  const out: string[] = [];
  const byHost = new Map<string, string[]>();
  for (const n of Object.values(t.nodes)) {
    if (n.isHost) continue;
    const key = n.host ?? '(unplaced)';
    (byHost.get(key) ?? byHost.set(key, []).get(key)!).push(n.id);
  }
  const hostNames = [...new Set([...Object.keys(t.hosts), ...byHost.keys()])].sort();
  for (const host of hostNames) {
    const info = t.hosts[host];
    const labels = info && Object.keys(info.labels).length ? ' ' + Object.entries(info.labels).map(([k, v]) => `${k}=${v}`).join(',') : '';
    out.push(`▣ ${host}${info?.address ? ` (${info.address})` : ''}${labels}`);
    const ids = byHost.get(host) ?? [];
    ids.forEach((id, i) => {
      const n = t.nodes[id]!;
      const last = i === ids.length - 1;
      out.push(`${last ? '└─' : '├─'} ${n.service}/${n.name}${n.index !== undefined ? '#' + n.index : ''}  [${shortType(n.template.type)}]`);
      const needs = t.edges.filter((e) => e.source === id && e.kind !== 'host' && !t.nodes[e.target]?.isHost);
      for (const e of needs) {
        const target = t.nodes[e.target]!;
        const where = target.host && target.host !== host ? ` @ ${target.host}` : '';
        out.push(`${last ? '   ' : '│  '}   ${e.kind === 'connects' ? '⇢' : '→'} ${e.requirement}: ${target.service}/${target.name}${where}`);
      }
    });
    out.push('');
  }
  return out.join('\n');
}

export function renderGraph(t: Topology, format: GraphFormat): string {
  switch (format) {
    case 'mermaid':
      return renderMermaid(t);
    case 'dot':
      return renderDot(t);
    case 'json':
      return renderJson(t);
    case 'text':
      return renderText(t);
  }
}
