import * as z from 'zod/mini';
import { isRlimitName, type RlimitName } from './capabilities.js';
import {
  absolutePath,
  envEntry,
  int32,
  int64,
  integerBetween,
  processId,
  reportDuplicates,
  safeString,
  uint16,
  uint32,
  uint64,
  utsName,
} from './validation.js';

// The OCI runtime-spec config.json (v1.2, Linux), as zod schemas. Unknown properties are
// stripped, as the spec requires runtimes to ignore them. Value checks are those the spec
// (or the kernel, where the spec defers to it) makes; policy checks belong to @nsinit/exec.

const stringArray = z.array(safeString);
const stringMap = z.record(safeString, safeString);

/** SemVer 2.0.0, as the spec requires for ociVersion. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export const NAMESPACE_TYPES = ['mount', 'pid', 'network', 'uts', 'ipc', 'user', 'cgroup', 'time'] as const;

export const ociIdMappingSchema = z.object({ containerID: uint32, hostID: uint32, size: uint32 });

export const ociHookSchema = z.object({
  path: absolutePath,
  args: z.optional(stringArray),
  env: z.optional(z.array(envEntry)),
  timeout: z.optional(integerBetween(1, Number.MAX_SAFE_INTEGER)),
});

const hookList = z.optional(z.array(ociHookSchema));

export const ociHooksSchema = z.object({
  prestart: hookList,
  createRuntime: hookList,
  createContainer: hookList,
  startContainer: hookList,
  poststart: hookList,
  poststop: hookList,
});

export const ociMountSchema = z
  .object({
    destination: absolutePath,
    type: z.optional(safeString),
    source: z.optional(safeString),
    options: z.optional(stringArray),
    uidMappings: z.optional(z.array(ociIdMappingSchema)),
    gidMappings: z.optional(z.array(ociIdMappingSchema)),
  })
  .check(
    z.superRefine((mount, ctx) => {
      if ((mount.uidMappings === undefined) !== (mount.gidMappings === undefined)) {
        const missing = mount.uidMappings === undefined ? 'uidMappings' : 'gidMappings';
        ctx.addIssue({
          code: 'custom',
          path: [missing],
          message: 'uidMappings and gidMappings must be given together',
        });
      }
    }),
  );

export const ociRootSchema = z.object({
  path: safeString.check(z.minLength(1)),
  readonly: z.optional(z.boolean()),
});

/** Capability names as the spec spells them; unknown-but-well-formed names are the runtime's to warn about. */
const capabilityName = safeString.check(
  z.regex(/^CAP_[A-Z_]+$/, {
    error: (issue) => `expected a capability name like "CAP_CHOWN", got ${JSON.stringify(issue.input)}`,
  }),
);
const capabilityList = z.optional(z.array(capabilityName));

export const ociCapabilitiesSchema = z.object({
  bounding: capabilityList,
  effective: capabilityList,
  inheritable: capabilityList,
  permitted: capabilityList,
  ambient: capabilityList,
});

/**
 * zod/mini's refine cannot narrow a schema's output type (classic zod's did, from a type
 * guard); isRlimitName is one, so every string this schema accepts is an RlimitName.
 */
const rlimitType = safeString.check(
  z.regex(/^RLIMIT_[A-Z]+$/, {
    error: (issue) => `expected an rlimit type like "RLIMIT_NOFILE", got ${JSON.stringify(issue.input)}`,
  }),
  z.refine(isRlimitName, { error: (issue) => `unknown rlimit type ${JSON.stringify(issue.input)}` }),
) as z.ZodMiniType<RlimitName, string>;

export const ociRlimitSchema = z
  .object({
    type: rlimitType,
    hard: uint64,
    soft: uint64,
  })
  .check(
    z.superRefine((rlimit, ctx) => {
      if (rlimit.soft > rlimit.hard) {
        ctx.addIssue({
          code: 'custom',
          path: ['soft'],
          message: `soft limit ${rlimit.soft} exceeds hard limit ${rlimit.hard}`,
        });
      }
    }),
  );

export const ociUserSchema = z.object({
  uid: processId,
  gid: processId,
  umask: z.optional(uint32),
  additionalGids: z.optional(z.array(processId)),
  username: z.optional(safeString),
});

export const ociConsoleSizeSchema = z.object({ height: uint32, width: uint32 });

export const ociIoPrioritySchema = z.object({
  class: z.enum(['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE']),
  priority: integerBetween(0, 7),
});

