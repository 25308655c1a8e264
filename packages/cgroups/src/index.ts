export { blkioWeightToIoWeight, cpuSharesToWeight, memorySwapToV2 } from './convert.js';
export {
  ACCESS_MKNOD,
  ACCESS_READ,
  ACCESS_WRITE,
  type DeviceException,
  type DevicePolicy,
  deviceRulesPolicy,
} from './device-policy.js';
export { type BpfInstruction, deviceProgram, encodeBpfProgram } from './device-program.js';
export { DEFAULT_ALLOWED_DEVICES, type DeviceRule, formatDeviceRule } from './devices.js';
export { CgroupError } from './errors.js';
export {
  type CgroupMount,
  cgroupPathIn,
  type Hierarchy,
  parseCgroupMounts,
  parseProcCgroup,
} from './hierarchy.js';
export {
  type CgroupLayout,
  type CgroupMode,
  cgroupDirectory,
  detectCgroupLayout,
  type LayoutHierarchy,
  type V1LayoutHierarchy,
} from './layout.js';
export {
  type CgroupManager,
  type CgroupManagerOptions,
  type CgroupPaths,
  createCgroupManager,
  type FreezerState,
  loadCgroupManager,
  planCgroupPaths,
  type WaitOptions,
} from './manager.js';
export {
  type ContainerJsonCgroupsInput,
  type ContainerJsonDeviceInput,
  deviceRulesFromOci,
  type OciDeviceRuleInput,
  type OciLinuxDeviceInput,
  type OciResourcesInput,
  resourcesFromContainerJson,
  resourcesFromOci,
} from './mappers.js';
export type { CgroupWrite } from './plan.js';
export type {
  BlockIODeviceWeight,
  BlockIOResources,
  BlockIOThrottle,
  CgroupResources,
  CpuResources,
  HugepageLimit,
  MemoryResources,
  NetworkResources,
  ResourceController,
} from './resources.js';
export type {
  BlockIODeviceStats,
  CgroupStats,
  CpuStats,
  HugetlbStats,
  MemoryStats,
  PidsStats,
} from './stats.js';
export { planV1Writes, type V1Facts } from './v1.js';
export { planV2Writes, type V2Facts } from './v2.js';
