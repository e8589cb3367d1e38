import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../src/repository/settings.js';
import { agentUrl, resolveFleet } from '../../src/repository/fleet.js';
import type { HostInfo } from '../../src/topology/model.js';

const host = (name: string, address?: string): HostInfo => ({ name, node: `s/${name}`, labels: {}, ...(address ? { address } : {}) });
const at = (text: string) => parseSettings(text).diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);

describe('kaidu.yaml fleet:', () => {
  it('reads a URL pattern, per-host URLs, roots and the fan-out', () => {
    const { settings, diagnostics } = parseSettings('fleet:\n  url: http://{host}.lan:7070\n  hosts:\n    db-1: { url: "https://10.0.0.5:7443/kaidu" }\n  roots: [web-2, web-1]\n  fanout: 6\n');
    expect(diagnostics).toEqual([]);
    expect(settings.fleet).toEqual({ url: 'http://{host}.lan:7070', hosts: { 'db-1': { url: 'https://10.0.0.5:7443/kaidu' } }, roots: ['web-2', 'web-1'], fanout: 6 });
    expect(parseSettings('branch: main\n').settings.fleet).toBeUndefined();
  });

  it('reports every problem at its key or value (file:line:column), through the JSON Schema', () => {
    const text = [
      'fleet:', //                                1
      '  url: ftp://{host}/', //                  2
      '  roots: [ok, "../up"]', //                3
      '  fanout: 100', //                         4
      '  hosts:', //                              5
      '    "a/b": { url: "http://x/" }', //       6
      '    ok: { url: 3, port: 1 }', //           7
      '  colour: blue', //                        8
    ].join('\n');
    const got = at(text);
    expect(got).toContain('2:8 E_SETTINGS_FLEET fleet.url must be an http:// or https:// URL');
    expect(got).toContain('3:15 E_SETTINGS_FLEET fleet.roots.1 is not a host name');
    expect(got).toContain('4:11 E_SETTINGS_FLEET fleet.fanout must be <= 64');
    expect(got).toContain('6:5 E_SETTINGS_FLEET "a/b" in fleet.hosts is not a host name: it contains a path separator');
    expect(got).toContain('7:16 E_SETTINGS_FLEET fleet.hosts.ok.url must be string');
    expect(got).toContain('7:19 E_SETTINGS_FLEET unknown key "port" in fleet.hosts.ok');
    expect(got).toContain('8:3 E_SETTINGS_FLEET unknown key "colour" in fleet');
    expect(got).toHaveLength(7);
    expect(parseSettings(text).settings.fleet).toBeUndefined();
  });

  it('treats URLs as hostile: credentials, queries, other schemes, unknown placeholders and control characters are refused', () => {
    expect(at('fleet:\n  url: http://u:p@{host}:7070\n')).toEqual(['2:8 E_SETTINGS_FLEET fleet.url must not hold credentials (the relay signs with the webhook secret)']);
    expect(at('fleet:\n  url: http://{host}:7070/?a=b\n')[0]).toContain('must not have a query or a fragment');
    expect(at('fleet:\n  url: http://{hots}:7070\n')[0]).toContain('unknown placeholder');
    expect(at('fleet:\n  url: http://{host}:7070/{port}\n')[0]).toContain('unknown placeholder');
    expect(at('fleet:\n  hosts:\n    a: { url: "http://x/\\u0000" }\n')[0]).toContain('3:15 E_SETTINGS_FLEET fleet.hosts.a.url contains a space or a control character');
    expect(at('fleet:\n  hosts:\n    a: { url: "javascript:alert(1)" }\n')[0]).toContain('must be an http:// or https:// URL');
  });

  it('gives each host of the templates its URL: its own entry, the agents list, then the pattern; an address that could reshape the URL is refused', () => {
    const { settings } = parseSettings('agents:\n  - host: b\n    url: http://legacy:7070\nfleet:\n  url: http://{address}:7070\n  hosts:\n    a: { url: "http://own:1/" }\n  roots: [a, zz]\n');
    const fleet = resolveFleet({ a: host('a'), b: host('b'), c: host('c', '10.1.2.3'), d: host('d', 'fe80::1'), e: host('e', 'evil@x/'), f: host('f') }, settings)!;
    expect(Object.fromEntries(fleet.urls)).toEqual({ a: 'http://own:1/', b: 'http://legacy:7070', c: 'http://10.1.2.3:7070', d: 'http://[fe80::1]:7070' });
    expect(fleet.hosts).toEqual(['a', 'b', 'c', 'd']);
    expect(fleet.unreachable.map((u) => u.host)).toEqual(['e', 'f']);
    expect(fleet.unreachable[0]!.reason).toContain('is not a host name or an IP address');
    expect(fleet.unreachable[1]!.reason).toContain('has no address');
    expect(fleet.roots).toEqual(['a']);
    expect(fleet.unknownRoots).toEqual(['zz']);
    expect(agentUrl(host('web-1'), undefined, 'https://{host}.example/kaidu')).toEqual({ url: 'https://web-1.example/kaidu' });
    expect(resolveFleet({ a: host('a') }, { agents: [] })).toBeUndefined();
  });
});
