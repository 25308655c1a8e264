import { describe, expect, expectTypeOf, it } from 'vitest';
// Types only: the mapper takes @nsinit/config's parsed configs as they are.
import type { OciLinux } from '../../config/src/index.js';
import {
  type CgroupResources,
  DEFAULT_ALLOWED_DEVICES,
  type DeviceRule,
  deviceRulesFromOci,
  deviceRulesPolicy,
  resourcesFromOci,
} from '../src/index.js';

const DENY_ALL: DeviceRule = { allow: false, type: 'a', major: null, minor: null, access: 'rwm' };
/** What every container gets when its config says nothing about devices. */
const DEFAULT_RULES: DeviceRule[] = [DENY_ALL, ...DEFAULT_ALLOWED_DEVICES];

describe('resourcesFromOci', () => {
  it('maps every linux.resources field', () => {
    const resources = resourcesFromOci({
      memory: {
        limit: 1000,
        reservation: 500,
        swap: 2000,
        swappiness: 10,
        disableOOMKiller: true,
        checkBeforeUpdate: true,
      },
      cpu: {
        shares: 512,
        quota: 5000,
        period: 10_000,
        burst: 1000,
        realtimeRuntime: 10,
        realtimePeriod: 100,
        cpus: '0',
        mems: '0',
        idle: 1,
      },
      pids: { limit: 32 },
      blockIO: {
        weight: 100,
        leafWeight: 50,
        weightDevice: [{ major: 8, minor: 0, weight: 300 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 10 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 20 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 30 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 40 }],
      },
      hugepageLimits: [{ pageSize: '2MB', limit: 4096 }],
      network: { classID: 7, priorities: [{ name: 'eth0', priority: 1 }] },
      unified: { 'memory.high': '900' },
    });
    expect(resources).toEqual({
      memory: {
        limit: 1000,
        reservation: 500,
        swap: 2000,
        swappiness: 10,
        disableOomKiller: true,
        checkBeforeUpdate: true,
      },
      cpu: {
        shares: 512,
        quota: 5000,
        period: 10_000,
        burst: 1000,
        realtimeRuntime: 10,
        realtimePeriod: 100,
        cpus: '0',
        mems: '0',
        idle: 1,
      },
      pids: { limit: 32 },
      blockIO: {
        weight: 100,
        leafWeight: 50,
        weightDevice: [{ major: 8, minor: 0, weight: 300 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 10 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 20 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 30 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 40 }],
      },
      hugepageLimits: [{ pageSize: '2MB', limit: 4096 }],
      network: { classId: 7, priorities: [{ name: 'eth0', priority: 1 }] },
      unified: { 'memory.high': '900' },
      devices: DEFAULT_RULES,
    } satisfies CgroupResources);
  });

  it('reads 0 as unset, as runc does, and keeps -1 (no limit)', () => {
    expect(
      resourcesFromOci({
        memory: { limit: 0, swap: -1, swappiness: undefined },
        cpu: { shares: 0, quota: 0, period: 0, cpus: '' },
        pids: { limit: 0 },
        blockIO: { weight: 0, weightDevice: [] },
        hugepageLimits: [],
        unified: {},
      }),
    ).toEqual({ memory: { swap: -1 }, devices: DEFAULT_RULES });
    expect(resourcesFromOci({ pids: { limit: -1 } })).toEqual({
      pids: { limit: -1 },
      devices: DEFAULT_RULES,
    });
    expect(resourcesFromOci(undefined)).toEqual({ devices: DEFAULT_RULES });
  });

  it('orders device rules as runc does: the config, the defaults, then the device nodes', () => {
    const { devices } = resourcesFromOci(
      {
        devices: [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', major: 4, access: 'rw' },
        ],
      },
      [{ type: 'c', major: 10, minor: 229 }, { type: 'b', major: 7, minor: 0 }, { type: 'p' }],
    );
    expect(devices).toEqual([
      DENY_ALL,
      { allow: true, type: 'c', major: 4, minor: null, access: 'rw' },
      ...DEFAULT_ALLOWED_DEVICES,
      { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' },
      { allow: true, type: 'b', major: 7, minor: 0, access: 'rwm' },
    ]);
    // No rules in the config: deny all but the defaults and the config's own nodes.
    expect(resourcesFromOci({ devices: [] }, [{ type: 'c', major: 1, minor: 1 }])).toEqual({
      devices: [...DEFAULT_RULES, { allow: true, type: 'c', major: 1, minor: 1, access: 'rwm' }],
    });
  });

  it('always gives device rules: the defaults when the config has none, never every device', () => {
    const nodes = [{ type: 'c', major: 10, minor: 229 }, { type: 'p' }];
    const fuse: DeviceRule = { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' };
    expect(deviceRulesFromOci(undefined)).toEqual(DEFAULT_RULES);
    expect(deviceRulesFromOci([])).toEqual(DEFAULT_RULES);
    expect(deviceRulesFromOci(undefined, nodes)).toEqual([...DEFAULT_RULES, fuse]);
    expect(resourcesFromOci(undefined, nodes)).toEqual({ devices: [...DEFAULT_RULES, fuse] });
    expect(resourcesFromOci({}).devices).toEqual(DEFAULT_RULES);
    expect(resourcesFromOci({ memory: { limit: 1 << 20 } }).devices).toEqual(DEFAULT_RULES);
    expect(deviceRulesPolicy(DEFAULT_RULES)).toMatchObject({ defaultAllow: false });
  });

  it('reads config rules as an allowlist: deny all first unless the first rule is for all devices', () => {
    const tun: DeviceRule = { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' };
    // A rule against one device on its own does not mean "everything else" (runc starts from deny-all).
    expect(deviceRulesFromOci([{ allow: false, type: 'b', major: 7, access: 'rwm' }])).toEqual([
      DENY_ALL,
      { allow: false, type: 'b', major: 7, minor: null, access: 'rwm' },
      ...DEFAULT_ALLOWED_DEVICES,
    ]);
    expect(deviceRulesFromOci([{ allow: true, type: 'c', major: 10, minor: 200 }])).toEqual([
      DENY_ALL,
      tun,
      ...DEFAULT_ALLOWED_DEVICES,
    ]);
    // A privileged container: every device, the defaults and nodes changing nothing after it.
    const privileged = deviceRulesFromOci(
      [{ allow: true, access: 'rwm' }],
      [{ type: 'b', major: 7, minor: 0 }],
    );
    expect(privileged[0]).toEqual({ allow: true, type: 'a', major: null, minor: null, access: 'rwm' });
    expect(privileged.slice(1, -1)).toEqual(DEFAULT_ALLOWED_DEVICES);
    expect(deviceRulesPolicy(privileged)).toEqual({ defaultAllow: true, exceptions: [] });
  });

  it('starts every rule list with a rule for all devices, so no container inherits its parent rules', () => {
    // deviceRulesPolicy (and the v1 kernel) start from what the parent allows; these lists
    // reset that first, so what they mean does not depend on it.
    for (const rules of [
      deviceRulesFromOci(undefined),
      deviceRulesFromOci([{ allow: true, type: 'c', major: 1, minor: 3, access: 'r' }]),
      deviceRulesFromOci([{ allow: false, access: 'rwm' }]),
      deviceRulesFromOci([{ allow: true, access: 'rwm' }]),
    ]) {
      expect(rules[0]?.type).toBe('a');
    }
  });

  it('refuses what it cannot enforce, naming the field', () => {
    expect(() => resourcesFromOci({ memory: { kernel: 1 << 20 } })).toThrow(
      'linux.resources.memory.kernel 1048576: kernel memory limits',
    );
    expect(() => resourcesFromOci({ memory: { kernelTCP: 1 } })).toThrow(
      'linux.resources.memory.kernelTCP 1',
    );
    expect(() => resourcesFromOci({ memory: { useHierarchy: false } })).toThrow(
      'linux.resources.memory.useHierarchy false',
    );
    expect(() => resourcesFromOci({ rdma: { mlx5_1: { hcaHandles: 3 } } })).toThrow(
      'linux.resources.rdma "mlx5_1"',
    );
    expect(() => resourcesFromOci({ devices: [{ allow: true, type: 'u' }] })).toThrow(
      'linux.resources.devices[0].type "u": expected a, c or b',
    );
  });

  it("takes @nsinit/config's parsed linux section as it is", () => {
    expectTypeOf(resourcesFromOci).toBeCallableWith(
      {} as NonNullable<OciLinux['resources']>,
      [] as NonNullable<OciLinux['devices']>,
    );
  });
});
