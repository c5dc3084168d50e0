/**
 * @file Benchmark (not a test) of the console gateway, on loopback only:
 *   1. echo latency of one keystroke through the gateway (browser-like
 *      WebSocket → gateway → PTY and back) vs on the PTY directly;
 *   2. desktop-path throughput (a byte source behind the desktop console)
 *      through the gateway vs a raw loopback TCP socket, read by another
 *      process as a browser would; and vs a plain TCP relay in a process
 *      of its own (the same three processes and hops as the gateway,
 *      without WebSocket, tickets or checks), which tells what the gateway's
 *      own work costs apart from the extra hop;
 *   3. server memory per 100 open terminal sockets, and how many concurrent
 *      terminal sockets one server holds (goal 2,000; stops there).
 *
 *   node --max-semi-space-size=64 --import tsx bench/gateway.ts [--no-capacity]
 *   (TEST_MONGODB_URI, or it starts FerretDB itself; the flag is the one the
 *   server starts with in scripts/start.sh and the Dockerfile: the gateway
 *   runs in this process)
 *
 * Bounded: at most 2,000 sockets, 256 MiB per throughput run, and it exits
 * by itself after 10 minutes whatever happens.
 */
import { type ChildProcess, execFile, execFileSync, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { opened, openSocket, ticketFor } from '../test/support/gateway-client.js';
import { startTestServer } from '../test/support/server.js';
import { ShellRuntime } from '../test/support/shell-runtime.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = 2000;
const BYTES = 256 * 1024 * 1024;
const STEPS = [100, 500, 1000, 2000];
const ROUNDS = 5;
setTimeout(() => {
  console.error('bench: 10 minutes are over; stopping');
  process.exit(3);
}, 600_000).unref();

const stopAtExit: Array<() => void> = [];
process.on('exit', () => {
  for (const stop of stopAtExit) stop();
});

function database(): string {
  if (process.env.TEST_MONGODB_URI) return process.env.TEST_MONGODB_URI;
  const port = 27000 + Math.floor(Math.random() * 900);
  const dir = path.join(REPO, '.cache', 'bench-gateway-ferretdb');
  fs.rmSync(dir, { recursive: true, force: true });
  const pid = execFileSync(path.join(REPO, 'scripts/ferretdb.sh'), ['start', String(port), dir], {
    encoding: 'utf8',
  }).trim();
  stopAtExit.push(() => process.kill(Number(pid)));
  process.env.TEST_MONGODB_URI = `mongodb://127.0.0.1:${port}`;
  return process.env.TEST_MONGODB_URI;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const ms = (n: number) => `${n.toFixed(3)} ms`;

/** Round trips of one byte: send 'x', wait until the echo comes back. */
async function echoLatency(send: (b: Buffer) => void, onData: (fn: (b: Buffer) => void) => void): Promise<number[]> {
  let waiting: (() => void) | undefined;
  onData((b) => {
    if (b.includes(0x78)) waiting?.();
  });
  const times: number[] = [];
  for (let i = 0; i < SAMPLES + 100; i++) {
    if (i % 50 === 0) send(Buffer.from([0x15])); // Ctrl-U: keep the line short
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      waiting = resolve;
      send(Buffer.from('x'));
    });
    if (i >= 100) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

async function latencyAndThroughput() {
  // The desktop side: a byte source in its own process, as a VNC server would be.
  const source = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO, 'bench/gateway-reader.ts'), 'source', String(BYTES)],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  stopAtExit.push(() => source.kill());
  const desktopPort = await new Promise<number>((resolve) =>
    source.stdout.once('data', (b: Buffer) => resolve((JSON.parse(b.toString()) as { port: number }).port)),
  );
  const runtime = new ShellRuntime({ desktopPort });
  const server = await startTestServer({ runtime });
  try {
    const lab =
      'name: bench\ntitle: Bench\nsystems:\n  - name: a\n    kind: container\n    image: none\n    consoles: [terminal, desktop]\n';
    await server.api(server.adminToken, 'POST', '/api/v1/labs', lab, { 'content-type': 'application/yaml' });
    const id: string = (await server.api(server.adminToken, 'POST', '/api/v1/instances', { lab: 'bench' })).body.id;
    while ((await server.store.instances.get(id))?.state !== 'running') await new Promise((r) => setTimeout(r, 100));

    const direct = await runtime.terminal(id, 'a', { cols: 80, rows: 24 });
    await new Promise((r) => setTimeout(r, 300));
    const directTimes = await echoLatency(
      (b) => direct.write(b),
      (fn) => direct.on('data', fn),
    );
    direct.destroy();

    const t = await ticketFor(server, server.adminToken, id, { system: 'a', console: 'terminal' });
    const ws = openSocket(server.url, t.body.url);
    await opened(ws);
    await new Promise((r) => setTimeout(r, 300));
    const gatewayTimes = await echoLatency(
      (b) => ws.send(b),
      (fn) => ws.on('message', (d: Buffer) => fn(d)),
    );
    ws.close();

    console.log('\n1. Echo latency of one keystroke (loopback, %d samples)', SAMPLES);
    console.log('   path                     p50         p90         p99');
    for (const [name, times] of [
      ['PTY directly', directTimes],
      ['through the gateway', gatewayTimes],
    ] as const) {
      console.log(
        `   ${name.padEnd(22)} ${ms(percentile(times, 0.5)).padEnd(11)} ${ms(percentile(times, 0.9)).padEnd(11)} ${ms(percentile(times, 0.99))}`,
      );
    }
    console.log(
      `   added by the gateway (p50): ${ms(percentile(gatewayTimes, 0.5) - percentile(directTimes, 0.5))} (goal < 1 ms)`,
    );

    // The same layout as the gateway's (one more process and hop), as plain TCP, in a process of its
    // own: in the server's process its garbage would be collected during the gateway's rounds.
    const relay = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(REPO, 'bench/gateway-reader.ts'), 'relay', String(desktopPort)],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    stopAtExit.push(() => relay.kill());
    const relayPort = await new Promise<number>((resolve) =>
      relay.stdout.once('data', (b: Buffer) => resolve((JSON.parse(b.toString()) as { port: number }).port)),
    );

    // Alternating rounds, medians: the machine is shared, so one run of each says little.
    const raw: number[] = [];
    const relayed: number[] = [];
    const cpuPerGiB: number[] = [];
    const through: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      raw.push(await throughput(['raw', String(desktopPort)]));
      relayed.push(await throughput(['raw', String(relayPort)]));
      const d = await ticketFor(server, server.adminToken, id, { system: 'a', console: 'desktop' });
      const cpu = process.cpuUsage();
      through.push(await throughput(['ws', server.url.replace(/^http/, 'ws') + d.body.url, server.url]));
      const used = process.cpuUsage(cpu);
      cpuPerGiB.push((used.user + used.system) / 1e6 / (BYTES / 2 ** 30));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const rawRate = median(raw);
    const relayRate = median(relayed);
    const gatewayRate = median(through);
    console.log(
      '\n2. Desktop-path throughput, %d MiB from a loopback byte source, median of %d alternating rounds',
      BYTES / 1024 / 1024,
      ROUNDS,
    );
    console.log(
      `   rounds (MiB/s): raw ${raw.map((r) => r.toFixed(0)).join(', ')}; TCP relay ${relayed.map((r) => r.toFixed(0)).join(', ')}; gateway ${through.map((r) => r.toFixed(0)).join(', ')}`,
    );
    console.log(`   raw loopback TCP socket:  ${rawRate.toFixed(0)} MiB/s`);
    console.log(
      `   TCP relay (own process): ${relayRate.toFixed(0)} MiB/s (${((100 * relayRate) / rawRate).toFixed(0)}% of raw)`,
    );
    const cpu = median(cpuPerGiB);
    console.log(
      `   CPU time of the gateway's process per GiB relayed: ${cpu.toFixed(2)} s (one free core: ~${(1024 / cpu).toFixed(0)} MiB/s)`,
    );
    console.log(
      `   through the gateway:      ${gatewayRate.toFixed(0)} MiB/s (${((100 * gatewayRate) / rawRate).toFixed(0)}% of raw; goal ≥ 50%; ${((100 * gatewayRate) / relayRate).toFixed(0)}% of the TCP relay)`,
    );
    console.log(
      `   per round, gateway / raw: ${through.map((g, i) => `${((100 * g) / raw[i]!).toFixed(0)}%`).join(', ')}`,
    );
  } finally {
    await server.stop();
    source.kill();
  }
}

