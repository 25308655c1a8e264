import { isAbsolute } from 'node:path';
import { isValidContainerId } from './id.js';

export const STATE_VERSION = 1;

/** What `state.json` holds. Written by the runtime once the init process exists. */
export interface ContainerState {
  version: typeof STATE_VERSION;
  id: string;
  /**
   * `creating` from the moment the state directory exists until the init waits for start (or
   * runs, for run()): a runtime killed in between leaves this record, and what it names
   * (cgroupPaths: the directories it was about to create) is what `delete --force` removes.
   * `created` afterwards. Absent in files of older nsinits: created.
   */
  phase?: 'creating' | 'created';
  /** The container's init process (the helper, then the user's command); 0 while creating and not spawned yet. */
  pid: number;
  /** Field 22 of `/proc/<pid>/stat` when the state was written: tells the init from a reused pid. */
  pidStartTime: string;
  /** Absolute path of the root filesystem. */
  rootfs: string;
  /** Absolute path of the OCI bundle, or null for a container started without one. */
  bundle: string | null;
  /** ISO 8601 time of creation, e.g. `2014-06-26T12:00:00.000Z`. */
  created: string;
  annotations?: Record<string, string>;
  /** The config's ociVersion, which `state` and `list` report (as runc does). */
  ociVersion?: string;
  /** Where the container's cgroup is (@nsinit/cgroups' `paths`), for stats, pause and cleanup from disk. */
  cgroupPaths?: Record<string, unknown>;
  /** What the network strategies made on the host (@nsinit/network), to undo from disk. */
  network?: Record<string, unknown>;
}

const KNOWN_FIELDS = new Set([
  'version',
  'id',
  'phase',
  'pid',
  'pidStartTime',
  'rootfs',
  'bundle',
  'created',
  'annotations',
  'ociVersion',
  'cgroupPaths',
  'network',
]);
// 2^22 is PID_MAX_LIMIT on 64-bit Linux.
const MAX_PID = 4194304;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function describe(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value);
}

/** The first thing wrong with `value` as a ContainerState, or undefined when it is one. */
export function findStateProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `expected a JSON object, got ${Array.isArray(value) ? 'an array' : describe(value)}`;
  }
  const state = value as Record<string, unknown>;
  for (const key of Object.keys(state)) {
    if (!KNOWN_FIELDS.has(key)) return `unknown field ${JSON.stringify(key)}`;
  }
  const {
    version,
    id,
    phase,
    pid,
    pidStartTime,
    rootfs,
    bundle,
    created,
    annotations,
    cgroupPaths,
    network,
  } = state;
  if (version !== STATE_VERSION)
    return `"version" is ${describe(version)}, this nsinit reads version ${STATE_VERSION}`;
  if (typeof id !== 'string' || !isValidContainerId(id))
    return `"id" is ${describe(id)}, not a valid container id`;
  if (phase !== undefined && phase !== 'creating' && phase !== 'created')
    return `"phase" is ${describe(phase)}, neither "creating" nor "created"`;
  const notSpawned = phase === 'creating' && pid === 0;
  if (!notSpawned && (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || pid > MAX_PID)) {
    return `"pid" is ${describe(pid)}, not a pid (an integer from 1 to ${MAX_PID}; 0 only while "creating")`;
  }
  if (typeof pidStartTime !== 'string' || !/^\d+$/.test(pidStartTime)) {
    return `"pidStartTime" is ${describe(pidStartTime)}, not a decimal string`;
  }
  if (typeof rootfs !== 'string' || !isAbsolute(rootfs))
    return `"rootfs" is ${describe(rootfs)}, not an absolute path`;
  if (bundle !== null && (typeof bundle !== 'string' || !isAbsolute(bundle))) {
    return `"bundle" is ${describe(bundle)}, neither null nor an absolute path`;
  }
  if (typeof created !== 'string' || !ISO_TIME.test(created) || Number.isNaN(Date.parse(created))) {
    return `"created" is ${describe(created)}, not an ISO 8601 time`;
  }
  if (state.ociVersion !== undefined && typeof state.ociVersion !== 'string')
    return `"ociVersion" is ${describe(state.ociVersion)}, not a string`;
  if (annotations !== undefined) {
    if (typeof annotations !== 'object' || annotations === null || Array.isArray(annotations)) {
      return `"annotations" is ${describe(annotations)}, not an object`;
    }
    for (const [key, text] of Object.entries(annotations)) {
      if (typeof text !== 'string')
        return `annotation ${JSON.stringify(key)} is ${describe(text)}, not a string`;
    }
  }
  // Recorded by other packages: only their shape as a JSON object is this package's concern.
  for (const [name, record] of [
    ['cgroupPaths', cgroupPaths],
    ['network', network],
  ] as const) {
    if (record !== undefined && (typeof record !== 'object' || record === null || Array.isArray(record))) {
      return `"${name}" is ${describe(record)}, not an object`;
    }
  }
  return undefined;
}
