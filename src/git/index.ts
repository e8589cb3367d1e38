/**
 * git: the only place that talks to git (through isomorphic-git, never a native binary).
 *
 * The surface is deliberately narrow:
 *
 * - `openHub({ url, dataDir, branch, auth?, logger?, idleTimeoutMs? }) → Hub`
 *   `url` is a smart-HTTP(S) URL (mirrored bare, without checkout, into `<dataDir>/hub.git`) or
 *   the path of a local bare or non-bare repository (opened directly, objects and refs written
 *   in place). Opening does no network I/O.
 * - `Hub.fetch()` → branch tip oid (first call clones: only the branch, no tags, no checkout);
 *   `Hub.tip()` → the tip known without network; `Hub.resolve(ref)` → commit oid.
 * - `Hub.changedPaths(from, to)` → sorted paths that differ; identical subtrees are skipped whole,
 *   so a one-file change costs a few tree reads whatever the repository's size.
 * - `Hub.reader(oid)` → a `SourceReader` over the tree at `oid` (file id = blob oid);
 *   `Hub.readBlob(oid, path)`; `Hub.commitMessage(oid)` → message, author, parents, trailers.
 * - `Hub.commitAndPush({ files, message, author, trailers }, { maxRetries })` → `{ oid, retries }`:
 *   writes only the new blobs, the changed subtrees and the commit on top of the tip, pushes
 *   exactly those objects, and on a rejection rebuilds the same change on the new tip.
 *
 * Never a working tree, never the index (isomorphic-git is 5-30x slower than git there); one
 * isomorphic-git `cache` per Hub. Errors are `KaiduError`s: E_GIT, E_GIT_NOT_FOUND,
 * E_GIT_PUSH_REJECTED, E_GIT_AUTH (401/403), E_GIT_UNREACHABLE (refused, DNS, timeout, 5xx);
 * no token ever appears in a message.
 *
 * `hub-server.ts` (a git http-backend server for tests and the demo) is imported on its own
 * path, not from here, so the agent does not load it.
 */
export { openHub, type Hub, type HubOptions, type CommitChange, type CommitMessage, type CommitResult } from './hub.js';
export type { GitAuth } from './auth.js';
export { parseTrailers, withTrailers } from './trailers.js';
export { gitError, redact } from './errors.js';
export { STATE_BRANCH_PREFIX, REVISION_TRAILER, stateBranch, stateBranchProblem, hostOfStateBranch, readStateBranches, tipOf, commitsBehind, type StateBranchTip, type ReadStateBranchesOptions } from './state-refs.js';
export { phaseClock, type Phases } from './phase-clock.js';
