/**
 * @file The server side of bench/gateway.ts's capacity run, in its own
 * process so that its memory is the server's alone: a real server (FerretDB,
 * API, gateway) whose terminals are in-process echo streams, so that 2,000
 * sockets measure the gateway and not 2,000 shells. Driven over IPC by the
 * bench: "mem" answers process.memoryUsage() after a GC; "stop" ends it.
 */
import { Duplex } from 'node:stream';
import type { TerminalStream } from '../server/runtime/runtime.js';
import { startTestServer } from '../test/support/server.js';
import { ShellRuntime } from '../test/support/shell-runtime.js';

/** A terminal that echoes what it is sent (what a PTY in canonical mode does), without a process. */
class EchoTerminal extends Duplex implements TerminalStream {
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.push(chunk);
    cb();
  }
  async resize(): Promise<void> {}
}

class EchoRuntime extends ShellRuntime {
  override async terminal(): Promise<TerminalStream> {
    return new EchoTerminal();
  }
}

const server = await startTestServer({ runtime: new EchoRuntime() });
const lab = `name: bench-lab
title: Bench lab
systems:
  - name: a
    kind: container
    image: none
    consoles: [terminal]
`;
await server.api(server.adminToken, 'POST', '/api/v1/labs', lab, { 'content-type': 'application/yaml' });
const created = await server.api(server.adminToken, 'POST', '/api/v1/instances', { lab: 'bench-lab' });
const id: string = created.body.id;
for (let i = 0; i < 100 && (await server.store.instances.get(id))?.state !== 'running'; i++) {
  await new Promise((r) => setTimeout(r, 100));
}

const gc = (globalThis as { gc?: () => void }).gc;
process.on('message', async (message: string) => {
  if (message === 'mem') {
    gc?.();
    await new Promise((r) => setTimeout(r, 200));
    gc?.();
    process.send?.({ mem: process.memoryUsage(), sockets: server.gateway.sockets });
  } else if (message === 'stop') {
    await server.stop();
    process.exit(0);
  }
});
process.send?.({ url: server.url, token: server.adminToken, id });
