// The end-to-end tests' side of real clients (podman + conmon, containerd + its runc shim): the
// runtime under test, a test bed with the runtime wrapped as one executable that logs its calls,
// and the check that nothing is left. The private podman and containerd themselves are in
// engines.mjs, shared with the benchmarks.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  cgroupDirsNamed,
  describeRuntime,
  missingVerbs,
  mountsUnder,
  processesMentioning,
  type Runtime,
  readArgvLog,
  verbOf,
  watchHost,
  which,
  writeRuntimeWrapper,
} from './engines.mjs';
import { buildBusyboxRootfs, CLI, requireRoot, scratch } from './harness.js';

export * from './engines.mjs';

/**
 * The runtime under test: nsinit (`node packages/nsinit/dist/cli.cjs`) unless
 * E2E_CLIENT_RUNTIME names another runc-compatible one, by path or by name on PATH:
 * `E2E_CLIENT_RUNTIME=/usr/sbin/runc` or `=crun` runs the same tests against it.
 */
export const CLIENT_RUNTIME: Runtime = describeRuntime(process.env.E2E_CLIENT_RUNTIME, CLI);

/** The image every test bed imports: the busybox rootfs of the other end-to-end tests. */
export const IMAGE = 'localhost/bb';

export interface ClientBed {
  /** The test's directory: stores, sockets, the wrapper, logs. Removed by `leftovers()`. */
  dir: string;
  runtime: Runtime;
  /** The executable the clients are given as the runtime. */
  wrapper: string;
  /** The state root the wrapper passes (when asked for one), to check that deletes empty it. */
  runtimeRoot: string;
  /** The busybox rootfs, for importing. */
  rootfs: string;
  /** Named after the file and this process: this run's containers' cgroups are under it. */
  cgroupParent: string;
  /** Every call the clients made to the runtime so far, each as its arguments. */
  calls(): string[][];
  /** The verbs of those calls, in order of first use. */
  verbs(): string[];
  /** Where the bundles' config.json of `create` calls are copied, as `<id>.json`. */
  configsDir: string;
  /**
   * After the client is stopped: what is left of this bed (processes mentioning its directory,
   * mounts under it, its cgroups, paths the clients created outside it), a line each; removes
   * the directory. Once: later calls return nothing.
   */
  leftovers(): string[];
}

/**
 * A test bed for one file: checks the machine (root, the commands, the runtime's verbs), makes
 * a scratch dir, the busybox rootfs and the wrapper. `wrapperRoot` makes the wrapper pass a
 * state root of its own (for podman, which passes none). E2E_CLIENT_CAPTURE=<dir> keeps the
 * argv log and the configs in <dir>/<prefix>/ after the run, for debugging.
 */
export function clientBed(
  prefix: string,
  { commands, verbs, wrapperRoot }: { commands: string[]; verbs: string[]; wrapperRoot: boolean },
): ClientBed {
  requireRoot();
  const missing = commands.filter((command) => which(command) === null);
  if (missing.length > 0) throw new Error(`${missing.join(', ')} missing: see test-e2e/README.md`);
  const runtime = CLIENT_RUNTIME;
  if (!runtime.installed) throw new Error(`E2E_CLIENT_RUNTIME=${process.env.E2E_CLIENT_RUNTIME}: not found`);
  const unlisted = missingVerbs(runtime, verbs);
  if (unlisted.length > 0) {
    throw new Error(`${runtime.name} does not list the verbs ${unlisted.join(', ')} that ${prefix} calls`);
  }
  const work = scratch(prefix);
  const watch = watchHost();
  const capture = process.env.E2E_CLIENT_CAPTURE ? join(process.env.E2E_CLIENT_CAPTURE, prefix) : null;
  const logDir = capture ?? work.path;
  mkdirSync(logDir, { recursive: true });
  const argvLog = join(logDir, 'argv.log');
  const configsDir = join(logDir, 'configs');
  const runtimeRoot = join(work.path, 'runtime-root');
  const wrapper = writeRuntimeWrapper(join(work.path, 'bin'), runtime, {
    argvLog,
    configsDir,
    ...(wrapperRoot ? { root: runtimeRoot } : {}),
  });
  const cgroupParent = `nsinit-e2e-${prefix}-${process.pid}`;
  const calls = () => readArgvLog(argvLog);
  let checked = false;
  return {
    dir: work.path,
    runtime,
    wrapper,
    runtimeRoot,
    rootfs: buildBusyboxRootfs(join(work.path, 'rootfs')),
    cgroupParent,
    calls,
    verbs: () => [...new Set(calls().map(verbOf))].filter((verb): verb is string => verb !== null),
    configsDir,
    leftovers() {
      if (checked) return [];
      checked = true;
      const left = [
        ...processesMentioning(work.path).map(({ pid, args }) => `process ${pid}: ${args}`),
        ...mountsUnder(work.path).map((point) => `mount ${point}`),
        ...cgroupDirsNamed(cgroupParent).map((dir) => `cgroup ${dir}`),
        ...watch.settle(),
      ];
      work.cleanup();
      if (existsSync(work.path)) left.push(`${work.path} could not be removed`);
      return left;
    },
  };
}

/** The entries of a directory, or none when it does not exist. */
export function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/**
 * Polls `probe` until it returns something other than undefined/false/null, every 50 ms, for
 * up to `timeoutMs` (generous: the machine may be loaded); throws naming `what` otherwise.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | null,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `command` run on a pseudo-terminal by util-linux `script` (the clients' -it/-t need one):
 * [command, args] whose output is the terminal's and whose status is the command's.
 */
export function onTerminal(command: string, args: readonly string[]): [string, string[]] {
  const quoted = [command, ...args].map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ');
  return ['script', ['--quiet', '--return', '--command', quoted, '/dev/null']];
}
