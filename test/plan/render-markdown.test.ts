import { describe, expect, it } from 'vitest';
import { plan, renderMarkdown } from '../../src/plan/index.js';
import { codeSpan, fencedBlock } from '../../src/plan/render-markdown.js';
import { buildTopology, renderGraph } from '../../src/topology/index.js';
import { host, node, service } from '../support/compiled.js';

const SCRIPT = 'set -e\necho "`date`" > /tmp/x\necho done';

function topology() {
  return buildTopology([
    service('web', [
      host('h'),
      node('web-port', { type: 'kaidu:Port', host: 'h', properties: { protocol: 'tcp' } }),
      node('web_port', { type: 'kaidu:Port', host: 'h', properties: { protocol: 'udp' } }),
      node('app', { host: 'h', dependsOn: ['web-port', 'web_port'], properties: { command: ['sh', '-c', SCRIPT], note: 'uses `ticks` | pipes' } }),
    ]),
  ]);
}

const mermaidBlock = (md: string) => md.slice(md.indexOf('```mermaid'), md.indexOf('```', md.indexOf('```mermaid') + 3));

describe('plan markdown', () => {
  it('keeps web-port and web_port apart, with the same ids as graph --format mermaid', () => {
    const t = topology();
    const md = mermaidBlock(renderMarkdown(plan(t, {}, { revision: 'r1' })));
    const ids = [...md.matchAll(/^\s+(n_\S+)\[/gm)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(3);
    const graph = renderGraph(t, 'mermaid');
    for (const id of ids) expect(graph).toContain(`${id}[`);
  });

  it('labels the edges and has a legend', () => {
    const md = mermaidBlock(renderMarkdown(plan(topology(), {}, { revision: 'r1' })));
    expect(md).toMatch(/n_\S+ -->\|needs\| n_\S+/);
    expect(md).toContain('subgraph legend[');
    expect(md).toContain('legend_create["+ create"]');
  });

  it('shows backticks as they are and multi-line commands in fenced blocks', () => {
    const md = renderMarkdown(plan(topology(), {}, { revision: 'r1' }));
    expect(md).not.toContain('ˋ');
    expect(md).not.toContain('\\n');
    // The command, as YAML lines in a fence that its own backticks cannot close.
    expect(md).toContain('```yaml\n- sh\n- -c\n- |-\n  set -e\n  echo "`date`" > /tmp/x\n  echo done\n```');
    expect(md).toContain('| `command` |  | _(below)_ |');
    expect(md).toContain('| `note` |  | ``uses `ticks` \\| pipes`` |');
  });

  it('code spans and fences survive any run of backticks', () => {
    expect(codeSpan('a`b')).toBe('``a`b``');
    expect(codeSpan('`x')).toBe('`` `x ``');
    expect(fencedBlock('```\nx')).toBe('````\n```\nx\n````');
  });

});
