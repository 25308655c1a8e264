// The measuring loop shared by every measurement, and child processes that cannot outlive the run.
import { spawn } from 'node:child_process';

/**
 * Child processes still running, each with `exited` (settles on exit) and `killFirst`: our own
 * helper processes may be killed at once; a runtime in the middle of `run` may not, or it
 * leaves its cgroups behind.
 */
const liveChildren = new Set();
let refusing = false;

/**
 * Starts a command with output discarded (stderr kept for the error); settles when it exits.
 * Once the benchmark is stopping, only commands that clean up (`cleanup: true`) still start.
 */
export function startCommand(command, args, { env, cwd, stdio, killFirst = false, cleanup = false } = {}) {
  if (refusing && !cleanup) throw new Error(`not starting ${command}: the benchmark is stopping`);
  const child = spawn(command, args, { env, cwd, stdio: stdio ?? ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const exited = new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`cannot start ${command}: ${error.message}`)));
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  const entry = { child, exited, killFirst };
  liveChildren.add(entry);
  exited.then(
    () => liveChildren.delete(entry),
    () => liveChildren.delete(entry),
  );
  return { child, exited };
}

/** The number of children still running. */
export function liveChildCount() {
  return liveChildren.size;
}

/** From now on startCommand throws, except for cleanup commands: the benchmark is stopping. */
export function refuseNewChildren() {
  refusing = true;
}

/** SIGKILLs the children `which` selects and waits until they are gone. */
export async function killChildren(which = () => true) {
  const chosen = [...liveChildren].filter(which);
  for (const { child } of chosen) child.kill('SIGKILL');
  await Promise.allSettled(chosen.map(({ exited }) => exited));
}

/** Waits up to `ms` for every child to exit by itself. */
export async function settleChildren(ms) {
  const all = Promise.allSettled([...liveChildren].map(({ exited }) => exited));
  let timer;
  await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Runs a command to its end; rejects, with its stderr, unless it exits 0. */
export async function runCommand(command, args, options) {
  const { code, signal, stderr } = await startCommand(command, args, options).exited;
  if (code !== 0) {
    const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
    throw new Error(`${[command, ...args].join(' ')} ${how}: ${stderr.trim() || '(no stderr)'}`);
  }
}

/** Milliseconds since `start` (a process.hrtime.bigint() reading). */
export function msSince(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Runs each contender once per round, in turn (A B C A B C ...), so drift and noise from
 * the rest of the machine hit all of them alike; the contender that opens a round rotates,
 * so none always runs right after the same other one. The first `warmup` rounds are
 * discarded. `run` may return its own sample (e.g. timed inside a child process);
 * otherwise the call is timed here, in milliseconds.
 * Returns the samples per contender name.
 */
export async function interleave(contenders, { iterations, warmup = 0, onRound } = {}) {
  const samples = new Map(contenders.map((c) => [c.name, []]));
  const rounds = warmup + iterations;
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < contenders.length; turn++) {
      const contender = contenders[(round + turn) % contenders.length];
      const start = process.hrtime.bigint();
      const reported = await contender.run();
      const elapsed = typeof reported === 'number' ? reported : msSince(start);
      if (round >= warmup) samples.get(contender.name).push(elapsed);
    }
    onRound?.(round + 1, rounds);
  }
  return samples;
}

/** "100 interleaved runs per contender after 3 warm-up rounds", for the method text. */
export function describeSampling({ iterations, warmup }, unit = 'run') {
  const plural = (count, noun) => `${count} ${noun}${count === 1 ? '' : noun.endsWith('ch') ? 'es' : 's'}`;
  return `${plural(iterations, `interleaved ${unit}`)} per contender after ${plural(warmup, 'warm-up round')}`;
}
