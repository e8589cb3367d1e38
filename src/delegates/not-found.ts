/**
 * The runtimes' own "it does not exist" messages, matched exactly and for the one name asked about.
 * A failure that reads as "absent" is how a delete reports success while the container keeps
 * running (a loose /unknown|no such/ pattern once matched docker's "unknown shorthand flag"), so
 * anything not listed here is an error.
 *
 * The texts were collected by running the tools: podman 4.3 (and the shorter 5.x inspect texts),
 * docker client 20.10 and 28 against dockerd 20.10, virsh (libvirt 9.0), machinectl and systemctl (systemd 252).
 */

export type Absent = 'container' | 'pod' | 'image' | 'domain' | 'domain-not-running' | 'domifaddr-not-running' | 'machine' | 'unit';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Each line a tool prints for `name` when the thing is absent, as anchored patterns. */
function linesFor(tool: string, what: Absent, name: string): RegExp[] {
  const n = esc(name);
  const any = (...alts: string[]) => alts.map((a) => new RegExp(`^${a}$`));
  if (tool === 'podman') {
    if (what === 'container') return any(`Error: no container with name or ID "${n}" found: no such container`, `Error: (inspecting object: )?no such container:? ${n}`);
    if (what === 'pod') return any(`Error: no pod with name or ID "?${n}"? found: no such pod`, `Error: (inspecting object: )?no such pod:? ${n}`);
    if (what === 'image') return any(`Error: (inspecting object: )?${n}: image not known`);
  }
  if (tool === 'docker') {
    if (what === 'container') return any(`Error(: | response from daemon: )No such container: ${n}`);
    if (what === 'image') return any(`Error(: | response from daemon: )No such image: ${n}`, `Error response from daemon: no such image: ${n}: No such image: ${n}`);
  }
  if (tool === 'virsh') {
    if (what === 'domain') return any(`error: failed to get domain '${n}'`, `error: Domain not found: no domain with matching name '${n}'`);
    if (what === 'domain-not-running') return any(`error: Failed to destroy domain '?${n}'?`, `error: Requested operation is not valid: domain is not running`);
    // virsh 9.0 `domifaddr` of a defined domain that is shut off (it has no address to report).
    if (what === 'domifaddr-not-running') return any(`error: Failed to query for interfaces addresses`, `error: Requested operation is not valid: domain is not running`);
  }
  if (tool === 'machinectl' && what === 'machine') return any(`(Could not [^:]+: )?No machine '${n}' known\\.?`);
  // systemd 252 (`systemctl [--user] stop`); `show` of an unknown unit succeeds with LoadState=not-found.
  if (tool === 'systemctl' && what === 'unit') return any(`Failed to stop ${n}: Unit ${n} not loaded\\.`);
  return [];
}

/**
 * True only when every line of `stderr` is one of `tool`'s not-found messages for `name` (and
 * there is at least one): any other text, or a message about another name, is a real failure.
 */
export function saysAbsent(tool: string, what: Absent, name: string, stderr: string): boolean {
  const patterns = linesFor(tool.split('/').pop()!, what, name);
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.length > 0 && lines.every((l) => patterns.some((p) => p.test(l)));
}
