// What an ordered list of device rules means, computed the way the v1 devices
// controller computes it from the same writes (security/device_cgroup.c): a default
// (allow all or deny all) and exceptions to it. The v2 eBPF program is built from
// this, so a rule list behaves the same on v1 and v2.
import { type DeviceRule, formatDeviceRule } from './devices.js';
import { CgroupError } from './errors.js';

export const ACCESS_MKNOD = 1;
export const ACCESS_READ = 2;
export const ACCESS_WRITE = 4;

export interface DeviceException {
  type: 'c' | 'b';
  /** null: any. */
  major: number | null;
  minor: number | null;
  /** ACCESS_* bits. */
  access: number;
}

export interface DevicePolicy {
  /** true: every device but the exceptions' accesses; false: only the exceptions' accesses. */
  defaultAllow: boolean;
  exceptions: DeviceException[];
}

/** Device numbers as Linux has them: 12-bit majors, 20-bit minors. */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;

export function accessBits(access: string): number {
  let bits = 0;
  for (const letter of access)
    bits |= letter === 'm' ? ACCESS_MKNOD : letter === 'r' ? ACCESS_READ : ACCESS_WRITE;
  return bits;
}

function sameDevice(exception: DeviceException, rule: DeviceRule): boolean {
  return exception.type === rule.type && exception.major === rule.major && exception.minor === rule.minor;
}

/**
 * The policy an ordered rule list leaves, starting from allow-all. That start is the one
 * that keeps v1 and v2 alike: on v1 the same writes start from what the new cgroup
 * inherits, and on v2 the program is one of a chain (BPF_F_ALLOW_MULTI) whose ancestors'
 * programs still decide too, so allow-all here means "as the parent allows". A container's
 * own rules never rest on it: the mappers start every list with a rule for all devices.
 * As the kernel does: a rule for all devices resets the default and drops the exceptions;
 * a rule of the default's kind takes its accesses away from the exception for exactly that
 * device; a rule of the other kind adds its accesses to it.
 */
export function deviceRulesPolicy(rules: readonly DeviceRule[]): DevicePolicy {
  let defaultAllow = true;
  let exceptions: DeviceException[] = [];
  for (const rule of rules) {
    formatDeviceRule(rule); // the same checks as a v1 write: an access of r, w and m only
    if (rule.type === 'a') {
      defaultAllow = rule.allow;
      exceptions = [];
      continue;
    }
    for (const [field, value, max] of [
      ['major', rule.major, MAX_MAJOR],
      ['minor', rule.minor, MAX_MINOR],
    ] as const) {
      if (value !== null && (!Number.isInteger(value) || value < 0 || value > max)) {
        throw new CgroupError(
          `device rule "${formatDeviceRule(rule)}": ${field} ${value} is not a Linux device ${field} (0-${max})`,
          '',
          { value: String(value) },
        );
      }
    }
    const access = accessBits(rule.access);
    const existing = exceptions.find((exception) => sameDevice(exception, rule));
    if (rule.allow === defaultAllow) {
      if (existing) existing.access &= ~access;
      exceptions = exceptions.filter((exception) => exception.access !== 0);
    } else if (existing) {
      existing.access |= access;
    } else {
      exceptions.push({ type: rule.type, major: rule.major, minor: rule.minor, access });
    }
  }
  return { defaultAllow, exceptions };
}
