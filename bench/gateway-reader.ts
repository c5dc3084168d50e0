/**
 * @file The two ends of bench/gateway.ts's throughput runs, each in its own
 * process (as the browser and the VNC server would be):
 *   `source BYTES`    listens on a loopback port (printed as JSON) and sends
 *                     BYTES to every connection, with backpressure;
 *   `relay PORT`      listens on a loopback port (printed as JSON) and relays
 *                     every connection to PORT as plain TCP (the baseline with
 *                     the gateway's layout: one more process and hop);
 *   `raw PORT`        reads a raw TCP socket to its end;
 *   `ws URL ORIGIN`   reads a gateway desktop socket to its end;
 * the readers print bytes and MiB/s as JSON.
 */
import net from 'node:net';
import WebSocket from 'ws';

const [kind, target, origin] = process.argv.slice(2);
const t0 = process.hrtime.bigint();
let bytes = 0;
const done = () => {
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${JSON.stringify({ bytes, mibs: bytes / 1048576 / seconds })}\n`);
  process.exit(0);
};
if (kind === 'source') {
  const total = Number(target);
  const server = net.createServer((socket) => {
    const chunk = Buffer.alloc(64 * 1024, 0x42);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`);
  });
} else if (kind === 'relay') {
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target), '127.0.0.1');
    upstream.pipe(client).pipe(upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`);
  });
} else if (kind === 'raw') {
  const socket = net.connect(Number(target), '127.0.0.1');
  socket.on('data', (b: Buffer) => {
    bytes += b.length;
  });
  socket.on('close', done);
} else {
  const ws = new WebSocket(target!, { origin: origin!, perMessageDeflate: false });
  ws.on('message', (b: Buffer) => {
    bytes += b.length;
  });
  ws.on('close', done);
}
