import { z } from 'zod';
import { isRlimitName } from './capabilities.js';
import {
  absolutePath,
  envEntry,
  int32,
  int64,
  integerBetween,
  reportDuplicates,
  safeString,
  uint16,
  uint32,
  uint64,
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
  args: stringArray.optional(),
  env: z.array(envEntry).optional(),
  timeout: integerBetween(1, Number.MAX_SAFE_INTEGER).optional(),
});

const hookList = z.array(ociHookSchema).optional();

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
    type: safeString.optional(),
    source: safeString.optional(),
    options: stringArray.optional(),
    uidMappings: z.array(ociIdMappingSchema).optional(),
    gidMappings: z.array(ociIdMappingSchema).optional(),
  })
  .superRefine((mount, ctx) => {
    if ((mount.uidMappings === undefined) !== (mount.gidMappings === undefined)) {
      const missing = mount.uidMappings === undefined ? 'uidMappings' : 'gidMappings';
      ctx.addIssue({
        code: 'custom',
        path: [missing],
        message: 'uidMappings and gidMappings must be given together',
      });
    }
  });

export const ociRootSchema = z.object({
  path: safeString.min(1),
  readonly: z.boolean().optional(),
});

/** Capability names as the spec spells them; unknown-but-well-formed names are the runtime's to warn about. */
const capabilityName = safeString.regex(/^CAP_[A-Z_]+$/, {
  error: (issue) => `expected a capability name like "CAP_CHOWN", got ${JSON.stringify(issue.input)}`,
});
const capabilityList = z.array(capabilityName).optional();

export const ociCapabilitiesSchema = z.object({
  bounding: capabilityList,
  effective: capabilityList,
  inheritable: capabilityList,
  permitted: capabilityList,
  ambient: capabilityList,
});

export const ociRlimitSchema = z
  .object({
    type: safeString
      .regex(/^RLIMIT_[A-Z]+$/, {
        error: (issue) => `expected an rlimit type like "RLIMIT_NOFILE", got ${JSON.stringify(issue.input)}`,
      })
      .refine(isRlimitName, { error: (issue) => `unknown rlimit type ${JSON.stringify(issue.input)}` }),
    hard: uint64,
    soft: uint64,
  })
  .superRefine((rlimit, ctx) => {
    if (rlimit.soft > rlimit.hard) {
      ctx.addIssue({
        code: 'custom',
        path: ['soft'],
        message: `soft limit ${rlimit.soft} exceeds hard limit ${rlimit.hard}`,
      });
    }
  });

export const ociUserSchema = z.object({
  uid: uint32,
  gid: uint32,
  umask: uint32.optional(),
  additionalGids: z.array(uint32).optional(),
  username: safeString.optional(),
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
  nice: int32.optional(),
  priority: int32.optional(),
  flags: z
    .array(
      z.enum([
        'SCHED_FLAG_RESET_ON_FORK',
        'SCHED_FLAG_RECLAIM',
        'SCHED_FLAG_DL_OVERRUN',
        'SCHED_FLAG_KEEP_POLICY',
        'SCHED_FLAG_KEEP_PARAMS',
        'SCHED_FLAG_UTIL_CLAMP_MIN',
        'SCHED_FLAG_UTIL_CLAMP_MAX',
      ]),
    )
    .optional(),
  runtime: uint64.optional(),
  deadline: uint64.optional(),
  period: uint64.optional(),
});

export const ociExecCpuAffinitySchema = z.object({
  initial: safeString.optional(),
  final: safeString.optional(),
});

export const ociProcessSchema = z.object({
  terminal: z.boolean().optional(),
  consoleSize: ociConsoleSizeSchema.optional(),
  user: ociUserSchema.optional(),
  args: stringArray.min(1).optional(),
  commandLine: safeString.optional(),
  env: z.array(envEntry).optional(),
  cwd: absolutePath,
  capabilities: ociCapabilitiesSchema.optional(),
  rlimits: z
    .array(ociRlimitSchema)
    .superRefine((rlimits, ctx) => reportDuplicates(rlimits, (r) => r.type, ctx, 'type', 'rlimit type'))
    .optional(),
  noNewPrivileges: z.boolean().optional(),
  apparmorProfile: safeString.optional(),
  // The kernel's range for /proc/<pid>/oom_score_adj.
  oomScoreAdj: integerBetween(-1000, 1000).optional(),
  selinuxLabel: safeString.optional(),
  ioPriority: ociIoPrioritySchema.optional(),
  scheduler: ociSchedulerSchema.optional(),
  execCPUAffinity: ociExecCpuAffinitySchema.optional(),
});

