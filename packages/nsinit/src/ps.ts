// `nsinit ps`, runc's algorithm: --format json prints the container's pids (json.Encoder:
// compact, a newline; `null` for none, as Go's nil slice); the table runs the host's `ps`
// with the arguments given (`-ef` by default), finds the PID column in its header, and keeps
// the header and the lines whose pid is the container's.
import { spawn } from 'node:child_process';

export class PsError extends Error {
  override readonly name = 'PsError';
}

/** `ps ARGS` with stdout and stderr in one text, as Go's CombinedOutput gives them. */
function runPs(psArgs: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ps', psArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', (error) => reject(new PsError(`cannot run ps: ${error.message}`)));
    child.on('close', (code, signal) => {
      const output = Buffer.concat(chunks).toString('utf8');
      if (code === 0) resolve(output);
      else
        reject(
          new PsError(
            `ps ${psArgs.join(' ')}: ${signal ? `signal: ${signal}` : `exit status ${code}`}: ${output.trim()}`,
          ),
        );
    });
  });
}

/** The PID column of a ps header (strings.Fields, the first field named exactly PID). */
export function pidColumn(header: string): number {
  const index = header.trim().split(/\s+/).indexOf('PID');
  if (index < 0) throw new PsError("couldn't find PID field in ps output");
  return index;
}

/** The header and the lines of `output` whose PID column holds one of `pids`. */
export function filterPsOutput(output: string, pids: readonly number[]): string {
  const [header = '', ...lines] = output.split('\n');
  const column = pidColumn(header);
  const wanted = new Set(pids);
  const kept = [header];
  for (const line of lines) {
    if (line === '') continue;
    const field = line.trim().split(/\s+/)[column];
    // Go's strconv.Atoi: an optional sign and decimal digits.
    if (field === undefined || !/^[+-]?\d+$/.test(field))
      throw new PsError(
        `unable to parse pid: ${JSON.stringify(field ?? '')} in ps line ${JSON.stringify(line)}`,
      );
    if (wanted.has(Number(field))) kept.push(line);
  }
  return `${kept.join('\n')}\n`;
}

export async function formatPs(
  pids: readonly number[],
  psArgs: readonly string[],
  format: 'table' | 'json',
): Promise<string> {
  if (format === 'json') return `${pids.length === 0 ? 'null' : JSON.stringify(pids)}\n`;
  return filterPsOutput(await runPs(psArgs.length > 0 ? psArgs : ['-ef']), pids);
}
