export type { CgroupStats } from '@nsinit/cgroups';
export {
  type CgroupPlan,
  type CompiledProgram,
  type CompileInput,
  type ConfigInput,
  compileProgram,
  DEFAULT_DEVICES,
  NAMESPACE_FLAGS,
  type NamespaceType,
} from './compile.js';
export { Container, type ExitResult } from './container.js';
export {
  ExecError,
  type ExecErrorCode,
  InitError,
  InvalidConfigError,
  StepError,
  UnsupportedFeatureError,
} from './errors.js';
export { type HostFacts, readHostFacts } from './host.js';
export {
  ContainerError,
  type ContainerErrorCode,
  type ContainerInfo,
  type ContainerStatus,
  LoadedContainer,
  loadContainer,
} from './load-container.js';
export { MS, parseMountOptions } from './mount-options.js';
export { MaxBufferError, type Output, type OutputOptions, output } from './output.js';
export { type ContainerFor, type NetworkOption, type RunOptions, run, type StdioSpec } from './run.js';
export type { StdioOption } from './stdio.js';
