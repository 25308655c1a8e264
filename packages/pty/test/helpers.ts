// Shared by the tests: reading a stream until something shows up, and cleaning up
// every process a test started.
import { readdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { PtyProcess } from '../src/index.js';

const TIMEOUT_MS = 5000;

/** Resolves with everything read once `pattern` matches the text so far; rejects after a timeout. */
export function readUntil(stream: Readable, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (error?: Error) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.pause();
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (pattern.test(text)) done();
    };
    const onEnd = () =>
      done(new Error(`the stream ended before ${pattern} showed up; got ${JSON.stringify(text)}`));
    const timer = setTimeout(
      () => done(new Error(`${pattern} did not show up; got ${JSON.stringify(text)}`)),
      TIMEOUT_MS,
    );
    stream.on('data', onData);
    stream.once('end', onEnd);
    // A 'data' listener does not restart a stream an earlier readUntil paused.
    stream.resume();
  });
}

/** Everything up to 'end'. */
export async function readToEnd(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Processes started by a test, killed and reaped after it. */
export class Processes {
  readonly #started: PtyProcess[] = [];

  track(process: PtyProcess): PtyProcess {
    this.#started.push(process);
    return process;
  }

  async cleanUp(): Promise<void> {
    for (const process of this.#started.splice(0)) {
      process.kill('SIGKILL');
      await process.wait();
      process.destroy();
    }
  }
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}
