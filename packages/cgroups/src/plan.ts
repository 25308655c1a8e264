// What planning a cgroup's files shares between v1 and v2: the write list, the value
// checks that name the resource field and the value refused, and the writes that are
// the same on both.
import { CgroupError } from './errors.js';
import type { CgroupResources, HugepageLimit } from './resources.js';

export interface CgroupWrite {
  /**
   * v1: the controller whose hierarchy holds the file. v2: the controller that must be
   * enabled for the file to exist, or null for core files.
   */
  controller: string | null;
  /** The file's name in the cgroup's directory, e.g. memory.max. */
  file: string;
  value: string;
}

export function refuse(field: string, value: unknown, why: string): never {
  throw new CgroupError(`${field} ${JSON.stringify(value)}: ${why}`, '', { value: String(value) });
}

/** An integer no smaller than `min`, as the decimal text a cgroup file takes. */
export function integerText(
  field: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): string {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    refuse(field, value, `expected an integer from ${min} to ${max}`);
  }
  return String(value);
}

/** An integer limit where -1 means none: `max` on v2, -1 on v1 (`noLimit`). */
export function limitText(field: string, value: number, noLimit: string): string {
  return value === -1 ? noLimit : integerText(field, value, 0);
}

/** A value for a file that takes one line: no line breaks that could smuggle a second. */
export function lineText(field: string, value: string): string {
  if (/[\n\r\0]/.test(value)) refuse(field, value, 'line breaks and NUL bytes are not allowed');
  return value;
}

/** OCI hugepage sizes ('2MB', '1GB', '64KB') name the kernel's hugetlb.<size>.* files. */
export function hugepageSizeText(field: string, pageSize: string): string {
  if (!/^[1-9]\d*[KMG]B$/.test(pageSize))
    refuse(field, pageSize, 'expected a page size like 2MB, 1GB or 64KB');
  return pageSize;
}

export function deviceNumberText(field: string, device: { major: number; minor: number }): string {
  return `${integerText(`${field}.major`, device.major, 0, 0xfff)}:${integerText(`${field}.minor`, device.minor, 0, 0xfffff)}`;
}

/** cpuset.cpus and cpuset.mems: the same files and values on v1 and v2. */
export function cpusetWrites(cpu: NonNullable<CgroupResources['cpu']>): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  if (cpu.cpus !== undefined)
    writes.push({ controller: 'cpuset', file: 'cpuset.cpus', value: lineText('cpu.cpus', cpu.cpus) });
  if (cpu.mems !== undefined)
    writes.push({ controller: 'cpuset', file: 'cpuset.mems', value: lineText('cpu.mems', cpu.mems) });
  return writes;
}

/** pids.max: the same file and value on v1 and v2. */
export function pidsWrite(pids: NonNullable<CgroupResources['pids']>): CgroupWrite {
  return {
    controller: 'pids',
    file: 'pids.max',
    value: pids.limit < 0 ? 'max' : integerText('pids.limit', pids.limit, 0),
  };
}

/** hugetlb.<size>.<limitFile> for each page size: `limit_in_bytes` on v1, `max` on v2. */
export function hugetlbWrites(limits: readonly HugepageLimit[], limitFile: string): CgroupWrite[] {
  return limits.map(({ pageSize, limit }, index) => {
    const field = `hugepageLimits[${index}]`;
    const file = `hugetlb.${hugepageSizeText(`${field}.pageSize`, pageSize)}.${limitFile}`;
    return { controller: 'hugetlb', file, value: integerText(`${field}.limit`, limit, 0) };
  });
}