export const ociSchedulerSchema = z.object({
  policy: z.enum([
    'SCHED_OTHER',
    'SCHED_FIFO',
    'SCHED_RR',
    'SCHED_BATCH',
    'SCHED_ISO',
    'SCHED_IDLE',
    'SCHED_DEADLINE',
  ]),
  nice: z.optional(int32),
  priority: z.optional(int32),
  flags: z.optional(
    z.array(
      z.enum([
        'SCHED_FLAG_RESET_ON_FORK',
        'SCHED_FLAG_RECLAIM',
        'SCHED_FLAG_DL_OVERRUN',
        'SCHED_FLAG_KEEP_POLICY',
        'SCHED_FLAG_KEEP_PARAMS',
        'SCHED_FLAG_UTIL_CLAMP_MIN',
        'SCHED_FLAG_UTIL_CLAMP_MAX',
      ]),
    ),
  ),
  runtime: z.optional(uint64),
  deadline: z.optional(uint64),
  period: z.optional(uint64),
});

export const ociExecCpuAffinitySchema = z.object({
  initial: z.optional(safeString),
  final: z.optional(safeString),
});

export const ociProcessSchema = z.object({
  terminal: z.optional(z.boolean()),
  consoleSize: z.optional(ociConsoleSizeSchema),
  user: z.optional(ociUserSchema),
  args: z.optional(stringArray.check(z.minLength(1))),
  commandLine: z.optional(safeString),
  env: z.optional(z.array(envEntry)),
  cwd: absolutePath,
  capabilities: z.optional(ociCapabilitiesSchema),
  rlimits: z.optional(
    z
      .array(ociRlimitSchema)
      .check(
        z.superRefine((rlimits, ctx) => reportDuplicates(rlimits, (r) => r.type, ctx, 'type', 'rlimit type')),
      ),
  ),
  noNewPrivileges: z.optional(z.boolean()),
  apparmorProfile: z.optional(safeString),
  // The kernel's range for /proc/<pid>/oom_score_adj.
  oomScoreAdj: z.optional(integerBetween(-1000, 1000)),
  selinuxLabel: z.optional(safeString),
  ioPriority: z.optional(ociIoPrioritySchema),
  scheduler: z.optional(ociSchedulerSchema),
  execCPUAffinity: z.optional(ociExecCpuAffinitySchema),
});

export const ociNamespaceSchema = z.object({
  type: z.enum(NAMESPACE_TYPES),
  path: z.optional(absolutePath),
});

export const ociTimeOffsetSchema = z.object({ secs: z.optional(int64), nanosecs: z.optional(uint32) });

export const ociDeviceSchema = z
  .object({
    type: z.enum(['c', 'b', 'u', 'p']),
    path: absolutePath,
    major: z.optional(int64),
    minor: z.optional(int64),
    fileMode: z.optional(uint32),
    uid: z.optional(uint32),
    gid: z.optional(uint32),
  })
  .check(
    z.superRefine((device, ctx) => {
      if (device.type === 'p') return;
      for (const field of ['major', 'minor'] as const) {
        if (device[field] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: `required for a device of type "${device.type}"`,
          });
        }
      }
    }),
  );

export const ociDeviceCgroupSchema = z.object({
  allow: z.boolean(),
  type: z.optional(z.enum(['a', 'c', 'b'])),
  major: z.optional(int64),
  minor: z.optional(int64),
  access: z.optional(
    safeString.check(z.regex(/^[rwm]*$/, { error: 'expected a combination of "r", "w" and "m"' })),
  ),
});

export const ociMemorySchema = z.object({
  limit: z.optional(int64),
  reservation: z.optional(int64),
  swap: z.optional(int64),
  kernel: z.optional(int64),
  kernelTCP: z.optional(int64),
  swappiness: z.optional(uint64),
  disableOOMKiller: z.optional(z.boolean()),
  useHierarchy: z.optional(z.boolean()),
  checkBeforeUpdate: z.optional(z.boolean()),
});

export const ociCpuSchema = z.object({
  shares: z.optional(uint64),
  quota: z.optional(int64),
  burst: z.optional(uint64),
  period: z.optional(uint64),
  realtimeRuntime: z.optional(int64),
  realtimePeriod: z.optional(uint64),
  cpus: z.optional(safeString),
  mems: z.optional(safeString),
  idle: z.optional(int64),
});

const blockIODevice = { major: int64, minor: int64 };

export const ociWeightDeviceSchema = z
  .object({ ...blockIODevice, weight: z.optional(uint16), leafWeight: z.optional(uint16) })
  .check(
    z.refine((d) => d.weight !== undefined || d.leafWeight !== undefined, {
      message: 'at least one of weight or leafWeight is required',
    }),
  );

