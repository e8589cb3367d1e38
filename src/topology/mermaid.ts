/**
 * Mermaid ids and labels, one scheme for every renderer (the topology graph, the plan's
 * markdown): ids are injective, so `web-port` and `web_port` stay two nodes.
 */

/** `n_` + the name with every character outside [A-Za-z0-9] written as `_<hex>_`. */
export function mermaidId(name: string): string {
  return 'n_' + name.replace(/[^A-Za-z0-9]/g, (c) => `_${c.codePointAt(0)!.toString(16)}_`);
}

/** Text inside `["…"]`: mermaid's entity codes for the characters that end or break a label. */
export function mermaidLabel(text: string): string {
  return text.replace(/[#"<>`]/g, (c) => ({ '#': '#35;', '"': '#quot;', '<': '#lt;', '>': '#gt;', '`': '#96;' })[c]!);
}
