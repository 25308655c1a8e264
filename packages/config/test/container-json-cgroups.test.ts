// A 2014 container.json's `cgroups` becomes OCI `linux.resources` and `linux.cgroupsPath`
// here, and only here: @nsinit/cgroups maps OCI alone. What an absent device rule list
// means (runc's default rules, never every device) is decided there, from OCI.
import { afterEach, describe, expect, it } from 'vitest';
import { convertContainerJson, type DeepReadonly, type OciConfig } from '../src/index.js';
import { expectConfigError, tempDirs } from './helpers.js';

const temp = tempDirs();
afterEach(() => temp.cleanup());

async function convertCgroups(cgroups: unknown): Promise<NonNullable<DeepReadonly<OciConfig>['linux']>> {
  const baseDir = await temp.make();
  const { config } = convertContainerJson(cgroups === undefined ? {} : { cgroups }, { baseDir });
  return config.linux ?? {};
}

/** The OCI rule for all devices that container.json's "allow all" becomes: with it first, runc's list adds nothing. */
const ALL_DEVICES = { allow: true, access: 'rwm' };
const DENY_ALL = { allow: false, access: 'rwm' };

describe('convertContainerJson: cgroups', () => {
  it('maps the 2014 fields, memory_swap as the memory+swap total it documents', async () => {
    const linux = await convertCgroups({
      name: 'web',
      parent: 'nsinit',
      memory: 64 << 20,
      memory_reservation: 32 << 20,
      memory_swap: 96 << 20,
      cpu_shares: 512,
      cpu_quota: 20_000,
      cpu_period: 100_000,
      cpuset_cpus: '0-1',
      cpuset_mems: '0',
      freezer: 'THAWED',
    });
    expect(linux.cgroupsPath).toBe('nsinit/web');
    expect(linux.resources).toEqual({
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20 },
      cpu: { shares: 512, quota: 20_000, period: 100_000, cpus: '0-1', mems: '0' },
    });
  });

  it('reads Go zero values as unset, and -1 as no limit', async () => {
    const zero = await convertCgroups({ name: '', memory: 0, cpu_shares: 0, cpuset_cpus: '', freezer: '' });
    expect(zero.resources).toBeUndefined();
    expect(zero.cgroupsPath).toBeUndefined();
    const none = await convertCgroups(undefined);
    expect(none.resources).toBeUndefined();
    expect(none.cgroupsPath).toBeUndefined();
    expect((await convertCgroups({ memory: 1 << 20, memory_swap: -1 })).resources).toEqual({
      memory: { limit: 1 << 20, swap: -1 },
    });
  });

  it('turns the device fields into rules: every device, or deny all but the listed ones', async () => {
    expect((await convertCgroups({ allow_all_devices: true })).resources?.devices).toEqual([ALL_DEVICES]);
    expect((await convertCgroups({ device_access: true })).resources?.devices).toEqual([ALL_DEVICES]);
    expect(
      (
        await convertCgroups({
          allowed_devices: [
            { type: 99, major_number: 1, minor_number: 3, cgroup_permissions: 'rwm' },
            { type: 'b', major_number: 8, minor_number: -1, cgroup_permissions: 'r' },
            { type: 99, major_number: 136, minor_number: -1 },
          ],
        })
      ).resources?.devices,
    ).toEqual([
      DENY_ALL,
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'b', major: 8, access: 'r' },
      { allow: true, type: 'c', major: 136, access: 'rwm' },
    ]);
  });

  it('gives no rules when no device key says otherwise, so the container gets the default rules', async () => {
    for (const cgroups of [
      undefined,
      { name: 'web' },
      { memory: 1 },
      { allow_all_devices: false, device_access: false },
    ]) {
      expect((await convertCgroups(cgroups)).resources?.devices, JSON.stringify(cgroups)).toBeUndefined();
    }
    // An empty allowlist is deny all, to which @nsinit/cgroups adds the defaults: the same.
    expect((await convertCgroups({ allowed_devices: [] })).resources?.devices).toEqual([DENY_ALL]);
  });

  it('starts every rule list with a rule for all devices, so no container inherits its parent rules', async () => {
    for (const cgroups of [
      { allowed_devices: [] },
      { allowed_devices: [{ type: 99, major_number: 1, minor_number: 3 }] },
      { allow_all_devices: true },
    ]) {
      const [first] = (await convertCgroups(cgroups)).resources?.devices ?? [];
      expect(first?.type ?? 'a', JSON.stringify(cgroups)).toBe('a');
    }
  });

  it('refuses device types no cgroup rule has, and freezer states a starting container cannot have', async () => {
    const baseDir = await temp.make();
    const error = expectConfigError(() =>
      convertContainerJson({ cgroups: { allowed_devices: [{ type: 112 }], freezer: 'PAUSED' } }, { baseDir }),
    );
    expect(error.issues).toEqual([
      {
        path: 'cgroups.freezer',
        message: '"PAUSED": a container starts thawed; freeze a running one with `nsinit pause`',
      },
      { path: 'cgroups.allowed_devices[0].type', message: "type 'p' cannot be used in a cgroup rule" },
    ]);
  });
});
