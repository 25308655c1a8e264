// The library's types as a Node developer meets them: checked by `pnpm typecheck` (vitest's
// expectTypeOf), so a regression fails the build, not a user's code.
import type { Readable, Writable } from 'node:stream';
import type { OciConfig } from '@nsinit/config';
import { describe, expectTypeOf, it } from 'vitest';
import { type ExitResult, type Output, run } from '../src/index.js';
import type { ContainerFor } from '../src/run.js';

describe('stream types follow the stdio option, as child_process overloads do', () => {
  it('gives non-null streams where a stdio entry is pipe, null elsewhere', () => {
    type C = ContainerFor<readonly ['ignore', 'pipe', 'pipe']>;
    expectTypeOf<C['stdin']>().toEqualTypeOf<null>();
    expectTypeOf<C['stdout']>().toEqualTypeOf<Readable>();
    expectTypeOf<C['stderr']>().toEqualTypeOf<Readable>();
    expectTypeOf<ContainerFor<'pipe'>['stdin']>().toEqualTypeOf<Writable>();
    expectTypeOf<ContainerFor<'inherit'>['stdout']>().toEqualTypeOf<null>();
  });

  it('infers the option from a call, without a cast', () => {
    // Never called: the compiler checks the types of what a call would give.
    const started = async (config: OciConfig) => {
      const container = await run(config, { stdio: ['ignore', 'pipe', 'pipe'] });
      expectTypeOf(container.stdout).toEqualTypeOf<Readable>();
      expectTypeOf(container.stdin).toEqualTypeOf<null>();
      const plain = await run(config);
      expectTypeOf(plain.stdout).toEqualTypeOf<Readable | null>();
    };
    expectTypeOf(started).toBeFunction();
  });

  it('leaves a stream nullable when the option is not known (a terminal may take stdio)', () => {
    type C = ContainerFor<'pipe' | 'inherit' | 'ignore' | number>;
    expectTypeOf<C['stdout']>().toEqualTypeOf<Readable | null>();
  });

  it('has one exit shape, with oomKilled, for wait() and output()', () => {
    expectTypeOf<Awaited<ReturnType<ContainerFor<'pipe'>['wait']>>>().toEqualTypeOf<ExitResult>();
    expectTypeOf<Output['exit']>().toEqualTypeOf<ExitResult>();
    expectTypeOf<ExitResult['signal']>().toEqualTypeOf<NodeJS.Signals | null>();
    expectTypeOf<ExitResult['oomKilled']>().toEqualTypeOf<boolean>();
  });
});
