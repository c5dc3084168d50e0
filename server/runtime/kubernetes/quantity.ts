/**
 * @file Arithmetic on the lab's resource quantities, for quotas that are sums
 * and limits that are maxima of the systems' resources. Only the forms the lab
 * schema accepts: CPU as "500m" / "1" / "1.5", memory and disk sizes as "256Mi" / "1Gi" / "512Ki" / "1Ti".
 */

/** "500m" → 500, "1.5" → 1500 (millicores). */
export function cpuMillis(quantity: string): number {
  if (quantity.endsWith('m')) return Number(quantity.slice(0, -1));
  return Math.round(Number(quantity) * 1000);
}

const MEMORY_UNITS = { Ki: 1, Mi: 1024, Gi: 1024 * 1024, Ti: 1024 * 1024 * 1024 } as const;

/** "256Mi" → 262144 (KiB). */
export function memoryKi(quantity: string): number {
  const unit = quantity.slice(-2) as keyof typeof MEMORY_UNITS;
  const factor = MEMORY_UNITS[unit];
  if (factor === undefined) throw new Error(`not a memory quantity: "${quantity}"`);
  return Number(quantity.slice(0, -2)) * factor;
}

export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

export function formatMemory(ki: number): string {
  if (ki % MEMORY_UNITS.Gi === 0) return `${ki / MEMORY_UNITS.Gi}Gi`;
  if (ki % MEMORY_UNITS.Mi === 0) return `${ki / MEMORY_UNITS.Mi}Mi`;
  return `${ki}Ki`;
}

/** Whole virtual CPUs for a VM: at least one, rounded up. */
export function cpuCores(quantity: string): number {
  return Math.max(1, Math.ceil(cpuMillis(quantity) / 1000));
}
