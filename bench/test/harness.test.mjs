import { describe, expect, it } from 'vitest';
import { describeSampling, interleave, liveChildCount, runCommand } from '../lib/harness.mjs';

describe('interleave', () => {
  it('runs contenders in turn, rotating who opens each round, and drops the warm-up rounds', async () => {
    const order = [];
    // Each run returns its position in the whole sequence as its sample.
    const contender = (name) => ({
      name,
      run: async () => {
        order.push(name);
        return order.length;
      },
    });
    const samples = await interleave([contender('a'), contender('b'), contender('c')], {
      iterations: 2,
      warmup: 1,
    });
    expect(order).toEqual(['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
    // Samples are what run() returned, from the rounds after the warm-up only.
    expect(samples.get('a')).toEqual([6, 8]);
    expect(samples.get('b')).toEqual([4, 9]);
    expect(samples.get('c')).toEqual([5, 7]);
  });

  it('times a contender that returns no sample of its own', async () => {
    const samples = await interleave(
      [{ name: 'wait', run: () => new Promise((resolve) => setTimeout(resolve, 20)) }],
      {
        iterations: 1,
      },
    );
    expect(samples.get('wait')[0]).toBeGreaterThanOrEqual(15);
  });
});

describe('runCommand', () => {
  it('resolves when the command exits 0', async () => {
    await expect(runCommand('/bin/true', [])).resolves.toBeUndefined();
    expect(liveChildCount()).toBe(0);
  });

  it('rejects with the exit code and the stderr of a failing command', async () => {
    await expect(runCommand('sh', ['-c', 'echo broken bundle >&2; exit 3'])).rejects.toThrow(
      /sh -c .* exited with 3: broken bundle/,
    );
    expect(liveChildCount()).toBe(0);
  });

  it('rejects when the command cannot start', async () => {
    await expect(runCommand('/nonexistent/runtime', [])).rejects.toThrow(
      /cannot start \/nonexistent\/runtime/,
    );
  });
});

describe('describeSampling', () => {
  it('counts in singular and plural', () => {
    expect(describeSampling({ iterations: 1, warmup: 1 }, 'batch')).toBe(
      '1 interleaved batch per contender after 1 warm-up round',
    );
    expect(describeSampling({ iterations: 5, warmup: 1 }, 'batch')).toMatch(/^5 interleaved batches /);
    expect(describeSampling({ iterations: 100, warmup: 3 })).toBe(
      '100 interleaved runs per contender after 3 warm-up rounds',
    );
  });
});
