// Network namespaces for the integration tests: each one is held by a `sleep` started under
// `unshare --net`, and goes away (with every link inside it) when that process is killed.
// Nothing here touches the machine's own namespace.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface TestNamespace {
  /** The holder process: /proc/<pid>/ns/net is the namespace. */
  pid: number;
  path: string;
  /** Runs a command inside the namespace (nsenter --net) and returns its stdout. */
  run(command: string, args: readonly string[]): string;
  /** `ip -j ...` inside the namespace, parsed. */
  ipJson<T = unknown>(args: readonly string[]): T;
  /** Kills the holder and waits for it: the namespace and its links are gone. */
  destroy(): Promise<void>;
}

// Bounded, so a holder orphaned by a crashed test run still goes away by itself.
const HOLD_SECONDS = '300';

export async function createNamespace(): Promise<TestNamespace> {
  const child: ChildProcess = spawn(
    'unshare',
    ['--net', '--', 'sh', '-c', `echo ready && exec sleep ${HOLD_SECONDS}`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  if (chunk.toString().trim() !== 'ready' || child.pid === undefined) {
    child.kill('SIGKILL');
    throw new Error(`unshare --net did not start: ${chunk.toString()}`);
  }
  const pid = child.pid;
  const path = `/proc/${pid}/ns/net`;
  const run = (command: string, args: readonly string[]) =>
    execFileSync('nsenter', [`--net=${path}`, '--', command, ...args], { encoding: 'utf8' });
  return {
    pid,
    path,
    run,
    ipJson: <T>(args: readonly string[]) => JSON.parse(run('ip', ['-j', ...args]) || '[]') as T,
    async destroy() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Names in the namespace's link list. */
export function linkNames(ns: TestNamespace): string[] {
  return ns.ipJson<{ ifname: string }[]>(['link', 'show']).map((l) => l.ifname);
}
