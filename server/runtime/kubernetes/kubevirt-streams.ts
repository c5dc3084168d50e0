/**
 * @file Consoles of VM systems through KubeVirt's aggregated API: the serial
 * console and VNC of a running VirtualMachineInstance, as WebSockets with the
 * subprotocol `plain.kubevirt.io`, whose binary frames carry the raw bytes
 * (terminal bytes, or RFB) both ways. Each becomes a Duplex for the gateway.
 */
import { Duplex } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { RuntimeError } from '../runtime.js';

export const KUBEVIRT_STREAM_PROTOCOL = 'plain.kubevirt.io';
export type VmiStream = 'console' | 'vnc';

export async function openVmiStream(kc: KubeConfig, namespace: string, name: string, kind: VmiStream): Promise<Duplex> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new RuntimeError('the kubeconfig names no cluster', 'unavailable');
  const url = new URL(
    `/apis/subresources.kubevirt.io/v1/namespaces/${encodeURIComponent(namespace)}/virtualmachineinstances/${encodeURIComponent(name)}/${kind}`,
    server,
  );
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  const options: WebSocket.ClientOptions = {};
  await kc.applyToHTTPSOptions(options);
  const socket = new WebSocket(url, [KUBEVIRT_STREAM_PROTOCOL], options);
  socket.binaryType = 'nodebuffer';
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const message = safeMessage(body) ?? `HTTP ${res.statusCode}`;
        reject(
          new RuntimeError(`${kind} of VM ${name}: ${message}`, res.statusCode === 404 ? 'not-found' : 'unavailable'),
        );
      });
    });
    socket.once('error', (err) =>
      reject(new RuntimeError(`${kind} of VM ${name}: ${err.message}`, 'unavailable', { cause: err })),
    );
  });
  return socketStream(socket);
}

/** Binary frames both ways; closing one side closes the other. */
function socketStream(socket: WebSocket): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.send(chunk, { binary: true }, callback);
    },
    final(callback) {
      socket.close(1000);
      callback();
    },
    destroy(err, callback) {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.terminate();
      callback(err);
    },
  });
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return; // the protocol carries bytes in binary frames only
    if (!stream.push(data)) socket.pause();
  });
  socket.on('close', () => stream.push(null));
  socket.on('error', (err) => stream.destroy(err));
  return stream;
}

function safeMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : undefined;
  } catch {
    return body.trim() || undefined;
  }
}