/** MiB/s read by a separate process (as a browser would be), to the end of the stream. */
async function throughput(args: string[]): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', path.join(REPO, 'bench/gateway-reader.ts'), ...args],
    {
      cwd: REPO,
    },
  );
  const { bytes, mibs } = JSON.parse(stdout) as { bytes: number; mibs: number };
  if (bytes < BYTES) throw new Error(`only ${bytes} of ${BYTES} bytes arrived`);
  return mibs;
}

function ask<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send(message);
  });
}

async function capacity() {
  const child = fork(path.join(REPO, 'bench/gateway-server.ts'), [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: process.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  stopAtExit.push(() => child.kill());
  const ready = await new Promise<{ url: string; token: string; id: string }>((resolve) =>
    child.once('message', (m) => resolve(m as { url: string; token: string; id: string })),
  );
  type Mem = { mem: NodeJS.MemoryUsage; sockets: number };
  const base = await ask<Mem>(child, 'mem');
  const sockets: WebSocket[] = [];
  const rows: string[] = [];
  let failure: string | undefined;
  const t0 = Date.now();

  const openOne = async () => {
    const res = await fetch(`${ready.url}/api/v1/instances/${ready.id}/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ready.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ system: 'a', console: 'terminal' }),
    });
    const { url } = (await res.json()) as { url: string };
    const ws = new WebSocket(ready.url.replace(/^http/, 'ws') + url, { origin: ready.url });
    await opened(ws);
    ws.on('error', () => {});
    return ws;
  };

  for (const step of STEPS) {
    try {
      while (sockets.length < step) {
        const batch = Math.min(25, step - sockets.length);
        sockets.push(...(await Promise.all(Array.from({ length: batch }, openOne))));
      }
    } catch (err) {
      failure = `opening socket ${sockets.length + 1} failed: ${(err as Error).message}`;
      break;
    }
    const m = await ask<Mem>(child, 'mem');
    const per100 = (field: 'rss' | 'heapUsed') =>
      ((m.mem[field] - base.mem[field]) / (step / 100) / 1024 / 1024).toFixed(2);
    rows.push(
      `   ${String(m.sockets).padStart(5)}    ${(m.mem.rss / 1048576).toFixed(0).padStart(5)} MiB   ${(m.mem.heapUsed / 1048576).toFixed(0).padStart(4)} MiB    ${per100('rss').padStart(6)} MiB      ${per100('heapUsed').padStart(6)} MiB`,
    );
  }
  const openSeconds = (Date.now() - t0) / 1000;
  // Every socket still works: a probe of 100 of them round-trips a byte.
  const probe = sockets.filter((_, i) => i % Math.max(1, Math.floor(sockets.length / 100)) === 0).slice(0, 100);
  const answered = await Promise.all(
    probe.map(
      (ws) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 5000);
          ws.once('message', () => {
            clearTimeout(timer);
            resolve(true);
          });
          ws.send(Buffer.from('x'));
        }),
    ),
  );
  console.log('\n3. Terminal sockets held by one server (echo terminals, so that the gateway is measured)');
  console.log(
    `   base: ${(base.mem.rss / 1048576).toFixed(0)} MiB RSS, ${(base.mem.heapUsed / 1048576).toFixed(0)} MiB heap`,
  );
  console.log('   sockets      RSS        heap    RSS per 100    heap per 100');
  for (const row of rows) console.log(row);
  console.log(
    `   opened ${sockets.length} sockets in ${openSeconds.toFixed(1)} s (ticket + handshake each); ${answered.filter(Boolean).length}/${probe.length} probed sockets echoed afterwards`,
  );
  if (failure) console.log(`   stopped: ${failure}`);
  for (const ws of sockets) ws.terminate();
  await ask(child, 'stop').catch(() => undefined);
}

async function main() {
  database();
  console.log(
    `gateway bench on ${process.platform}, node ${process.version}, ${(await import('node:os')).cpus().length} cores`,
  );
  await latencyAndThroughput();
  if (!process.argv.includes('--no-capacity')) await capacity();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
