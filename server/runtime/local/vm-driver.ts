/**
 * @file The internal contract between the local runtime (which owns an
 * instance: its network, its containers, the composition) and the VM driver
 * (QEMU processes, in `vm/`). LocalRuntime creates the instance network first,
 * reserves an address for each VM system on it, and hands the driver a
 * `VmNetwork`; the driver attaches each VM through a tap on that bridge.
 *
 * Contract, like Runtime's: every method is idempotent; `destroy` of something
 * gone succeeds; errors a user can act on are `RuntimeError`s.
 */
import type { Duplex } from 'node:stream';
import type {
  ExecOptions,
  ExecResult,
  InstanceId,
  SystemSpec,
  SystemStatus,
  TerminalSize,
  TerminalStream,
} from '../runtime.js';

/** Where a VM sits on its instance network. */
export interface VmNetwork {
  /** Linux bridge of the instance network (e.g. `labo-br-1a2b3c`); attach a tap to it. */
  bridge: string;
  /** The VM's address in CIDR form, e.g. `10.89.7.200/24`. Static: no DHCP on the bridge. */
  address: string;
  /** Gateway on the bridge; absent when the lab has no internet (internal network). */
  gateway?: string;
  /** A DNS server the VM may use; absent on internal networks. */
  dns?: string;
  /** Every system of the instance: name → IPv4 address, for the VM's /etc/hosts. */
  hosts: Record<string, string>;
}

export interface VmDriver {
  /** Creates and boots the VM (idempotent: adopts a VM that already runs). */
  create(instanceId: InstanceId, system: SystemSpec, net: VmNetwork): Promise<void>;
  /** Status of one VM; undefined when nothing of it exists. */
  status(instanceId: InstanceId, systemName: string): Promise<SystemStatus | undefined>;
  /** Every VM that exists on this machine (processes, disks, sockets). */
  list(): Promise<Array<{ instanceId: InstanceId; system: string }>>;
  /** Without a system name: every VM of the instance. */
  pause(instanceId: InstanceId, systemName?: string): Promise<void>;
  resume(instanceId: InstanceId, systemName?: string): Promise<void>;
  /** Removes process, overlay, seed, sockets, tap. Gone already is fine. */
  destroy(instanceId: InstanceId, systemName?: string): Promise<void>;
  /** Back to the base image: a fresh overlay, booted again on the same network. */
  reset(instanceId: InstanceId, system: SystemSpec, net: VmNetwork): Promise<void>;
  terminal(instanceId: InstanceId, systemName: string, size: TerminalSize): Promise<TerminalStream>;
  /** Raw RFB bytes of the VM's VNC server. */
  desktop(instanceId: InstanceId, systemName: string): Promise<Duplex>;
  exec(instanceId: InstanceId, systemName: string, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Prepares what VMs of this system start from (a saved state), so the
   * first of them does not wait for it (LocalRuntime.prepare, when a lab
   * version comes in and at start). Optional; a no-op where nothing is kept.
   * A state that cannot be made is logged, not thrown (its VMs boot cold);
   * it throws when the system cannot start at all (e.g. its image is missing).
   */
  warmUp?(system: SystemSpec): Promise<void>;
  /** Releases handles; does not touch VMs. Optional. */
  close?(): Promise<void>;
}
