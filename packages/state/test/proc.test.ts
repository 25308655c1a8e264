import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  InvalidStateError,
  isSameProcess,
  ProcStatParseError,
  parseProcStat,
  readProcessStartTime,
  readProcStat,
} from '../src/index.js';

/** A stat line as the kernel writes it: fields 3..52 after the comm, field 22 = startTime. */
function statLine(pid: number, comm: string, state: string, startTime: string): string {
  const after = Array.from({ length: 50 }, (_, i) => String(i + 3));
  after[0] = state;
  after[22 - 3] = startTime;
  return `${pid} (${comm}) ${after.join(' ')}\n`;
}

describe('parseProcStat', () => {
  it('reads state and field 22', () => {
    expect(parseProcStat(statLine(1234, 'sleep', 'S', '987654'))).toEqual({
      pid: 1234,
      comm: 'sleep',
      state: 'S',
      startTime: '987654',
    });
  });

  it('finds the fields after the last ")" when the comm holds ") (" and spaces', () => {
    const comm = 'evil) R 1 2 3 (x';
    expect(parseProcStat(statLine(77, comm, 'Z', '4242'))).toEqual({
      pid: 77,
      comm,
      state: 'Z',
      startTime: '4242',
    });
    expect(parseProcStat(statLine(78, ') (', 'S', '5'))).toMatchObject({ comm: ') (', startTime: '5' });
    expect(parseProcStat(statLine(79, '', 'R', '6'))).toMatchObject({ comm: '', startTime: '6' });
  });

  it('parses a literal line from a real kernel', () => {
    const line =
      '3650 (my (weird) prog) S 1 3650 3650 0 -1 4194560 1214 0 0 0 3 4 0 0 20 0 1 0 82837 ' +
      '9203712 1024 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n';
    expect(parseProcStat(line)).toEqual({
      pid: 3650,
      comm: 'my (weird) prog',
      state: 'S',
      startTime: '82837',
    });
  });

  it('rejects lines it does not understand', () => {
    expect(() => parseProcStat('')).toThrow(ProcStatParseError);
    expect(() => parseProcStat('12 no-parens S 1')).toThrow(/no "\(comm\)"/);
    expect(() => parseProcStat('12 (short) S 1 2 3\n')).toThrow(/start time \(field 22\) ""/);
    expect(() => parseProcStat(statLine(12, 'x', 'S', '12a'))).toThrow(/"12a"/);
    expect(() => parseProcStat(statLine(12, 'x', 'SS', '1'))).toThrow(/state "SS"/);
  });
});

describe('readProcessStartTime and isSameProcess', () => {
  it('read a real process whose comm holds ") (" and spaces', async () => {
    // The kernel takes the comm from the executable's name: run sh through an odd symlink.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nsinit-state-comm-'));
    const odd = path.join(dir, 'x) (y z) S 1');
    await symlink('/bin/sh', odd);
    const child = spawn(odd, ['-c', 'read line'], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exit = once(child, 'exit');
    try {
      const stat = readProcStat(child.pid!);
      // /proc/<pid>/comm is a second, independent source for the field the parser must skip.
      expect(readFileSync(`/proc/${child.pid}/comm`, 'utf8')).toBe('x) (y z) S 1\n');
      expect(stat).toMatchObject({ pid: child.pid, comm: 'x) (y z) S 1' });
      expect(stat?.state).toMatch(/^[RS]$/);
      expect(Number(stat?.startTime)).toBeGreaterThanOrEqual(Number(readProcessStartTime(process.pid)));
      expect(isSameProcess(child.pid!, stat!.startTime)).toBe(true);
    } finally {
      child.stdin.end();
      await exit;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tell a live child from the same pid with another start time, and from the child once gone', async () => {
    const child = spawn('/bin/sh', ['-c', 'read line'], { stdio: ['pipe', 'ignore', 'inherit'] });
    const pid = child.pid!;
    const exit = once(child, 'exit');
    try {
      const startTime = readProcessStartTime(pid);
      expect(startTime).toMatch(/^\d+$/);
      expect(isSameProcess(pid, startTime!)).toBe(true);
      expect(isSameProcess(pid, String(BigInt(startTime!) + 1n))).toBe(false);
      child.stdin.end();
      await exit;
      expect(readProcessStartTime(pid)).toBeNull();
      expect(isSameProcess(pid, startTime!)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('never take a zombie for the process it was', { timeout: 10_000 }, async () => {
    // The background `sleep` exits while the shell is blocked in `read`; the shell reaps it only
    // at `wait`, after our stdin closes. Until then it is a zombie.
    const shell = spawn('/bin/sh', ['-c', 'sleep 0.5 & echo $!; read line; wait'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exit = once(shell, 'exit');
    try {
      const [output] = (await once(shell.stdout, 'data')) as [Buffer];
      const zombie = Number(output.toString().trim());
      let stat = readProcStat(zombie);
      for (let i = 0; i < 300 && stat?.state !== 'Z'; i++) {
        await sleep(10);
        stat = readProcStat(zombie);
      }
      expect(stat?.state).toBe('Z');
      expect(readProcessStartTime(zombie)).toBe(stat!.startTime);
      expect(isSameProcess(zombie, stat!.startTime)).toBe(false);
    } finally {
      shell.stdin.end();
      await exit;
    }
  });

  it('returns null for a pid that does not exist, and refuses a value that is no pid', () => {
    // Above PID_MAX_LIMIT (2^22), so never a process.
    expect(readProcessStartTime(5_000_000)).toBeNull();
    expect(isSameProcess(5_000_000, '1')).toBe(false);
    expect(() => readProcessStartTime(0)).toThrow(InvalidStateError);
    expect(() => readProcessStartTime(-1)).toThrow(/positive integer, got -1/);
    expect(() => readProcessStartTime(1.5)).toThrow(InvalidStateError);
  });
});
