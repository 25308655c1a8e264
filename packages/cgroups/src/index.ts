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
  type CgroupHierarchy,
  type CgroupLayout,
  type CgroupMode,
  type CgroupMount,
  cgroupDirectory,
  cgroupPathIn,
  detectCgroupLayout,
  parseCgroupMounts,
  parseProcCgroup,
} from './layout.js';
export {
  type CgroupManager,
  cgroupLeaves,
  createCgroupManager,
  loadCgroupManager,
  removeCgroupIfEmpty,
} from './manager.js';
export {
  deviceRulesFromOci,
  type OciDeviceRuleInput,
  type OciLinuxDeviceInput,
  type OciResourcesInput,
  resourcesFromOci,
} from './mappers.js';
export { type CgroupManagerOptions, type CgroupPaths, planCgroupPaths } from './placement.js';
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
export { planV1Writes, type V1Facts } from './v1/plan.js';
export { planV2Writes, type V2Facts } from './v2/plan.js';
export type { FreezerState, WaitOptions } from './version.js';
