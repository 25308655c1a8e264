export {
  CAPABILITIES,
  CAPABILITY_NAMES,
  type CapabilityName,
  isCapabilityName,
  isRlimitName,
  RLIMITS,
  type RlimitName,
  rlimitNameOf,
} from './capabilities.js';
export {
  type CapabilityDecision,
  type CapabilitySemantics,
  decideCapabilities,
  FEB_2014_DROP_VOCABULARY,
  laterEraMarkers,
} from './container-json/capabilities.js';
export {
  type ConvertContainerJsonOptions,
  convertContainerJson,
  NETWORK_ANNOTATION,
  type Network2014,
  type Route2014,
  type RuntimeOptions,
} from './container-json/convert.js';
export { type GroupEntry, type PasswdEntry, parseGroup, parsePasswd } from './container-json/passwd.js';
export { type ContainerJson, containerJsonSchema } from './container-json/schema.js';
export { resolveUser2014, UserResolutionError } from './container-json/user.js';
export {
  type CompleteOciConfig,
  DEFAULT_PATH_ENV,
  DOCKER_DEFAULT_CAPABILITIES,
  embeddedDefaultConfig,
  OCI_VERSION,
  RUNC_MASKED_PATHS,
  RUNC_READONLY_PATHS,
  runcSpecConfig,
} from './defaults.js';
export { ConfigError, type ConfigIssue, formatJsonPath, type JsonPosition } from './errors.js';
export { findJsonSyntaxError, parseJsonText } from './json.js';
export { type ConfigFormat, detectConfigFormat, type LoadedConfig, loadConfigFile } from './load.js';
export * from './oci.js';
export { type DeepReadonly, isValidOciConfig, parseOciConfig, type ValidOciConfig } from './parse.js';
export { RootfsFileError, readRootfsFile } from './rootfs-file.js';
export { rootlessSpecConfig } from './rootless.js';
export { parseOrThrow } from './validation.js';
