// Types of engines.mjs (plain JavaScript so that bench/ can import it too).

export interface Runtime {
  /** nsinit, runc, crun, …: the wrapper's file name, which podman takes as the runtime's name. */
  name: string;
  /** The command and its first arguments, e.g. [node, cli.cjs] or ['/usr/sbin/runc']. */
  argv: string[];
  /** crun on a hybrid cgroup host: run in a mount namespace where /sys/fs/cgroup/unified is hidden. */
  hideUnified: boolean;
  installed: boolean;
}

export interface SyncResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

export interface Podman {
  dir: string;
  env: NodeJS.ProcessEnv;
  containerArgs: string[];
  command(args: string[], runtime?: string): [string, string[]];
  run(args: string[], options?: RunOptions): SyncResult;
  ok(args: string[], options?: RunOptions): SyncResult;
  importRootfs(rootfs: string, ref: string): void;
  saveOciArchive(ref: string, archive: string): void;
  cleanup(): Promise<string[]>;
}

export interface Containerd {
  dir: string;
  address: string;
  pid: number | undefined;
  fifoDir: string;
  command(args: string[]): [string, string[]];
  run(args: string[], options?: RunOptions): SyncResult;
  ok(args: string[], options?: RunOptions): SyncResult;
  runArgs(runtimePath: string, id: string): string[];
  importArchive(archive: string, baseName: string): void;
  tasks(): Record<string, string>;
  log(): string;
  stop(): Promise<string[]>;
}

export function which(command: string): string | null;
export function hasHybridCgroups(): boolean;
export function mountsUnder(dir: string): string[];
export function processesMentioning(text: string): { pid: number; args: string }[];
export function endProcessesMentioning(text: string, timeoutMs?: number): Promise<{ pid: number; args: string }[]>;
export function cgroupDirsNamed(name: string): string[];
export function removeCgroupTrees(name: string): string[];
export function watchHost(): { settle(): string[] };
export function describeRuntime(spec: string | undefined, nsinitCli: string): Runtime;
export function writeRuntimeWrapper(
  dir: string,
  runtime: Runtime,
  options?: { root?: string; argvLog?: string; configsDir?: string },
): string;
export function readArgvLog(argvLog: string): string[][];
export function verbOf(args: readonly string[]): string | null;
export function missingVerbs(runtime: Runtime, verbs: readonly string[]): string[];
export function runSync(command: string, args: readonly string[], options?: RunOptions): SyncResult;
export function runOk(command: string, args: readonly string[], options?: RunOptions): SyncResult;
export function unmountUnder(dir: string): string[];
export function createPodman(options: { dir: string; runtimePath: string; cgroupParent: string }): Podman;
export function startContainerd(options: {
  dir: string;
  cgroupParent: string;
  timeoutMs?: number;
}): Promise<Containerd>;
