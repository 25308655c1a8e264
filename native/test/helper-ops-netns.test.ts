// The helper's SETNS op joining a network namespace (the `netns` network strategy): the
// helper runs under `unshare --mount --pid --fork` with the namespace fd placed at 5 by a
// shell, as the parent places the fd it opened.
import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLONE_NEWNET } from '../lib/constants.js';
import { encodeProgram, type InitOp, OPCODES } from '../lib/program.js';
import { decodeChildReport } from '../lib/report.js';
import { assertHelperBuilt, holdNetworkNamespace, onlyError, runHelper } from './helper-harness.js';

const EINVAL = 22;
const NS_FD = 5;

let holder: Awaited<ReturnType<typeof holdNetworkNamespace>>;

beforeAll(async () => {
  assertHelperBuilt();
  // A network namespace with a veth pair whose names only it has.
  holder = await holdNetworkNamespace('ip link add ns-probe0 type veth peer name ns-probe1');
});

afterAll(() => holder.release());

/** unshare, then a shell that opens `path` at fd 5 and execs the helper. */
const withNamespaceFd = (path: string) => [
  'unshare',
  '--mount',
  '--pid',
  '--fork',
  '--',
  'sh',
  '-c',
  `exec ${NS_FD}<"$0" && exec "$@"`,
  path,
];

const sh = (script: string): InitOp => ({
  op: 'exec',
  args: ['/bin/sh', '-c', script],
  env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
});

it('joins the network namespace behind the fd before the command runs', async () => {
  const run = await runHelper(
    encodeProgram([
      { op: 'setns', fd: NS_FD, nstype: CLONE_NEWNET },
      { op: 'close', fd: NS_FD },
      sh('readlink /proc/self/ns/net; ip -o link show | cut -d: -f2 | cut -d@ -f1'),
    ]),
    { wrap: withNamespaceFd(holder.path) },
  );
  expect(decodeChildReport(run.report)).toBeNull();
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const [netns, ...links] = run.stdout.trim().split('\n');
  expect(netns).toBe(readlinkSync(holder.path));
  expect(netns).not.toBe(readlinkSync('/proc/self/ns/net'));
  expect(links.map((l) => l.trim()).sort()).toEqual(['lo', 'ns-probe0', 'ns-probe1']);
});

it('reports a namespace of another type as EINVAL on the SETNS op', async () => {
  const run = await runHelper(encodeProgram([{ op: 'setns', fd: NS_FD, nstype: CLONE_NEWNET }, sh('true')]), {
    wrap: withNamespaceFd('/proc/self/ns/uts'),
  });
  const error = onlyError(run);
  expect(error).toMatchObject({ opIndex: 0, opcode: OPCODES.setns, errno: EINVAL });
  expect(error.detail).toBe(`setns fd ${NS_FD} (0x40000000)`);
});
