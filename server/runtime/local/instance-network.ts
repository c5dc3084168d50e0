/**
 * @file The network of an instance: created once with a subnet out of the
 * runtime's pool and a known bridge name, adopted when it exists already
 * (provision is resumable). Subnet choice is serialised in this process, and a
 * subnet the engine refuses (another process took it) moves on to the next.
 *
 * The subnets in use are listed from the engine at most every few seconds,
 * and the ones this process creates are added as it goes: listing every
 * network per provision took 37 s with ~70 networks on Podman under load
 * (bench/load.ts). A subnet freed meanwhile is seen at the next listing; one
 * taken by another process makes the engine refuse, which forces a listing.
 */
import type Docker from 'dockerode';
import { type InstanceSpec, RuntimeError } from '../runtime.js';
import { parseSubnet, pickSubnet, type Subnet } from './addressing.js';
import { engineMessage, isConflict, isNotFound } from './engine-errors.js';
import { networkOptions } from './manifests.js';
import { networkName } from './names.js';

interface NetworkInfo {
  Name?: string;
  IPAM?: { Config?: Array<{ Subnet?: string }> };
}

/** How long a listing of the engine's subnets is used before the next (ms). */
const LISTING_MS = 10_000;

export class InstanceNetworks {
  /** Tail of the chain of subnet choices: one at a time in this process. */
  private choosing: Promise<unknown> = Promise.resolve();
  /** Subnets in use: the last listing plus what this process created since. */
  private used: { subnets: Set<string>; at: number } | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly pool: string,
    private readonly scope: string,
  ) {}

  /** The subnet of the instance's network, or undefined when it does not exist. */
  async find(instanceId: string): Promise<Subnet | undefined> {
    try {
      const info = (await this.docker.getNetwork(networkName(instanceId)).inspect()) as NetworkInfo;
      const cidr = info.IPAM?.Config?.[0]?.Subnet;
      const subnet = parseSubnet(cidr);
      if (!subnet) {
        throw new RuntimeError(`network ${networkName(instanceId)} has an unexpected subnet "${cidr}"`, 'failed');
      }
      return subnet;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async ensure(spec: InstanceSpec): Promise<Subnet> {
    const existing = await this.find(spec.id);
    if (existing) return existing;
    const run = this.choosing.then(() => this.create(spec));
    this.choosing = run.catch(() => {});
    return run;
  }

  private async create(spec: InstanceSpec): Promise<Subnet> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const again = await this.find(spec.id);
      if (again) return again;
      const used = await this.usedSubnets(attempt > 0);
      const subnet = pickSubnet(this.pool, [...used], attempt);
      try {
        await this.docker.createNetwork(networkOptions(spec, subnet, this.scope));
        used.add(subnet.cidr);
        return subnet;
      } catch (err) {
        if (isConflict(err)) {
          // Same name: someone made it meanwhile; adopt. Otherwise a subnet clash: next one.
          const made = await this.find(spec.id);
          if (made) return made;
          continue;
        }
        if (/overlap|in use|already/i.test(engineMessage(err))) continue;
        throw new RuntimeError(`cannot create the network of the instance: ${engineMessage(err)}`, 'failed', {
          cause: err,
        });
      }
    }
    throw new RuntimeError('cannot create the network of the instance: no free subnet was accepted', 'unavailable');
  }

  /** Fresh: list again now (the engine refused a choice). */
  private async usedSubnets(fresh: boolean): Promise<Set<string>> {
    if (!fresh && this.used && Date.now() - this.used.at < LISTING_MS) return this.used.subnets;
    const networks = (await this.docker.listNetworks()) as NetworkInfo[];
    const subnets = new Set(networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '')).filter(Boolean));
    this.used = { subnets, at: Date.now() };
    return subnets;
  }
}
