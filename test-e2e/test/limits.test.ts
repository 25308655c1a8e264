// Running out of file descriptors: every start refused with a typed error that names the
// cause, and nothing left behind (the undo of a start must not need a new fd).
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostSnapshot, makeBundle, requireRoot, scratch, testIds } from '../src/harness.js';

let work: ReturnType<typeof scratch>;
let stateRoot: string;
let bundle: ReturnType<typeof makeBundle>;
const ids = testIds('emfile');

beforeAll(() => {
  requireRoot();
  work = scratch('limits');
  stateRoot = join(work.path, 'state');
  bundle = makeBundle(join(work.path, 'bundle'));
});
afterAll(() => work.cleanup());

const LIBRARY = fileURLToPath(new URL('../../packages/nsinit/dist/index.js', import.meta.url));

// Loads the library with fds to spare, then lowers its own RLIMIT_NOFILE (as a busy server
// would find itself) and starts rounds of ten containers at once.
const SCRIPT = `
import { execFileSync } from 'node:child_process';
const { run } = await import(process.env.LIBRARY);
const [rootfs, stateRoot, marker, limit] = process.argv.slice(2);
const config = {
  ociVersion: '1.0.2',
  process: { args: ['/bin/true'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
  root: { path: rootfs },
  mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
  linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] },
};
execFileSync('prlimit', ['--pid', String(process.pid), '--nofile=' + limit + ':' + limit]);
let count = 0;
const outcomes = [];
for (let round = 0; round < 3; round++) {
  const starts = Array.from({ length: 10 }, () =>
    run(config, { id: marker + ++count, stateRoot, stdio: 'ignore' }).then((container) => container.wait()),
  );
  for (const settled of await Promise.allSettled(starts)) {
    outcomes.push(settled.status === 'fulfilled' ? { ok: true } : { code: settled.reason.code, message: settled.reason.message });
  }
}
console.log(JSON.stringify(outcomes));
`;

describe('out of file descriptors', () => {
  it.each([40, 48, 56])(
    'refuses starts with typed errors and leaves nothing, at RLIMIT_NOFILE %i',
    (limit) => {
      const before = hostSnapshot([], stateRoot, ids.marker);
      const script = join(work.path, 'emfile.mjs');
      writeFileSync(script, SCRIPT);
      const result = spawnSync(
        process.execPath,
        [script, bundle.rootfs, stateRoot, ids.next(), String(limit)],
        {
          encoding: 'utf8',
          env: { ...process.env, LIBRARY },
          timeout: 60_000,
        },
      );
      expect(result.stderr).toBe('');
      const outcomes = JSON.parse(result.stdout) as { ok?: true; code?: string; message?: string }[];
      const refused = outcomes.filter((outcome) => !outcome.ok);
      expect(refused.length).toBeGreaterThan(0);
      for (const { code, message } of refused) {
        expect(code).toMatch(/^ERR_NSINIT_/);
        expect(message).toMatch(/EMFILE/);
      }
      expect(readdirSync(stateRoot)).toEqual([]);
      expect(hostSnapshot([], stateRoot, ids.marker)).toEqual(before);
    },
  );
});
