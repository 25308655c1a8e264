// ps against runc 1.1.5: `runc ps c1` and `runc ps c1 -o pid,comm` were captured together with
// the host's `ps -ef` and `ps -o pid,comm`; filtered to the container's pid, they are runc's output.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { filterPsOutput, formatPs, pidColumn } from '../src/ps.js';

const fixture = (name: string) =>
  readFileSync(new URL(`fixtures/runc-1.1.5/${name}`, import.meta.url), 'utf8');

describe('filterPsOutput', () => {
  it("keeps the header and the container's lines, as runc", () => {
    expect(filterPsOutput(fixture('ps-ef.txt'), [27432])).toBe(fixture('ps-c1-table.txt'));
    expect(filterPsOutput(fixture('ps-o-pid-comm.txt'), [27432])).toBe(fixture('ps-c1-o-pid-comm.txt'));
  });

  it('errors without a PID column, or on a pid that is not a number', () => {
    expect(() => filterPsOutput('USER COMMAND\nroot sh\n', [1])).toThrow(
      "couldn't find PID field in ps output",
    );
    expect(() => filterPsOutput('PID CMD\nx sh\n', [1])).toThrow(/unable to parse pid/);
    expect(pidColumn('  UID   PID  PPID')).toBe(1);
  });
});

describe('formatPs', () => {
  it("prints the pids as runc's JSON: null for none", async () => {
    expect(await formatPs([27432], [], 'json')).toBe(fixture('ps-c1.json'));
    expect(await formatPs([], [], 'json')).toBe(fixture('ps-stopped.json'));
    expect(await formatPs([1, 2], ['aux'], 'json')).toBe('[1,2]\n');
  });

  it("runs the host's ps: -ef by default, else the arguments given", async () => {
    const table = await formatPs([process.pid], [], 'table');
    const [header, ...lines] = table.trimEnd().split('\n');
    expect(header).toMatch(/^UID\s+PID\s+PPID/);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.trim().split(/\s+/)[1]).toBe(String(process.pid));
    expect(
      await formatPs([process.pid], ['-o', 'pid=', '-p', String(process.pid)], 'table').catch(
        (e: Error) => e.message,
      ),
    ).toMatch(/couldn't find PID field/);
    expect(await formatPs([process.pid], ['-o', 'pid,comm', '-p', String(process.pid)], 'table')).toMatch(
      new RegExp(`^\\s*PID COMMAND\\n\\s*${process.pid} \\S+\\n$`),
    );
  });

  it('says how ps failed', async () => {
    await expect(formatPs([1], ['--no-such-option'], 'table')).rejects.toThrow(
      /^ps --no-such-option: exit status \d+: /,
    );
  });
});