export const ociNamespaceSchema = z.object({
  type: z.enum(NAMESPACE_TYPES),
  path: absolutePath.optional(),
});

export const ociTimeOffsetSchema = z.object({ secs: int64.optional(), nanosecs: uint32.optional() });

export const ociDeviceSchema = z
  .object({
    type: z.enum(['c', 'b', 'u', 'p']),
    path: absolutePath,
    major: int64.optional(),
    minor: int64.optional(),
    fileMode: uint32.optional(),
    uid: uint32.optional(),
    gid: uint32.optional(),
  })
  .superRefine((device, ctx) => {
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
  });

export const ociDeviceCgroupSchema = z.object({
  allow: z.boolean(),
  type: z.enum(['a', 'c', 'b']).optional(),
  major: int64.optional(),
  minor: int64.optional(),
  access: safeString.regex(/^[rwm]*$/, { error: 'expected a combination of "r", "w" and "m"' }).optional(),
});

export const ociMemorySchema = z.object({
  limit: int64.optional(),
  reservation: int64.optional(),
  swap: int64.optional(),
  kernel: int64.optional(),
  kernelTCP: int64.optional(),
  swappiness: uint64.optional(),
  disableOOMKiller: z.boolean().optional(),
  useHierarchy: z.boolean().optional(),
  checkBeforeUpdate: z.boolean().optional(),
});

export const ociCpuSchema = z.object({
  shares: uint64.optional(),
  quota: int64.optional(),
  burst: uint64.optional(),
  period: uint64.optional(),
  realtimeRuntime: int64.optional(),
  realtimePeriod: uint64.optional(),
  cpus: safeString.optional(),
  mems: safeString.optional(),
  idle: int64.optional(),
});

const blockIODevice = { major: int64, minor: int64 };

export const ociWeightDeviceSchema = z
  .object({ ...blockIODevice, weight: uint16.optional(), leafWeight: uint16.optional() })
  .refine((d) => d.weight !== undefined || d.leafWeight !== undefined, {
    message: 'at least one of weight or leafWeight is required',
  });

export const ociThrottleDeviceSchema = z.object({ ...blockIODevice, rate: uint64 });

export const ociBlockIOSchema = z.object({
  weight: uint16.optional(),
  leafWeight: uint16.optional(),
  weightDevice: z.array(ociWeightDeviceSchema).optional(),
  throttleReadBpsDevice: z.array(ociThrottleDeviceSchema).optional(),
  throttleWriteBpsDevice: z.array(ociThrottleDeviceSchema).optional(),
  throttleReadIOPSDevice: z.array(ociThrottleDeviceSchema).optional(),
  throttleWriteIOPSDevice: z.array(ociThrottleDeviceSchema).optional(),
});

export const ociHugepageLimitSchema = z.object({ pageSize: safeString, limit: uint64 });

export const ociNetworkResourcesSchema = z.object({
  classID: uint32.optional(),
  priorities: z.array(z.object({ name: safeString, priority: uint32 })).optional(),
});

export const ociRdmaSchema = z
  .object({ hcaHandles: uint32.optional(), hcaObjects: uint32.optional() })
  .refine((r) => r.hcaHandles !== undefined || r.hcaObjects !== undefined, {
    message: 'at least one of hcaHandles or hcaObjects is required',
  });

