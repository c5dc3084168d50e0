/** @file The admin capacity page's amounts in words: cores, bytes, a share of a limit, job holders. */

/** "0.25 cores", "1 core", "12 cores" from millicores. */
export function cores(millicores: number): string {
  const n = millicores / 1000;
  const text = Number.isInteger(n) ? String(n) : n < 10 ? n.toFixed(2).replace(/0$/, '') : n.toFixed(1);
  return `${text} ${n === 1 ? 'core' : 'cores'}`;
}

/** "96 MiB", "1.5 GiB", "0 B" (binary units, as the lab format's `256Mi`). */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || value >= 100 || Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1);
  return `${text} ${units[unit]}`;
}

export interface Share {
  /** "3 of 100", "3 (no limit)". */
  text: string;
  /** Used / limit from 0 to 1; undefined without a limit. */
  ratio?: number;
  /** At or over 90 % of the limit. */
  tight: boolean;
}

/** How much of a limit is used; a limit of 0 means none (as the server's quotas). */
export function share(used: number, limit: number, format: (n: number) => string = String): Share {
  if (limit <= 0) return { text: `${format(used)} (no limit)`, tight: false };
  const ratio = Math.min(1, used / limit);
  return { text: `${format(used)} of ${format(limit)}`, ratio, tight: used >= limit * 0.9 };
}

/** A job lease's holder is `host:pid:random`; people know the host and the process. */
export function holderText(holder: string): string {
  const [host, pid] = holder.split(':');
  return pid ? `${host} (process ${pid})` : holder;
}
