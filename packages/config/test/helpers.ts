import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../src/index.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export function readFixture(relative: string): unknown {
  return JSON.parse(readFileSync(path.join(FIXTURES, relative), 'utf8'));
}

/** Run `fn`, expect a ConfigError, return it. */
export function expectConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

export async function expectConfigErrorAsync(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the promise resolved');
}

/** Temp dirs under os.tmpdir(), removed by `cleanup()` (call it in afterEach). */
export function tempDirs() {
  const created: string[] = [];
  return {
    async make(prefix = 'nsinit-spec-'): Promise<string> {
      const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
      created.push(dir);
      return dir;
    },
    async cleanup(): Promise<void> {
      await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}
