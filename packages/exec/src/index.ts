export type { CgroupStats } from '@nsinit/cgroups';
export {
  type CgroupPlan,
  type CompiledProgram,
  type CompileInput,
  type ConfigInput,
  compileExecProcess,
  compileProgram,
  DEFAULT_DEVICES,
  type ExecProcessInput,
  NAMESPACE_FLAGS,
  type NamespaceType,
  type ProcessInput,
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
export type { ExecProcess, ExecProcessFor, ExecProcessOptions } from './exec-process.js';
export { type HostFacts, readHostFacts } from './host.js';
export {
  ContainerError,
  type ContainerErrorCode,
  type ContainerEvent,
  type ContainerInfo,
  type ContainerStatus,
  deleteContainer,
  LoadedContainer,
  loadContainer,
} from './load-container.js';
export { MS, parseMountOptions, recognisedMountOptions } from './mount-options.js';
export { MaxBufferError, type Output, type OutputOptions, output } from './output.js';
export {
  type ContainerFor,
  type CreateOptions,
  create,
  describeStart,
  type NetworkOption,
  type RunOptions,
  run,
  type StartDescription,
  type StdioSpec,
} from './run.js';
export type { StdioOption } from './stdio.js';
