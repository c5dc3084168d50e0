/**
 * @file A TCP connection from this host to a port of a VM (the gateway's web
 * proxy), straight over the instance bridge to the VM's fixed address.
 *
 * The host needs an address on the bridge for that. The engine gives the
 * bridge the network's gateway address when the first container joins —
 * Podman (netavark) and Docker alike, internal networks (labs without
 * internet) too — so a lab with a container has it already. A lab of VMs only
 * runs on a bridge the runtime made itself (host-bridge.ts), without an
 * address; this adds the same gateway address the engine would have added.
 * It exposes nothing new: with a container in the lab, its VMs see the same
 * address. Nothing is routed: an instance reaches no other instance through it
 * (the engine's isolation rules are unchanged).
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { RuntimeError } from '../runtime.js';
import type { Subnet } from './addressing.js';

const run = promisify(execFile);

/** Gives this host the subnet's gateway address on the bridge, unless it has an address in the subnet already. */
export async function ensureHostAddress(bridge: string, subnet: Subnet): Promise<void> {
  const has = async () => {
    const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge]);
    return stdout.includes(` ${subnet.prefix}.`);
  };
  try {
    if (await has()) return;
    await run('ip', ['addr', 'add', `${subnet.gateway}/24`, 'dev', bridge]).catch(async (err) => {
      if (!(await has())) throw err; // added meanwhile by a parallel call or the engine: fine
    });
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new RuntimeError(`cannot reach the instance network from this host (bridge ${bridge}): ${detail}`, 'failed', {
      cause: err,
    });
  }
}

/** A byte stream to `address:port` on the instance bridge; connection errors arrive as stream errors. */
export async function openVmPort(bridge: string, subnet: Subnet, address: string, port: number): Promise<Duplex> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`not a TCP port: ${port}`);
  await ensureHostAddress(bridge, subnet);
  const socket = net.connect({ host: address, port });
  socket.setNoDelay(true);
  return socket;
}
