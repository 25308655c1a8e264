export { DEFAULT_ALLOWED_DEVICES, type DeviceRule, DevicesCgroupV1, formatDeviceRule } from './devices.js';
export { CgroupError } from './errors.js';
export { cgroupPathIn, findV1Hierarchy, type Hierarchy, parseHierarchies, parseProcCgroup } from './hierarchy.js';
