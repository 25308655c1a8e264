// v1-style values (what OCI and container.json carry) in cgroup v2 terms, as runc and
// crun document them, so a container gets the same cgroup whichever runtime starts it.
import { CgroupError } from './errors.js';

/**
 * cpu.shares [2, 262144] (default 1024) to cpu.weight [1, 10000] (default 100). The
 * curve runc (since 1.3.2, opencontainers/cgroups) and crun now use: a quadratic in
 * log2(shares) through the minimum, the default and the maximum of both ranges, so the
 * default maps to the default (the earlier linear formula turned 1024 into 39).
 */
export function cpuSharesToWeight(shares: number): number {
  if (shares <= 2) return 1;
  if (shares >= 262_144) return 10_000;
  const log2 = Math.log2(shares);
  return Math.ceil(10 ** ((log2 * log2 + 125 * log2) / 612 - 7 / 34));
}

/** blkio.weight [10, 1000] to io.weight [1, 10000], linearly (runc, crun). */
export function blkioWeightToIoWeight(weight: number): number {
  return 1 + Math.trunc(((weight - 10) * 9999) / 990);
}

/**
 * memory.swap.max from OCI's memory+swap total: swap alone is total - limit. Returns
 * undefined when nothing is to be written, -1 for `max`.
 */
export function memorySwapToV2(swap: number | undefined, limit: number | undefined): number | undefined {
  // As on v1, lifting the memory limit without a word about swap lifts both.
  if (limit === -1 && swap === undefined) return -1;
  if (swap === undefined || swap === -1) return swap;
  if (limit === undefined || limit === -1) {
    throw new CgroupError(
      `memory.swap ${swap} is memory plus swap, so it needs a memory.limit to take swap from (cgroup v2 memory.swap.max)`,
      '',
      { value: String(swap) },
    );
  }
  if (swap < limit) {
    throw new CgroupError(
      `memory.swap ${swap} is memory plus swap: it cannot be below memory.limit ${limit}`,
      '',
      {
        value: String(swap),
      },
    );
  }
  return swap - limit;
}
