// Device access rules and the cgroup v1 `devices` controller.
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { CgroupError, systemCause } from './errors.js';

export interface DeviceRule {
  allow: boolean;
  /** 'a' (all devices), 'c' (character) or 'b' (block). */
  type: 'a' | 'c' | 'b';
  /** null: any. */
  major: number | null;
  minor: number | null;
  /** Some of r (read), w (write), m (mknod). */
  access: string;
}

/**
 * What every container may use whatever its rules say (runc's list, appended
 * after the config's rules): mknod of any node, the standard devices, ptys, tun.
 */
export const DEFAULT_ALLOWED_DEVICES: readonly DeviceRule[] = Object.freeze([
  { allow: true, type: 'c', major: null, minor: null, access: 'm' },
  { allow: true, type: 'b', major: null, minor: null, access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
] satisfies DeviceRule[]);

/** The line the v1 controller takes: `c 1:3 rwm`, `a *:* rwm`. */
export function formatDeviceRule(rule: DeviceRule): string {
  if (!/^[rwm]{1,3}$/.test(rule.access) || new Set(rule.access).size !== rule.access.length) {
    throw new CgroupError(`device rule access "${rule.access}" must be some of r, w and m`, '');
  }
  if (rule.type === 'a') return `a *:* ${rule.access}`;
  const number = (n: number | null) => (n === null ? '*' : String(n));
  return `${rule.type} ${number(rule.major)}:${number(rule.minor)} ${rule.access}`;
}

/**
 * A devices cgroup this process created. Rules are written in order, which the
 * v1 controller evaluates as the ordered list means: a rule for all devices
 * resets to allow-all or deny-all, later rules make exceptions.
 */
export class DevicesCgroupV1 {
  private constructor(
    /** The cgroup's directory, e.g. /sys/fs/cgroup/devices/nsinit-x. */
    readonly path: string,
  ) {}

  /** Creates the cgroup; one that already exists is an error, since it is not ours to change. */
  static async create(mountPoint: string, cgroupPath: string): Promise<DevicesCgroupV1> {
    const path = `${mountPoint}${cgroupPath}`;
    try {
      await mkdir(path, { mode: 0o755 });
    } catch (error) {
      const why =
        (error as { code?: string }).code === 'EEXIST'
          ? 'it already exists and is not ours'
          : systemCause(error);
      throw new CgroupError(`cannot create the devices cgroup ${path}: ${why}`, path, { cause: error });
    }
    return new DevicesCgroupV1(path);
  }

  async setRules(rules: readonly DeviceRule[]): Promise<void> {
    // Every rule is checked before the first is written: a bad one must not leave half a policy.
    const lines = rules.map(
      (rule) => [rule.allow ? 'devices.allow' : 'devices.deny', formatDeviceRule(rule)] as const,
    );
    for (const [name, line] of lines) {
      const file = `${this.path}/${name}`;
      try {
        await writeFile(file, line);
      } catch (error) {
        throw new CgroupError(`cannot write "${line}" to ${file}: ${systemCause(error)}`, file, {
          cause: error,
        });
      }
    }
  }

  async addProcess(pid: number): Promise<void> {
    const file = `${this.path}/cgroup.procs`;
    try {
      await writeFile(file, String(pid));
    } catch (error) {
      throw new CgroupError(`cannot move pid ${pid} into ${this.path}: ${systemCause(error)}`, file, {
        cause: error,
      });
    }
  }

  /**
   * Removes the cgroup once it is empty. The kernel may report EBUSY for a short
   * while after the last process died, so this retries briefly.
   */
  async destroy(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await rmdir(this.path);
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ENOENT') return;
        if (code !== 'EBUSY' || attempt >= 50) {
          throw new CgroupError(`cannot remove ${this.path}: ${systemCause(error)}`, this.path, {
            cause: error,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 2 * (attempt + 1)));
      }
    }
  }
}
