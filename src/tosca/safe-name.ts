/**
 * Names that become paths, cgroups and unit names on a host: services (from their file names),
 * node templates, hosts, and the instances Kaidu derives from them (`name#i`). A name from a
 * hostile repository must not be able to climb out of the folder it names (`..`), reach into
 * another (`a/b`), hide (`.x`) or smuggle control characters into logs and files.
 *
 * The rule: 1 to 128 letters, digits (of any script), `_`, `-` and `.`, starting with a letter, a
 * digit or `_`, never containing `..`. Folders are named after a name as it is, so no character
 * needs mapping and two names never share one folder (an instance's `#` is mapped to `@`, which
 * no name contains).
 */
import type { Diagnostic, SourceLocation } from './diagnostic.js';
import type { CompiledNode, CompileResult } from './model.js';
import { valuesOf } from './record-values.js';

export const SAFE_NAME_MAX = 128;
const SAFE_NAME = /^[\p{L}\p{N}_][\p{L}\p{N}\p{M}_.-]*$/u;
export const SAFE_NAME_RULE = 'letters, digits, "_", "-" and ".", starting with a letter, a digit or "_", without "..", at most 128 characters';

/** Why `name` is not safe, or undefined when it is. */
export function unsafeNameReason(name: string): string | undefined {
  if (name === '') return 'it is empty';
  // A key JavaScript objects give a meaning of their own: as a node's name it would set the
  // prototype of the record of nodes, not add one (nodes would then "exist" that no file declares).
  if (name === RESERVED_NAME) return 'it is reserved';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'it contains a control character';
  if (name.includes('/') || name.includes('\\')) return 'it contains a path separator';
  if (name.includes('..')) return 'it contains ".."';
  if (name.startsWith('.')) return 'it starts with a dot';
  if (name.length > SAFE_NAME_MAX) return `it is longer than ${SAFE_NAME_MAX} characters`;
  if (!SAFE_NAME.test(name)) return /^[-]/.test(name) ? 'it starts with "-"' : 'it contains a character other than letters, digits, "_", "-" and "."';
  return undefined;
}

/**
 * The common case without the Unicode-property pattern (every node of a big service is checked):
 * true only for ASCII names the full rule accepts; anything else goes to `unsafeNameReason`. A
 * pattern of ASCII classes runs as compiled code from its first use; a loop over the characters
 * ran interpreted for most of a 10,000-node service.
 */
const PLAIN_ASCII_SAFE = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]|\.(?!\.))*$/;

function plainAsciiSafe(name: string): boolean {
  return name.length <= SAFE_NAME_MAX && PLAIN_ASCII_SAFE.test(name) && name !== RESERVED_NAME;
}

export const RESERVED_NAME = '__proto__';

export function isSafeName(name: string): boolean {
  return plainAsciiSafe(name) || unsafeNameReason(name) === undefined;
}

/** A name as it may be shown in a message: control characters escaped, length bounded. */
export function showName(name: string): string {
  const s = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  return s;
}

export function unsafe(what: string, name: string, at: SourceLocation): Diagnostic {
  return {
    severity: 'error',
    code: 'E_TOSCA_UNSAFE_NAME',
    message: `${what} name ${showName(name)} is not allowed: ${unsafeNameReason(name)!}`,
    file: at.file,
    line: at.line,
    column: at.column,
    hint: `names become file and folder names on the hosts: use ${SAFE_NAME_RULE}`,
  };
}

/** The service's own name (its file name without `.yaml`), e.g. `services/web.yaml` → `web`. */
export function serviceNameOf(path: string): string {
  return (path.split('/').pop() ?? path).replace(/\.ya?ml$/, '');
}

/**
 * Diagnostics for every unsafe name a compiled service would put on a host: the service (its file
 * name), its node templates, and the hosts its `kaidu:Host` templates declare (`name` property).
 * `compiled`, when given, is the service's nodes in the order they were compiled into it.
 */
export function unsafeNameDiagnostics(entryPath: string, result: CompileResult, compiled?: readonly CompiledNode[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (result.typesOnly || !result.service) return out;
  const service = serviceNameOf(entryPath);
  if (!isSafeName(service)) out.push(unsafe('service', service, { file: entryPath, line: 1, column: 1 }));
  // In the record's order (listing a 100,000-key record costs more than the compile's own list,
  // which has that order unless a name is an array index: a record lists `7` before `a`).
  if (compiled && checkNodes(compiled, out, true)) return out;
  checkNodes(valuesOf(result.service.nodes), out, false);
  return out;
}

/**
 * Appends the nodes' problems to `out`. With `plainOrder`, false (and nothing appended) on a name
 * the record does not keep in order: one starting with a digit (a template named `__proto__`, which
 * is not a key of it either, is refused before it is compiled).
 */
function checkNodes(nodes: readonly CompiledNode[], out: Diagnostic[], plainOrder: boolean): boolean {
  const before = out.length;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    const name = node.name;
    if (plainOrder) {
      const c = name.charCodeAt(0);
      if (c >= 48 && c <= 57) {
        out.length = before;
        return false;
      }
    }
    if (!isSafeName(name)) out.push(unsafe('node template', name, node.source));
    if (node.types.includes('kaidu:Host') && typeof node.properties.name === 'string' && !isSafeName(node.properties.name)) out.push(unsafe('host', node.properties.name, node.source));
  }
  return true;
}
