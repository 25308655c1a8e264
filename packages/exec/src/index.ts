export { type CgroupPlan, type CompiledProgram, type CompileInput, compileProgram, DEFAULT_DEVICES, NAMESPACE_FLAGS, type NamespaceType } from './compile.js';
export { Container, type ExitResult } from './container.js';
export { ExecError, type ExecErrorCode, InitError, InvalidConfigError, StepError, UnsupportedFeatureError } from './errors.js';
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
export { type RunOptions, run } from './run.js';
export type { StdioOption } from './stdio.js';
export type { CgroupStats } from '@nsinit/cgroups';
