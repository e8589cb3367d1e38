/**
 * "Is it listening inside": a namespace's /proc tables, read from the outside (the one mechanism
 * every NestedHost's `listening` uses). Real sockets of this test process, read through a real
 * runner; a process that is gone or a read that fails is an error, never "not listening".
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RecordingRunner, SystemCommandRunner } from '../../src/delegates/index.js';
import { listensInNamespaceVia, listensInTable } from '../../src/delegates/published-port.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

describe('listening inside a network namespace', () => {
  it('reads a TCP socket in LISTEN, and a bound UDP socket, on the port asked about only', () => {
    const tcp = `${HEADER}   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n   1: 0100007F:1F91 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n`;
    expect(listensInTable(tcp, 8080)).toBe(true);
    // Port 8081 only has an established connection: not listening.
    expect(listensInTable(tcp, 8081)).toBe(false);
    // A peer's port (remote address) never counts.
    expect(listensInTable(tcp, 0x9c40)).toBe(false);
    const udp = `${HEADER}  10: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3 2\n`;
    expect(listensInTable(udp, 5353, 'udp')).toBe(true);
    expect(listensInTable(udp, 5353, 'tcp')).toBe(false);
  });

  it('through a runner: this process\'s sockets, tcp and udp; a closed port is not listening', async () => {
    const runner = new SystemCommandRunner();
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const udp = createSocket('udp6');
    await new Promise<void>((r) => udp.bind(0, '::1', r));
    const udpPort = udp.address().port;
    try {
      expect(await listensInNamespaceVia(runner, process.pid, port, 'tcp')).toBe(true);
      // The udp6 table counts too (the socket is IPv6 only).
      expect(await listensInNamespaceVia(runner, process.pid, udpPort, 'udp')).toBe(true);
    } finally {
      await new Promise((r) => srv.close(r));
      udp.close();
    }
    expect(await listensInNamespaceVia(runner, process.pid, port, 'tcp')).toBe(false);
  });

  it('a process that is gone, or a read that fails, is an error, not "not listening"', async () => {
    const runner = new SystemCommandRunner();
    // Pids this high are never handed out (pid_max is at most 2^22).
    await expect(listensInNamespaceVia(runner, 4_194_304 + 7, 80, 'tcp')).rejects.toMatchObject({ code: 'E_DELEGATE', message: expect.stringContaining('it is gone') });
    await expect(listensInNamespaceVia(runner, 0, 80, 'tcp')).rejects.toMatchObject({ code: 'E_DELEGATE' });
    const failing = new RecordingRunner().on('sh', { exitCode: 1, stderr: 'cat: /proc/42/net/tcp: Permission denied' });
    await expect(listensInNamespaceVia(failing, 42, 80, 'tcp')).rejects.toMatchObject({ code: 'E_COMMAND_FAILED', message: expect.stringContaining('Permission denied') });
  });
});
