// Device access rules and the cgroup v1 `devices` controller.
import { CgroupError } from './errors.js';

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
