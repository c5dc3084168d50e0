/**
 * @file Reaching one of a running VM's console sockets (serial, VNC). QEMU
 * serves each to one client at a time: a second client's connect succeeds
 * but waits, unanswered, until the first leaves.
 */
import net from 'node:net';
import { RuntimeError } from '../../runtime.js';

/** Connects to `socketPath`; a refusal becomes an `unavailable` RuntimeError. */
export function connectConsole(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', (err) =>
      reject(new RuntimeError(`cannot reach the VM console: ${err.message}`, 'unavailable', { cause: err })),
    );
  });
}
