// `nsinit update`: runc's flags, or a LinuxResources document (-r FILE, `-` for stdin), to
// the runtime-spec resources to apply. runc 1.1's rules: with -r the document is used and
// every other flag is ignored; a 0 (or an empty cpuset) leaves a value as it is; only these
// fields change — memory limit, reservation and swap; cpu shares, quota, period, realtime
// runtime and period, cpus and mems; the blkio weight; the pids limit; unified. runc ignores
// the rest of a document (devices, hugepage limits, throttling, …), and so does this, naming
// what it ignores through `onIgnored`.
import { readFile } from 'node:fs/promises';
import { type OciResources, ociResourcesSchema, parseJsonText, parseOrThrow } from '@nsinit/config';
import type { UpdateFlags } from './verbs.js';

export interface ResourcesInput {
  /** Reads -r's argument (`-`: stdin). Default: the file, or all of stdin. */
  read?: (path: string) => Promise<string>;
  /** Told each flag or document field that is ignored (as runc ignores it). */
  onIgnored?: (what: string) => void;
}

export class UpdateError extends Error {
  override readonly name = 'UpdateError';
}

async function readInput(path: string): Promise<string> {
  if (path !== '-') return readFile(path, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The flags other than -r, by their runc names, that were given. */
const FLAG_NAMES: Readonly<Record<Exclude<keyof UpdateFlags, 'resources'>, string>> = {
  blkioWeight: '--blkio-weight',
  cpuPeriod: '--cpu-period',
  cpuQuota: '--cpu-quota',
  cpuShare: '--cpu-share',
  cpuRtPeriod: '--cpu-rt-period',
  cpuRtRuntime: '--cpu-rt-runtime',
  cpusetCpus: '--cpuset-cpus',
  cpusetMems: '--cpuset-mems',
  memory: '--memory',
  memoryReservation: '--memory-reservation',
  memorySwap: '--memory-swap',
  pidsLimit: '--pids-limit',
  l3CacheSchema: '--l3-cache-schema',
  memBwSchema: '--mem-bw-schema',
};

/** `fields` without the undefined, zero and empty-string values: runc leaves those as they are. */
function changed<T extends Record<string, number | string | undefined>>(fields: T): Partial<T> | undefined {
  const kept = Object.entries(fields).filter(
    ([, value]) => value !== undefined && value !== 0 && value !== '',
  );
  return kept.length > 0 ? (Object.fromEntries(kept) as Partial<T>) : undefined;
}

/** The part of `resources` runc's update applies; `onIgnored` hears the rest. */
function honoured(resources: OciResources, onIgnored: (what: string) => void): OciResources {
  const { memory, cpu, blockIO, pids, unified, ...others } = resources;
  for (const key of Object.keys(others)) onIgnored(key);
  const report = (prefix: string, object: object | undefined, kept: readonly string[]) => {
    for (const key of Object.keys(object ?? {})) if (!kept.includes(key)) onIgnored(`${prefix}.${key}`);
  };
  report('memory', memory, ['limit', 'reservation', 'swap']);
  report('cpu', cpu, ['shares', 'quota', 'period', 'realtimeRuntime', 'realtimePeriod', 'cpus', 'mems']);
  report('blockIO', blockIO, ['weight']);
  const result: OciResources = {};
  const memoryChanges = changed({
    limit: memory?.limit,
    reservation: memory?.reservation,
    swap: memory?.swap,
  });
  if (memoryChanges) result.memory = memoryChanges;
  const cpuChanges = changed({
    shares: cpu?.shares,
    quota: cpu?.quota,
    period: cpu?.period,
    realtimeRuntime: cpu?.realtimeRuntime,
    realtimePeriod: cpu?.realtimePeriod,
    cpus: cpu?.cpus,
    mems: cpu?.mems,
  });
  if (cpuChanges) result.cpu = cpuChanges;
  if (blockIO?.weight) result.blockIO = { weight: blockIO.weight };
  if (pids?.limit) result.pids = { limit: pids.limit };
  if (unified && Object.keys(unified).length > 0) result.unified = { ...unified };
  return result;
}

/** The resources `nsinit update` applies, from -r's document or from the flags. */
export async function resourcesFromFlags(
  flags: UpdateFlags,
  input: ResourcesInput = {},
): Promise<OciResources> {
  const onIgnored = input.onIgnored ?? (() => {});
  if (flags.resources !== undefined && flags.resources !== '') {
    for (const [key, name] of Object.entries(FLAG_NAMES))
      if (flags[key as keyof typeof FLAG_NAMES] !== undefined) onIgnored(name);
    const source = flags.resources === '-' ? '<stdin>' : flags.resources;
    const text = await (input.read ?? readInput)(flags.resources);
    return honoured(parseOrThrow(ociResourcesSchema, parseJsonText(text, source), source), onIgnored);
  }
  // runc's errors where the host has no Intel RDT, which nsinit never has.
  if (flags.l3CacheSchema) throw new UpdateError('Intel RDT/CAT: l3 cache schema is not enabled');
  if (flags.memBwSchema) throw new UpdateError('Intel RDT/MBA: memory bandwidth schema is not enabled');
  const fromFlags = {
    memory: { limit: flags.memory, reservation: flags.memoryReservation, swap: flags.memorySwap },
    cpu: {
      shares: flags.cpuShare,
      quota: flags.cpuQuota,
      period: flags.cpuPeriod,
      realtimeRuntime: flags.cpuRtRuntime,
      realtimePeriod: flags.cpuRtPeriod,
      cpus: flags.cpusetCpus,
      mems: flags.cpusetMems,
    },
    blockIO: { weight: flags.blkioWeight },
    pids: flags.pidsLimit === undefined ? undefined : { limit: flags.pidsLimit },
  };
  return honoured(
    parseOrThrow(ociResourcesSchema, JSON.parse(JSON.stringify(fromFlags)), 'flags'),
    onIgnored,
  );
}
