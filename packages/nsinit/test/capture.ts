// What the CLI writes, captured per test: process.stdout and process.stderr writes spied on.
import { vi } from 'vitest';

export interface Captured {
  stdout: string;
  stderr: string;
}

/** Starts capturing (call in beforeEach; vi.restoreAllMocks() in afterEach stops it). */
export function captureOutput(): Captured {
  const captured: Captured = { stdout: '', stderr: '' };
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    captured.stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    captured.stderr += String(chunk);
    return true;
  });
  return captured;
}
