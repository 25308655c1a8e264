import { describe, expect, it } from 'vitest';
import { resourcesFromFlags } from '../src/update.js';

const read = (text: string) => ({ read: async () => text });

describe('resourcesFromFlags', () => {
  it("maps runc's flags onto LinuxResources as runc does", async () => {
    expect(
      await resourcesFromFlags({
        blkioWeight: 500,
        cpuPeriod: 100_000,
        cpuQuota: -1,
        cpuShare: 512,
        cpuRtPeriod: 1_000_000,
        cpuRtRuntime: 950_000,
        cpusetCpus: '0-1',
        cpusetMems: '0',
        memory: 2 ** 29,
        memoryReservation: 2 ** 28,
        memorySwap: -1,
        pidsLimit: 100,
      }),
    ).toEqual({
      memory: { limit: 2 ** 29, reservation: 2 ** 28, swap: -1 },
      cpu: {
        shares: 512,
        quota: -1,
        period: 100_000,
        realtimeRuntime: 950_000,
        realtimePeriod: 1_000_000,
        cpus: '0-1',
        mems: '0',
      },
      blockIO: { weight: 500 },
      pids: { limit: 100 },
    });
  });

  it('leaves out what was not given, and 0 (runc: unchanged)', async () => {
    expect(await resourcesFromFlags({})).toEqual({});
    expect(
      await resourcesFromFlags({ memory: 0, pidsLimit: 0, cpuShare: 0, cpusetCpus: '', blkioWeight: 0 }),
    ).toEqual({});
    expect(await resourcesFromFlags({ pidsLimit: -1 })).toEqual({ pids: { limit: -1 } });
  });

  it('reads -r as a validated LinuxResources document, ignoring the other flags as runc does', async () => {
    const ignored: string[] = [];
    const document = {
      memory: { limit: 1024, reservation: 0, swappiness: 10 },
      cpu: { shares: 2, cpus: '' },
      pids: { limit: 5 },
      devices: [{ allow: false, access: 'rwm' }],
      unified: { 'memory.high': '1M' },
    };
    expect(
      await resourcesFromFlags(
        { resources: 'r.json', memory: 4096 },
        { ...read(JSON.stringify(document)), onIgnored: (what) => ignored.push(what) },
      ),
    ).toEqual({
      memory: { limit: 1024 },
      cpu: { shares: 2 },
      pids: { limit: 5 },
      unified: { 'memory.high': '1M' },
    });
    expect(ignored).toEqual(['--memory', 'devices', 'memory.swappiness']);
  });

  it('names the document and the field of a bad value', async () => {
    await expect(
      resourcesFromFlags({ resources: 'r.json' }, read('{"memory":{"limit":"1g"}}')),
    ).rejects.toThrow(/^r\.json: memory\.limit: expected an integer/);
    await expect(resourcesFromFlags({ resources: '-' }, read('{"memory":'))).rejects.toThrow(/^<stdin>: /);
  });

  it("refuses Intel RDT with runc's words (no RDT here)", async () => {
    await expect(resourcesFromFlags({ l3CacheSchema: 'L3:0=f' })).rejects.toThrow(
      'Intel RDT/CAT: l3 cache schema is not enabled',
    );
    await expect(resourcesFromFlags({ memBwSchema: 'MB:0=50' })).rejects.toThrow(
      'Intel RDT/MBA: memory bandwidth schema is not enabled',
    );
  });
});
