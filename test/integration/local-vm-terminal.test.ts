/**
 * A VM's terminal opened after the guest finished printing shows the screen
 * it printed (prompt or login), without a key press, then stays live: with
 * tiny-vm booted cold and restored from a saved state, against real QEMU.
 * Needs root (taps, bridges).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { files } from '../../server/runtime/local/vm/qemu-args.js';
import type { QemuVmDriver } from '../../server/runtime/local/vm/qemu-driver.js';
import { REPLAY_BYTES } from '../../server/runtime/local/vm/serial-line.js';
import { pathsOf, readRecord } from '../../server/runtime/local/vm/vm-state.js';
import type { TerminalStream } from '../../server/runtime/runtime.js';
import {
  buildVmImage,
  createBridge,
  readUntil,
  type TestBridge,
  testVmDriver,
  vmNetwork,
  vmSystem,
} from './local-vm-helpers.js';

const TINY = 'lab-orchestrator/tiny-vm';
const PROMPT = /server:[^\r\n]*# /;

let bridge: TestBridge;
let work: string;
let cold: QemuVmDriver;
let restored: QemuVmDriver;
const instance = `vterm${Date.now().toString(36)}`;

beforeAll(async () => {
  buildVmImage('tiny-vm');
  bridge = createBridge();
  work = await mkdtemp(path.join(os.tmpdir(), 'lab-vm-terminal-'));
  cold = testVmDriver(path.join(work, 'c'), { savedState: false });
  restored = testVmDriver(path.join(work, 'r'), { savedState: true, templatesDir: path.join(work, 'templates') });
});

afterAll(async () => {
  await cold?.destroy(instance).catch(() => {});
  await restored?.destroy(instance).catch(() => {});
  bridge?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

const hosts = { server: 10, host: 1 };
const serialLog = (driver: QemuVmDriver) =>
  files(pathsOf(driver.stateDir, driver.socketDir, instance, 'server')).serialLog;

/** Waits until the guest wrote `pattern` on its serial console (its log says so). */
async function printed(driver: QemuVmDriver, pattern: RegExp, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(await readFile(serialLog(driver), 'latin1'))) {
    if (Date.now() > deadline) throw new Error(`the console did not print ${pattern} within ${ms} ms`);
    await sleep(200);
  }
}

/** Everything the terminal shows until it is quiet for `quietMs`. */
function screen(terminal: TerminalStream, quietMs: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    let timer = setTimeout(() => done(), quietMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => done(), quietMs);
    };
    const done = () => {
      terminal.removeListener('data', onData);
      resolve(text);
    };
    terminal.on('data', onData);
  });
}

/** Everything the terminal shows until `end` matches the end of it (the guest may print megabytes first). */
function readUntilEnd(terminal: TerminalStream, end: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: string[] = [];
    let tail = '';
    const timer = setTimeout(() => reject(new Error(`no ${end} within ${ms} ms; got ${JSON.stringify(tail)}`)), ms);
    terminal.on('data', (chunk: Buffer) => {
      chunks.push(chunk.toString('latin1'));
      tail = (tail + chunks.at(-1)).slice(-256);
      if (end.test(tail)) {
        clearTimeout(timer);
        resolve(chunks.join(''));
      }
    });
  });
}

describe('VM terminal: the screen is there when it opens', () => {
  it('after a cold boot, a new terminal shows the shell prompt without a key press, then echoes once', async () => {
    await cold.create(instance, vmSystem('server', TINY), vmNetwork(bridge, 10, hosts));
    await printed(cold, PROMPT);
    await sleep(500); // whatever the guest prints, it printed before the terminal opens
    const terminal = await cold.terminal(instance, 'server', { cols: 80, rows: 24 });
    try {
      expect(await readUntil(terminal, PROMPT, 10_000)).toMatch(PROMPT);
      const answer = readUntil(terminal, /hi-42\r\n/, 20_000);
      terminal.write('echo hi-$((40+2))\r');
      // Each byte once: the command line as typed, its output, no copy from the log and the socket both.
      expect((await answer).match(/hi-42/g)).toHaveLength(1);
    } finally {
      terminal.destroy();
    }
  });

  it('shows at most the last few KiB, from a line start', async () => {
    const r = await cold.exec(instance, 'server', ['sh', '-c', 'seq 1 3000 >/dev/ttyS0']);
    expect(r.exitCode).toBe(0);
    await printed(cold, /\n3000\r\n/);
    const terminal = await cold.terminal(instance, 'server', { cols: 80, rows: 24 });
    try {
      const text = await screen(terminal, 1500);
      expect(text.length).toBeLessThanOrEqual(REPLAY_BYTES);
      expect(text).toMatch(/^\d+\r\n/); // a whole line first, not the end of one
      const numbers = [...text.matchAll(/^(\d+)\r$/gm)].map((m) => Number(m[1]));
      expect(numbers.at(-1)).toBe(3000);
      expect(numbers).toEqual(numbers.map((_, i) => (numbers[0] as number) + i));
    } finally {
      terminal.destroy();
    }
  });

  it('a terminal opened while the guest prints loses and repeats nothing around the opening', async () => {
    const loop = 'i=0; while [ ! -e /tmp/stop ]; do echo "n=$i"; i=$((i+1)); done; echo "end=$i"';
    await cold.exec(instance, 'server', ['sh', '-c', `rm -f /tmp/stop; (${loop}) </dev/null >/dev/ttyS0 2>&1 &`]);
    await printed(cold, /n=200\r\n/);
    const terminal = await cold.terminal(instance, 'server', { cols: 80, rows: 24 });
    try {
      const text = readUntilEnd(terminal, /end=\d+\r\n/, 60_000);
      await sleep(1000);
      await cold.exec(instance, 'server', ['touch', '/tmp/stop']);
      const seen = await text;
      const numbers = [...seen.matchAll(/^n=(\d+)\r$/gm)].map((m) => Number(m[1]));
      const end = Number(/end=(\d+)/.exec(seen)?.[1]);
      expect(numbers.length).toBeGreaterThan(10);
      expect(numbers).toEqual(numbers.map((_, i) => (numbers[0] as number) + i));
      expect(numbers.at(-1)).toBe(end - 1);
    } finally {
      terminal.destroy();
    }
  });

  it('a VM restored from a saved state shows a prompt with its own host name, without a key press', async () => {
    await cold.destroy(instance); // the same instance and system: one tap name, one VM at a time
    await cold.destroy(instance); // the same instance and system: one tap name, one VM at a time
    await restored.create(instance, vmSystem('server', TINY), vmNetwork(bridge, 20, { server: 20, host: 1 }));
    const record = await readRecord(pathsOf(restored.stateDir, restored.socketDir, instance, 'server'));
    expect(record?.restoredFrom).toBeDefined();
    await sleep(500);
    const terminal = await restored.terminal(instance, 'server', { cols: 80, rows: 24 });
    try {
      const text = await readUntil(terminal, PROMPT, 10_000);
      expect(text).not.toContain('lab-template');
    } finally {
      terminal.destroy();
    }
  });
});