export const ociThrottleDeviceSchema = z.object({ ...blockIODevice, rate: uint64 });

export const ociBlockIOSchema = z.object({
  weight: z.optional(uint16),
  leafWeight: z.optional(uint16),
  weightDevice: z.optional(z.array(ociWeightDeviceSchema)),
  throttleReadBpsDevice: z.optional(z.array(ociThrottleDeviceSchema)),
  throttleWriteBpsDevice: z.optional(z.array(ociThrottleDeviceSchema)),
  throttleReadIOPSDevice: z.optional(z.array(ociThrottleDeviceSchema)),
  throttleWriteIOPSDevice: z.optional(z.array(ociThrottleDeviceSchema)),
});

export const ociHugepageLimitSchema = z.object({ pageSize: safeString, limit: uint64 });

export const ociNetworkResourcesSchema = z.object({
  classID: z.optional(uint32),
  priorities: z.optional(z.array(z.object({ name: safeString, priority: uint32 }))),
});

export const ociRdmaSchema = z
  .object({ hcaHandles: z.optional(uint32), hcaObjects: z.optional(uint32) })
  .check(
    z.refine((r) => r.hcaHandles !== undefined || r.hcaObjects !== undefined, {
      message: 'at least one of hcaHandles or hcaObjects is required',
    }),
  );

export const ociResourcesSchema = z.object({
  devices: z.optional(z.array(ociDeviceCgroupSchema)),
  memory: z.optional(ociMemorySchema),
  cpu: z.optional(ociCpuSchema),
  pids: z.optional(z.object({ limit: int64 })),
  blockIO: z.optional(ociBlockIOSchema),
  hugepageLimits: z.optional(z.array(ociHugepageLimitSchema)),
  network: z.optional(ociNetworkResourcesSchema),
  rdma: z.optional(z.record(safeString, ociRdmaSchema)),
  unified: z.optional(stringMap),
});

const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;

export const ociSyscallSchema = z.object({
  names: z.array(safeString).check(z.minLength(1)),
  action: z.enum(SECCOMP_ACTIONS),
  errnoRet: z.optional(uint32),
  args: z.optional(
    z.array(
      z.object({
        index: uint32,
        value: uint64,
        valueTwo: z.optional(uint64),
        op: z.enum([
          'SCMP_CMP_NE',
          'SCMP_CMP_LT',
          'SCMP_CMP_LE',
          'SCMP_CMP_EQ',
          'SCMP_CMP_GE',
          'SCMP_CMP_GT',
          'SCMP_CMP_MASKED_EQ',
        ]),
      }),
    ),
  ),
});

export const ociSeccompSchema = z
  .object({
    defaultAction: z.enum(SECCOMP_ACTIONS),
    defaultErrnoRet: z.optional(uint32),
    // A pattern rather than the spec's list, so architectures libseccomp adds later still parse.
    architectures: z.optional(
      z.array(
        safeString.check(
          z.regex(/^SCMP_ARCH_[A-Z0-9_]+$/, { error: 'expected an architecture like "SCMP_ARCH_X86_64"' }),
        ),
      ),
    ),
    flags: z.optional(
      z.array(
        z.enum([
          'SECCOMP_FILTER_FLAG_TSYNC',
          'SECCOMP_FILTER_FLAG_LOG',
          'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
          'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
        ]),
      ),
    ),
    listenerPath: z.optional(safeString),
    listenerMetadata: z.optional(safeString),
    syscalls: z.optional(z.array(ociSyscallSchema)),
  })
  .check(
    z.superRefine((seccomp, ctx) => {
      if (seccomp.listenerMetadata !== undefined && seccomp.listenerPath === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['listenerMetadata'],
          message: 'must not be set without listenerPath',
        });
      }
    }),
  );

export const ociIntelRdtSchema = z.object({
  closID: z.optional(safeString),
  l3CacheSchema: z.optional(safeString),
  memBwSchema: z.optional(
    safeString.check(z.regex(/^MB:[^\n]*$/, { error: 'expected "MB:..." without newlines' })),
  ),
  schemata: z.optional(safeString),
  enableCMT: z.optional(z.boolean()),
  enableMBM: z.optional(z.boolean()),
});

export const ociPersonalitySchema = z.object({
  domain: z.enum(['LINUX', 'LINUX32']),
  flags: z.optional(stringArray),
});

