import { describe, expect, it } from 'vitest';
import { blkioWeightToIoWeight, CgroupError, cpuSharesToWeight, memorySwapToV2 } from '../src/index.js';

describe('cpuSharesToWeight', () => {
  it('maps the minimum, the default and the maximum of cpu.shares onto those of cpu.weight', () => {
    expect(cpuSharesToWeight(2)).toBe(1);
    expect(cpuSharesToWeight(1024)).toBe(100);
    expect(cpuSharesToWeight(262_144)).toBe(10_000);
  });

  it('clamps values outside the v1 range and rounds up in between (runc 1.3.2+, crun)', () => {
    expect(cpuSharesToWeight(1)).toBe(1);
    expect(cpuSharesToWeight(3)).toBe(2);
    expect(cpuSharesToWeight(512)).toBe(59);
    expect(cpuSharesToWeight(2048)).toBe(174);
    expect(cpuSharesToWeight(262_143)).toBe(10_000);
    expect(cpuSharesToWeight(1_000_000)).toBe(10_000);
  });
});

describe('blkioWeightToIoWeight', () => {
  it('maps [10, 1000] linearly onto [1, 10000]', () => {
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(500)).toBe(4950);
    expect(blkioWeightToIoWeight(1000)).toBe(10_000);
  });
});

describe('memorySwapToV2', () => {
  it('takes the memory limit out of the memory+swap total', () => {
    expect(memorySwapToV2(3000, 1000)).toBe(2000);
    expect(memorySwapToV2(1000, 1000)).toBe(0);
  });

  it('keeps "no limit" and "not set", and lifts swap with memory when swap is not mentioned', () => {
    expect(memorySwapToV2(-1, 1000)).toBe(-1);
    expect(memorySwapToV2(undefined, 1000)).toBeUndefined();
    expect(memorySwapToV2(undefined, undefined)).toBeUndefined();
    expect(memorySwapToV2(undefined, -1)).toBe(-1);
  });

  it('refuses a total without a memory limit, or below it', () => {
    expect(() => memorySwapToV2(3000, undefined)).toThrow(CgroupError);
    expect(() => memorySwapToV2(3000, -1)).toThrow(
      'memory.swap 3000 is memory plus swap, so it needs a memory.limit',
    );
    expect(() => memorySwapToV2(500, 1000)).toThrow(
      'memory.swap 500 is memory plus swap: it cannot be below memory.limit 1000',
    );
  });
});
