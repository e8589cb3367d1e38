/**
 * The supervisor a managed process runs under. It is started detached, so it leads a new process
 * group (and session) that the real command joins. It records
 *
 *     <node>.pid   "<supervisorPid> <childPid> <childStartTime>\n"
 *
 * (the first number is the process-group leader: `kill -- -<first>` stops everything; the start
 * time is field 22 of /proc/<childPid>/stat, so a recycled pid is never mistaken for ours), and
 * when the child ends it writes, atomically,
 *
 *     <node>.exit  {"pid": childPid, "code": number|null, "signal": string|null, "at": ISO-8601}
 *
 * With KAIDU_SUPERVISOR_CGROUP set, it first moves itself into that cgroup (see cgroup.ts).
 *
 * The agent watches that folder with native file events, so an exit is noticed without polling,
 * even by an agent restarted long after it started the process.
 *
 * Kept as plain CommonJS text, written to `<dataDir>/run/supervisor.cjs` at first use and run with
 * `process.execPath`: it works the same from dist/ and from src/ under vitest.
 */
export const SUPERVISOR_SOURCE = String.raw`'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const [pidFile, exitFile, outLog, errLog, sep, ...argv] = process.argv.slice(2);
if (sep !== '--' || argv.length === 0) process.exit(2);
const writeAtomic = (file, text) => { const tmp = file + '.' + process.pid + '.tmp'; fs.writeFileSync(tmp, text); fs.renameSync(tmp, file); };
const out = fs.openSync(outLog, 'a');
const err = fs.openSync(errLog, 'a');
let childPid = null;
let done = false;
const finish = (code, signal) => {
  if (done) return;
  done = true;
  writeAtomic(exitFile, JSON.stringify({ pid: childPid, code, signal, at: new Date().toISOString() }) + '\n');
  process.exit(0);
};
// Join the node's cgroup before starting anything: all the command forks (even a setsid
// daemon) is then tracked with it. Failing to join is a failed start, never an untracked one.
const cgroup = process.env.KAIDU_SUPERVISOR_CGROUP;
delete process.env.KAIDU_SUPERVISOR_CGROUP;
if (cgroup) {
  try {
    fs.writeFileSync(cgroup + '/cgroup.procs', String(process.pid));
  } catch (e) {
    fs.writeSync(err, 'cannot join the cgroup ' + cgroup + ': ' + String((e && e.message) || e) + '\n');
    finish(125, null);
  }
}
let child;
try {
  // Run as another user: the agent (root) passes the ids here, the supervisor itself stays root.
  const ids = {};
  if (process.env.KAIDU_SUPERVISOR_UID) ids.uid = Number(process.env.KAIDU_SUPERVISOR_UID);
  if (process.env.KAIDU_SUPERVISOR_GID) ids.gid = Number(process.env.KAIDU_SUPERVISOR_GID);
  delete process.env.KAIDU_SUPERVISOR_UID;
  delete process.env.KAIDU_SUPERVISOR_GID;
  child = spawn(argv[0], argv.slice(1), Object.assign({ stdio: ['ignore', out, err], env: process.env }, ids));
} catch (e) {
  fs.writeSync(err, 'cannot start ' + argv[0] + ': ' + String((e && e.message) || e) + '\n');
  finish(127, null);
}
child.on('error', (e) => {
  fs.writeSync(err, 'cannot start ' + argv[0] + ': ' + e.message + '\n');
  finish(127, null);
});
if (child.pid) {
  childPid = child.pid;
  let start = '0';
  try {
    const stat = fs.readFileSync('/proc/' + child.pid + '/stat', 'utf8');
    start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] || '0';
  } catch (e) {}
  writeAtomic(pidFile, process.pid + ' ' + child.pid + ' ' + start + '\n');
}
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => { try { child.kill(s); } catch (e) {} });
child.on('exit', (code, signal) => finish(code, signal));
`;