export const ociLinuxSchema = z.object({
  namespaces: z.optional(
    z
      .array(ociNamespaceSchema)
      .check(
        z.superRefine((namespaces, ctx) =>
          reportDuplicates(namespaces, (n) => n.type, ctx, 'type', 'namespace type'),
        ),
      ),
  ),
  uidMappings: z.optional(z.array(ociIdMappingSchema)),
  gidMappings: z.optional(z.array(ociIdMappingSchema)),
  // Only these two clocks can be offset in a time namespace (time_namespaces(7)).
  timeOffsets: z.optional(z.partialRecord(z.enum(['monotonic', 'boottime']), ociTimeOffsetSchema)),
  devices: z.optional(z.array(ociDeviceSchema)),
  netDevices: z.optional(z.record(safeString, z.object({ name: z.optional(safeString) }))),
  cgroupsPath: z.optional(safeString),
  resources: z.optional(ociResourcesSchema),
  // runc also accepts the recursive spellings.
  rootfsPropagation: z.optional(
    z.enum(['private', 'shared', 'slave', 'unbindable', 'rprivate', 'rshared', 'rslave', 'runbindable']),
  ),
  seccomp: z.optional(ociSeccompSchema),
  sysctl: z.optional(stringMap),
  maskedPaths: z.optional(z.array(absolutePath)),
  readonlyPaths: z.optional(z.array(absolutePath)),
  mountLabel: z.optional(safeString),
  intelRdt: z.optional(ociIntelRdtSchema),
  personality: z.optional(ociPersonalitySchema),
});

export const ociConfigSchema = z.object({
  ociVersion: safeString.check(
    z.regex(SEMVER, {
      error: (issue) => `expected a SemVer 2.0.0 version like "1.2.0", got ${JSON.stringify(issue.input)}`,
    }),
  ),
  process: z.optional(ociProcessSchema),
  root: ociRootSchema,
  hostname: z.optional(utsName),
  domainname: z.optional(utsName),
  mounts: z.optional(z.array(ociMountSchema)),
  hooks: z.optional(ociHooksSchema),
  annotations: z.optional(stringMap),
  linux: z.optional(ociLinuxSchema),
});

export type OciConfig = z.output<typeof ociConfigSchema>;
export type OciProcess = z.output<typeof ociProcessSchema>;
export type OciUser = z.output<typeof ociUserSchema>;
export type OciConsoleSize = z.output<typeof ociConsoleSizeSchema>;
export type OciCapabilities = z.output<typeof ociCapabilitiesSchema>;
export type OciRlimit = z.output<typeof ociRlimitSchema>;
export type OciIoPriority = z.output<typeof ociIoPrioritySchema>;
export type OciScheduler = z.output<typeof ociSchedulerSchema>;
export type OciExecCpuAffinity = z.output<typeof ociExecCpuAffinitySchema>;
export type OciRoot = z.output<typeof ociRootSchema>;
export type OciMount = z.output<typeof ociMountSchema>;
export type OciIdMapping = z.output<typeof ociIdMappingSchema>;
export type OciHook = z.output<typeof ociHookSchema>;
export type OciHooks = z.output<typeof ociHooksSchema>;
export type OciLinux = z.output<typeof ociLinuxSchema>;
export type OciNamespace = z.output<typeof ociNamespaceSchema>;
export type OciNamespaceType = (typeof NAMESPACE_TYPES)[number];
export type OciTimeOffset = z.output<typeof ociTimeOffsetSchema>;
export type OciDevice = z.output<typeof ociDeviceSchema>;
export type OciDeviceCgroup = z.output<typeof ociDeviceCgroupSchema>;
export type OciResources = z.output<typeof ociResourcesSchema>;
export type OciMemory = z.output<typeof ociMemorySchema>;
export type OciCpu = z.output<typeof ociCpuSchema>;
export type OciBlockIO = z.output<typeof ociBlockIOSchema>;
export type OciWeightDevice = z.output<typeof ociWeightDeviceSchema>;
export type OciThrottleDevice = z.output<typeof ociThrottleDeviceSchema>;
export type OciHugepageLimit = z.output<typeof ociHugepageLimitSchema>;
export type OciNetworkResources = z.output<typeof ociNetworkResourcesSchema>;
export type OciRdma = z.output<typeof ociRdmaSchema>;
export type OciSeccomp = z.output<typeof ociSeccompSchema>;
export type OciSyscall = z.output<typeof ociSyscallSchema>;
export type OciIntelRdt = z.output<typeof ociIntelRdtSchema>;
export type OciPersonality = z.output<typeof ociPersonalitySchema>;
