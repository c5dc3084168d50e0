/**
 * @file What the VM driver's integration tests share: the image build (a
 * no-op when up to date), a Linux bridge standing in for an instance network,
 * a lab system spec, and probes of what exists on the machine (QEMU
 * processes, taps, folders) to prove that destroy leaves nothing.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemSchema } from '../../server/domain/lab/schema.js';
import { QemuVmDriver, type QemuVmDriverOptions } from '../../server/runtime/local/vm/qemu-driver.js';
import type { VmNetwork } from '../../server/runtime/local/vm-driver.js';
import type { SystemSpec } from '../../server/runtime/runtime.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** A VM driver on the built images with its state under `work`; slow boots allowed (shared machine, maybe no KVM). */
export function testVmDriver(work: string, options: QemuVmDriverOptions = {}): QemuVmDriver {
  return new QemuVmDriver({
    imagesDir: path.join(REPO, '.cache/images/vm'),
    stateDir: path.join(work, 'state'),
    socketDir: path.join(work, 's'),
    bootTimeout: 240,
    powerdownTimeout: 10,
    ...options,
  });
}

export function buildVmImage(name: 'tiny-vm' | 'debian-vm'): void {
  execFileSync(`${REPO}deploy/images/vm/build.sh`, [name], { stdio: ['ignore', 'inherit', 'inherit'] });
}

export interface TestBridge {
  name: string;
  /** First three octets of its /24. */
  prefix: string;
  remove(): void;
}

/** A bridge with the host at .1, like the instance network LocalRuntime makes. */
export function createBridge(): TestBridge {
  const name = `lvt${randomBytes(3).toString('hex')}`;
  const prefix = `10.213.${randomBytes(1)[0]}`;
  execFileSync('ip', ['link', 'add', name, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', `${prefix}.1/24`, 'dev', name]);
  execFileSync('ip', ['link', 'set', name, 'up']);
  return { name, prefix, remove: () => execFileSync('ip', ['link', 'delete', name]) };
}

export function vmNetwork(bridge: TestBridge, host: number, hosts: Record<string, number>): VmNetwork {
  return {
    bridge: bridge.name,
    address: `${bridge.prefix}.${host}/24`,
    hosts: Object.fromEntries(Object.entries(hosts).map(([n, h]) => [n, `${bridge.prefix}.${h}`])),
  };
}

export function vmSystem(name: string, image: string, user?: { name: string; password: string }): SystemSpec {
  const definition = systemSchema.parse({
    name,
    kind: 'vm',
    image,
    consoles: ['terminal', 'desktop'],
    ...(user ? { user: { name: user.name } } : {}),
  });
  return { definition, ...(user ? { credentials: { user: user.name, password: user.password } } : {}) };
}

/** Pids of QEMU processes whose command line mentions `needle` (a state folder). */
export function qemuProcesses(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.startsWith('qemu-system') && cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export function linkExists(name: string): boolean {
  try {
    execFileSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Reads from a stream until `pattern` matches what arrived; rejects after `ms`. */
export function readUntil(stream: net.Socket | NodeJS.ReadableStream, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (pattern.test(text)) {
        cleanup();
        resolve(text);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${ms} ms; got: ${JSON.stringify(text.slice(-300))}`));
    }, ms);
    const cleanup = () => {
      clearTimeout(timer);
      stream.removeListener('data', onData);
    };
    stream.on('data', onData);
  });
}
