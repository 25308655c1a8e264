// output(): run a container to its end and collect what it printed, as execa or
// child_process.execFile do: the one-shot way to use a container as a function.
import type { Readable } from 'node:stream';
import type { DeepReadonly, OciConfig, ValidOciConfig } from '@nsinit/config';
import type { ExitResult } from '@nsinit/native';
import { ExecError } from './errors.js';
import { type RunOptions, run } from './run.js';

export interface OutputOptions extends Omit<RunOptions, 'stdio' | 'terminal' | 'consoleSocket'> {
  /** Written to the container's stdin, which is then closed. Default: stdin is /dev/null. */
  input?: string | Uint8Array;
  /** The most bytes kept of stdout and of stderr each; beyond it the container is killed. Default 16 MiB. */
  maxBuffer?: number;
}

export interface Output {
  /** Everything the container wrote to stdout, as UTF-8. */
  stdout: string;
  stderr: string;
  /** How it ended: a non-zero status resolves too (the caller decides what it means). */
  exit: ExitResult;
}

const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;

/** Thrown when a stream outgrew maxBuffer: the container was killed; what it printed up to then is kept. */
export class MaxBufferError extends ExecError {
  constructor(
    readonly stream: 'stdout' | 'stderr',
    readonly maxBuffer: number,
    readonly output: Output,
  ) {
    super(
      'ERR_NSINIT_MAX_BUFFER',
      `the container's ${stream} exceeded maxBuffer (${maxBuffer} bytes), so it was killed; raise maxBuffer or print less`,
    );
    this.name = 'MaxBufferError';
  }
}

function collect(
  stream: Readable,
  name: 'stdout' | 'stderr',
  maxBuffer: number,
  onOverflow: (name: 'stdout' | 'stderr') => void,
) {
  const chunks: Buffer[] = [];
  let size = 0;
  let overflowed = false;
  stream.on('data', (chunk: Buffer) => {
    if (overflowed) return;
    const room = maxBuffer - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      size = maxBuffer;
      overflowed = true;
      onOverflow(name);
      return;
    }
    chunks.push(chunk);
    size += chunk.length;
  });
  const ended = new Promise<void>((resolve) => {
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  return { ended, text: () => Buffer.concat(chunks, size).toString('utf8') };
}

/**
 * Runs a container to its end and resolves with its stdout, stderr and exit. An aborted
 * `signal` rejects as run() and wait() do (the AbortError carries `exit` once it ran); a
 * stream past `maxBuffer` kills the container and rejects with MaxBufferError.
 */
export async function output(
  config: DeepReadonly<OciConfig> | ValidOciConfig,
  options: OutputOptions = {},
): Promise<Output> {
  const { input, maxBuffer = DEFAULT_MAX_BUFFER, ...runOptions } = options;
  if (!Number.isInteger(maxBuffer) || maxBuffer < 0)
    throw new TypeError(`options.maxBuffer must be a non-negative integer, got ${maxBuffer}`);
  const container = await run(config, {
    ...runOptions,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] as const,
  });
  let overflow: 'stdout' | 'stderr' | undefined;
  const onOverflow = (name: 'stdout' | 'stderr') => {
    overflow ??= name;
    container.kill('SIGKILL');
  };
  const stdout = collect(container.stdout, 'stdout', maxBuffer, onOverflow);
  const stderr = collect(container.stderr, 'stderr', maxBuffer, onOverflow);
  if (container.stdin) {
    // A container that exits without reading its input closes the pipe: that is not an error here.
    container.stdin.on('error', () => {});
    container.stdin.end(input);
  }
  const exit = await container.wait().catch(async (error: unknown) => {
    await Promise.all([stdout.ended, stderr.ended]);
    if (error instanceof Error) Object.assign(error, { stdout: stdout.text(), stderr: stderr.text() });
    throw error;
  });
  await Promise.all([stdout.ended, stderr.ended]);
  const result: Output = { stdout: stdout.text(), stderr: stderr.text(), exit };
  if (overflow) throw new MaxBufferError(overflow, maxBuffer, result);
  return result;
}
