// A neighbour that rewrites a tree while nsinit reads it: two paths exchanged atomically
// (renameat2 RENAME_EXCHANGE), over and over, by a separate process, so that any lookup of
// either path by the code under test may see one or the other at any moment. Adversarial
// tests start one around the code they attack and assert that it never takes the bait.
import { type ChildProcess, spawn } from 'node:child_process';

// Python with ctypes: no compiler and no file on disk, and fast enough (some 200 000 swaps
// a second here) that a lookup racing it loses often. The loop dies with its parent
// (PR_SET_PDEATHSIG), so a test process that crashes does not leave it swapping forever.
// SIGTERM ends it after a whole swap; it then swaps once more if needed, so that both paths
// are back where they started, and prints how many swaps it made.
const EXCHANGE_LOOP = String.raw`
import ctypes, errno, os, signal, sys

AT_FDCWD = -100
RENAME_EXCHANGE = 2
PR_SET_PDEATHSIG = 1

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
if os.getppid() != int(sys.argv[3]):
    sys.exit(0)  # the test process is already gone

stopping = False
def request_stop(signum, frame):
    global stopping
    stopping = True
signal.signal(signal.SIGTERM, request_stop)

path_a, path_b = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
try:
    renameat2 = libc.renameat2
except AttributeError:
    sys.exit('renameat2 is missing from this libc (glibc 2.28 or newer has it)')
renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]

def exchange():
    if renameat2(AT_FDCWD, path_a, AT_FDCWD, path_b, RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        sys.exit('renameat2(RENAME_EXCHANGE) of %s and %s failed: %s (%s)'
                 % (sys.argv[1], sys.argv[2], os.strerror(err), errno.errorcode.get(err, err)))

exchange()
swaps = 1
sys.stdout.write('ready\n')
sys.stdout.flush()
while not stopping:
    exchange()
    swaps += 1
if swaps % 2 == 1:
    exchange()
    swaps += 1
sys.stdout.write('%d\n' % swaps)
`;

export interface ExchangeLoop {
  /** The process that swaps. */
  readonly pid: number;
  /**
   * Ends the loop and waits until its process has exited and been reaped. Both paths are back
   * where they were. Rejects when the loop failed (a path vanished, renameat2 refused): a race
   * test whose loop stopped early proved nothing. Safe to call more than once.
   */
  stop(): Promise<{ swaps: number }>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface ExchangeLoopOptions {
  /** Default `python3` (from PATH). */
  python?: string;
  /** How long the first swap may take. Default 5000 ms. */
  readyTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort when a test never called stop(): the loop must not outlive the test process. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/**
 * Starts exchanging `pathA` and `pathB` (both must exist, on one filesystem; either may be a
 * symlink or a directory) in a tight loop, and resolves once the first swap is done. Always
 * `stop()` it, e.g. in `finally` or `afterEach`:
 *
 * ```ts
 * const loop = await startExchangeLoop(join(rootfs, 'etc'), join(rootfs, 'etc-decoy'));
 * try { ...attack... } finally { const { swaps } = await loop.stop(); }
 * ```
 */
export async function startExchangeLoop(
  pathA: string,
  pathB: string,
  options: ExchangeLoopOptions = {},
): Promise<ExchangeLoop> {
  const python = options.python ?? 'python3';
  const child = spawn(python, ['-c', EXCHANGE_LOOP, pathA, pathB, String(process.pid)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  installExitHook();
  running.add(child);

  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>(
    (resolve) => {
      child.once('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
      // 'close', not 'exit': by then stdout (the swap count) has been read to its end.
      child.once('close', (code, signal) => resolve({ code, signal }));
    },
  );
  void exited.then(() => running.delete(child));

  const describe = (how: { code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }) =>
    how.spawnError
      ? `cannot run ${python} (${how.spawnError.message}); the race tests need python3 with ctypes (apt-get install python3)`
      : `the exchange loop of ${pathA} and ${pathB} ended (${how.signal ?? `exit code ${how.code}`}): ${stderr.trim() || 'no message'}`;

  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), options.readyTimeoutMs ?? 5000);
    const onData = () => {
      if (!stdout.startsWith('ready\n')) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve(true);
    };
    child.stdout!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      resolve(stdout.startsWith('ready\n'));
    });
  });
  if (!ready) {
    child.kill('SIGKILL');
    const how = await exited;
    throw new Error(`startExchangeLoop: no first swap: ${describe(how)}`);
  }

  let stopped: Promise<{ swaps: number }> | undefined;
  const stop = (): Promise<{ swaps: number }> => {
    stopped ??= (async () => {
      child.kill('SIGTERM');
      // A loop stuck in the kernel (a path on a hung filesystem) still has to go.
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const how = await exited;
      clearTimeout(killer);
      const swaps = Number(stdout.slice('ready\n'.length).trim());
      if (how.code !== 0 || !Number.isInteger(swaps)) throw new Error(`startExchangeLoop: ${describe(how)}`);
      return { swaps };
    })();
    return stopped;
  };
  return {
    pid: child.pid!,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}