export const ociResourcesSchema = z.object({
  devices: z.array(ociDeviceCgroupSchema).optional(),
  memory: ociMemorySchema.optional(),
  cpu: ociCpuSchema.optional(),
  pids: z.object({ limit: int64 }).optional(),
  blockIO: ociBlockIOSchema.optional(),
  hugepageLimits: z.array(ociHugepageLimitSchema).optional(),
  network: ociNetworkResourcesSchema.optional(),
  rdma: z.record(safeString, ociRdmaSchema).optional(),
  unified: stringMap.optional(),
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
  names: z.array(safeString).min(1),
  action: z.enum(SECCOMP_ACTIONS),
  errnoRet: uint32.optional(),
  args: z
    .array(
      z.object({
        index: uint32,
        value: uint64,
        valueTwo: uint64.optional(),
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
    )
    .optional(),
});

export const ociSeccompSchema = z
  .object({
    defaultAction: z.enum(SECCOMP_ACTIONS),
    defaultErrnoRet: uint32.optional(),
    // A pattern rather than the spec's list, so architectures libseccomp adds later still parse.
    architectures: z
      .array(
        safeString.regex(/^SCMP_ARCH_[A-Z0-9_]+$/, {
          error: 'expected an architecture like "SCMP_ARCH_X86_64"',
        }),
      )
      .optional(),
    flags: z
      .array(
        z.enum([
          'SECCOMP_FILTER_FLAG_TSYNC',
          'SECCOMP_FILTER_FLAG_LOG',
          'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
          'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
        ]),
      )
      .optional(),
    listenerPath: safeString.optional(),
    listenerMetadata: safeString.optional(),
    syscalls: z.array(ociSyscallSchema).optional(),
  })
  .superRefine((seccomp, ctx) => {
    if (seccomp.listenerMetadata !== undefined && seccomp.listenerPath === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['listenerMetadata'],
        message: 'must not be set without listenerPath',
      });
    }
  });

export const ociIntelRdtSchema = z.object({
  closID: safeString.optional(),
  l3CacheSchema: safeString.optional(),
  memBwSchema: safeString.regex(/^MB:[^\n]*$/, { error: 'expected "MB:..." without newlines' }).optional(),
  schemata: safeString.optional(),
  enableCMT: z.boolean().optional(),
  enableMBM: z.boolean().optional(),
});

export const ociPersonalitySchema = z.object({
  domain: z.enum(['LINUX', 'LINUX32']),
  flags: stringArray.optional(),
});

export const ociLinuxSchema = z.object({
  namespaces: z
    .array(ociNamespaceSchema)
    .superRefine((namespaces, ctx) =>
      reportDuplicates(namespaces, (n) => n.type, ctx, 'type', 'namespace type'),
    )
    .optional(),
  uidMappings: z.array(ociIdMappingSchema).optional(),
  gidMappings: z.array(ociIdMappingSchema).optional(),
  // Only these two clocks can be offset in a time namespace (time_namespaces(7)).
  timeOffsets: z.partialRecord(z.enum(['monotonic', 'boottime']), ociTimeOffsetSchema).optional(),
  devices: z.array(ociDeviceSchema).optional(),
  netDevices: z.record(safeString, z.object({ name: safeString.optional() })).optional(),
  cgroupsPath: safeString.optional(),
  resources: ociResourcesSchema.optional(),
  // runc also accepts the recursive spellings.
  rootfsPropagation: z
    .enum(['private', 'shared', 'slave', 'unbindable', 'rprivate', 'rshared', 'rslave', 'runbindable'])
    .optional(),
  seccomp: ociSeccompSchema.optional(),
  sysctl: stringMap.optional(),
  maskedPaths: z.array(absolutePath).optional(),
  readonlyPaths: z.array(absolutePath).optional(),
  mountLabel: safeString.optional(),
  intelRdt: ociIntelRdtSchema.optional(),
  personality: ociPersonalitySchema.optional(),
});

export const ociConfigSchema = z.object({
  ociVersion: safeString.regex(SEMVER, {
    error: (issue) => `expected a SemVer 2.0.0 version like "1.2.0", got ${JSON.stringify(issue.input)}`,
  }),
  process: ociProcessSchema.optional(),
  root: ociRootSchema,
  hostname: safeString.optional(),
  domainname: safeString.optional(),
  mounts: z.array(ociMountSchema).optional(),
  hooks: ociHooksSchema.optional(),
  annotations: stringMap.optional(),
  linux: ociLinuxSchema.optional(),
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
