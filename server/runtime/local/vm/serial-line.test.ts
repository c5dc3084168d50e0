import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPLAY_BYTES, replayStart, SerialLines } from './serial-line.js';
import { MAX_BEHIND_BYTES, openSerialTerminal, promptAgain } from './serial-terminal.js';

describe('replayStart', () => {
  it('starts a history read from its beginning at 0', () => {
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

/** QEMU's side of a console, played by a unix socket server (the guest writes on it) and a log file. */
describe('serial line and terminals', () => {
  let dir: string;
  let server: net.Server;
  let guest: Promise<net.Socket>;
  let connections: number;
  let lines: SerialLines;
  const sock = () => path.join(dir, 's.sock');
  const log = () => path.join(dir, 'serial.log');
  const line = () => lines.get(sock(), log());
  const openTerminal = async () => openSerialTerminal(await line());
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
  const until = async (what: () => boolean) => {
    const deadline = Date.now() + 5000;
    while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'serial-line-'));
    server = net.createServer();
    connections = 0;
    server.on('connection', () => connections++);
    guest = new Promise((resolve) => server.once('connection', resolve));
    lines = new SerialLines();
    await new Promise<void>((resolve) => server.listen(sock(), resolve));
  });

  afterEach(async () => {
    lines.close();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a server that finds the VM running starts from the log’s end, from a line start; then live; keys to the guest', async () => {
    await writeFile(log(), `${'old line\r\n'.repeat(1000)}server:~# `);
    const terminal = await openTerminal();
    try {
      const screen = await read(terminal, 'server:~# ');
      expect(screen.length).toBeLessThanOrEqual(REPLAY_BYTES);
      expect(screen).toMatch(/^old line\r\n(old line\r\n)+server:~# $/);
      const more = read(terminal, 'hi\r\n');
      (await guest).write('echo hi\r\nhi\r\n');
      expect(await more).toContain('echo hi\r\nhi\r\n');
      const keys = new Promise<string>((resolve) => guest.then((s) => s.once('data', (d) => resolve(d.toString()))));
      terminal.write('ls\r');
      expect(await keys).toBe('ls\r');
    } finally {
      terminal.destroy();
    }
  });

  it('what the guest printed with no terminal open is the next terminal’s screen, each byte once', async () => {
    await line(); // as the driver does when QEMU starts: the log is empty, the socket carries everything
    const socket = await guest;
    socket.write('Booting...\r\n');
    socket.write(`${Array.from({ length: 1000 }, (_, i) => `n=${i}`).join('\r\n')}\r\nserver:~# `);
    await new Promise((r) => setTimeout(r, 200));
    const terminal = await openTerminal();
    try {
      const screen = await read(terminal, 'server:~# ');
      expect(screen.length).toBeLessThanOrEqual(REPLAY_BYTES);
      const numbers = [...screen.matchAll(/^n=(\d+)\r$/gm)].map((m) => Number(m[1]));
      expect(numbers.at(-1)).toBe(999);
      expect(numbers).toEqual(numbers.map((_, i) => (numbers[0] as number) + i));
      expect(screen).toMatch(/^n=\d+\r\n/); // a whole line first
    } finally {
      terminal.destroy();
    }
  });

  it('a short history is shown whole, from the guest’s first byte', async () => {
    await line();
    (await guest).write('login: ');
    await new Promise((r) => setTimeout(r, 100));
    const terminal = await openTerminal();
    try {
      expect(await read(terminal, 'login: ')).toBe('login: ');
    } finally {
      terminal.destroy();
    }
  });

  it('a paused terminal goes on where it stopped: every byte once, in order', async () => {
    const terminal = await openTerminal();
    const socket = await guest;
    try {
      let text = '';
      terminal.on('data', (d: Buffer) => {
        text += d.toString();
      });
      const all = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`).join('');
      terminal.pause();
      for (let i = 0; i < all.length; i += 7000) socket.write(all.slice(i, i + 7000));
      await new Promise((r) => setTimeout(r, 300));
      expect(text).toBe('');
      terminal.resume();
      await until(() => text.length >= all.length);
      expect(text).toBe(all);
    } finally {
      terminal.destroy();
    }
  });

  it('a terminal whose reader stopped long ago ends with a reason instead of holding the output', async () => {
    const terminal = await openTerminal();
    const socket = await guest;
    const failed = new Promise<Error>((resolve) => terminal.once('error', resolve));
    terminal.pause();
    const chunk = 'x'.repeat(64 * 1024);
    for (let sent = 0; sent <= MAX_BEHIND_BYTES + chunk.length; sent += chunk.length) socket.write(chunk);
    expect((await failed).message).toMatch(/fell too far behind/);
    // The line goes on for the others.
    const next = await openTerminal();
    const seen = read(next, 'still here');
    socket.write('still here');
    await seen;
    next.destroy();
  });

  it('ends once the console closes, after the last bytes the guest printed', async () => {
    await writeFile(log(), 'login: ');
    const terminal = await openTerminal();
    let text = '';
    terminal.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const ended = new Promise((resolve) => terminal.once('end', resolve));
    const socket = await guest;
    socket.end('\r\nreboot: Power down\r\n');
    await ended;
    expect(text).toBe('login: \r\nreboot: Power down\r\n');
    terminal.destroy();
  });

  it('closing a terminal keeps the VM’s one connection: the next terminal and a second one type on it', async () => {
    const first = await openTerminal();
    const socket = await guest;
    let left = false;
    socket.on('end', () => {
      left = true;
    });
    let typed = '';
    socket.on('data', (d) => {
      typed += d.toString();
    });
    first.write('a');
    first.destroy(); // QEMU never sees its client leave while the VM runs (serial-line.ts)
    const second = await openTerminal();
    const third = await openTerminal();
    second.write('b');
    third.write('c');
    await until(() => typed.length >= 3);
    expect(typed).toBe('abc');
    expect(connections).toBe(1);
    expect(left).toBe(false);
    second.destroy();
    third.destroy();
  });

  it('a new VM at the same socket (a reset) gets a new line', async () => {
    const first = await openTerminal();
    (await guest).destroy(); // QEMU exited
    await new Promise((resolve) => first.once('end', resolve).resume());
    const second = await openTerminal();
    await until(() => connections === 2);
    expect(connections).toBe(2);
    second.destroy();
  });

  it('promptAgain presses Enter and sees the guest answer', async () => {
    const socket = await new Promise<net.Socket>((resolve) => {
      guest.then(resolve);
      void line();
    });
    socket.on('data', (d) => {
      if (d.toString() === '\r') socket.write('\r\nbox:~# ');
    });
    expect(await promptAgain(line, 2000)).toBe(true);
    socket.removeAllListeners('data');
    expect(await promptAgain(line, 300)).toBe(false); // nobody answers
  });

  it('refuses with a readable reason when the console socket is not there', async () => {
    await expect(lines.get(path.join(dir, 'none.sock'), log())).rejects.toThrow(/cannot reach the VM console/);
  });
});
