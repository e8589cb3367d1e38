/**
 * The supervisor a managed process runs under. It leads the process group, records
 * "<supervisorPid> <childPid>" in a pid file, and when the child ends writes its exit status to an
 * exit file (atomically). The agent watches that folder with native file events, so an exit is
 * noticed without polling, even by an agent restarted long after it started the process.
 * Kept as text: it is written next to the data it manages and run by `node`, from dist or src alike.
 */
export const SUPERVISOR_SOURCE = String.raw`'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const [pidFile, exitFile, outLog, errLog, sep, ...argv] = process.argv.slice(2);
if (sep !== '--' || argv.length === 0) process.exit(2);
const writeAtomic = (file, text) => { fs.writeFileSync(file + '.tmp', text); fs.renameSync(file + '.tmp', file); };
const out = fs.openSync(outLog, 'a');
const err = fs.openSync(errLog, 'a');
let child;
try {
  child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, err], env: process.env });
} catch (e) {
  fs.writeSync(err, String(e && e.message || e) + '\n');
  writeAtomic(exitFile, JSON.stringify({ code: 127, signal: null, at: new Date().toISOString() }));
  process.exit(0);
}
child.on('error', (e) => {
  fs.writeSync(err, 'cannot start ' + argv[0] + ': ' + e.message + '\n');
  writeAtomic(exitFile, JSON.stringify({ code: 127, signal: null, at: new Date().toISOString() }));
  process.exit(0);
});
if (child.pid) writeAtomic(pidFile, process.pid + ' ' + child.pid + '\n');
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => { try { child.kill(s); } catch {} });
child.on('exit', (code, signal) => {
  writeAtomic(exitFile, JSON.stringify({ code, signal, at: new Date().toISOString() }));
  process.exit(0);
});
`;
