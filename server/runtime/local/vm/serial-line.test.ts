import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSerialTerminal, REPLAY_BYTES, replayStart } from './serial-terminal.js';

describe('replayStart', () => {
  it('starts a log read from its beginning at 0', () => {
    expect(replayStart(Buffer.from('partial line\nnext'), true)).toBe(0);
  });

  it('starts a tail after its first line break, so no line or escape sequence is cut', () => {
    const tail = Buffer.from('0m cut line\r\n\x1b[1mserver:~# ');
    expect(tail.subarray(replayStart(tail, false)).toString()).toBe('\x1b[1mserver:~# ');
  });

  it('without a line break, starts at the first escape sequence', () => {
    const tail = Buffer.from('H screen\x1b[2J\x1b[Htop');
    expect(tail.subarray(replayStart(tail, false)).toString()).toBe('\x1b[2J\x1b[Htop');
  });

  it('without either, starts at a whole UTF-8 character', () => {
    const tail = Buffer.from('ü-text').subarray(1); // begins inside the two bytes of ü
    expect(tail.subarray(replayStart(tail, false)).toString()).toBe('-text');
  });
});

/** QEMU's side of a console, played by a unix socket server and a log file appended to. */
describe('openSerialTerminal', () => {
  let dir: string;
  let server: net.Server;
  let guest: Promise<net.Socket>;
  const read = (stream: NodeJS.ReadableStream, until: string) =>
    new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`no ${until}; got ${JSON.stringify(text)}`)), 5000);
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.includes(until)) {
          clearTimeout(timer);
          resolve(text);
        }
      });
    });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'serial-terminal-'));
    server = net.createServer();
    guest = new Promise((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.listen(path.join(dir, 's.sock'), resolve));
  });

  afterEach(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the end of the log from a line start, then what is appended, and sends keys to the socket', async () => {
    const log = path.join(dir, 'serial.log');
    await writeFile(log, `${'old line\r\n'.repeat(1000)}server:~# `);
    const terminal = await openSerialTerminal(path.join(dir, 's.sock'), log);
    try {
      const screen = await read(terminal, 'server:~# ');
      expect(screen.length).toBeLessThanOrEqual(REPLAY_BYTES);
      expect(screen).toMatch(/^old line\r\n(old line\r\n)+server:~# $/);
      const more = read(terminal, 'hi\r\n');
      await appendFile(log, 'echo hi\r\nhi\r\n');
      expect(await more).toContain('echo hi\r\nhi\r\n');
      const keys = new Promise<string>((resolve) => guest.then((s) => s.once('data', (d) => resolve(d.toString()))));
      terminal.write('ls\r');
      expect(await keys).toBe('ls\r');
    } finally {
      terminal.destroy();
    }
  });

  it('a paused terminal goes on where it stopped: every appended byte once, in order', async () => {
    const log = path.join(dir, 'serial.log');
    await writeFile(log, '');
    const terminal = await openSerialTerminal(path.join(dir, 's.sock'), log);
    try {
      let text = '';
      terminal.on('data', (d: Buffer) => {
        text += d.toString();
      });
      const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`);
      terminal.pause();
      for (let i = 0; i < lines.length; i += 1000) await appendFile(log, lines.slice(i, i + 1000).join(''));
      expect(text.length).toBeLessThan(lines.join('').length);
      terminal.resume();
      const deadline = Date.now() + 5000;
      while (text.length < lines.join('').length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(text).toBe(lines.join(''));
    } finally {
      terminal.destroy();
    }
  });

  it('ends once the console socket closes, after the last bytes of the log', async () => {
    const log = path.join(dir, 'serial.log');
    await writeFile(log, 'login: ');
    const terminal = await openSerialTerminal(path.join(dir, 's.sock'), log);
    let text = '';
    terminal.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const ended = new Promise((resolve) => terminal.once('end', resolve));
    await appendFile(log, '\r\nreboot: Power down\r\n');
    (await guest).destroy();
    await ended;
    expect(text).toBe('login: \r\nreboot: Power down\r\n');
    terminal.destroy();
  });

  it('refuses with a readable reason when the console socket is not there', async () => {
    await expect(openSerialTerminal(path.join(dir, 'none.sock'), path.join(dir, 'serial.log'))).rejects.toThrow(
      /cannot reach the VM console/,
    );
  });
});
