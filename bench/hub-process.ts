/**
 * The benches' git server in a process of its own (`node hub-process.js <root>`): prints the
 * server's URL, closes when its standard input ends. Apart, so the server's own CPU is not
 * counted as the client's.
 */
import { startHubServer } from '../src/git/hub-server.js';

const server = await startHubServer({ root: process.argv[2]! });
process.stdout.write(`${server.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
