// `npm i nsinit` gives both the CLI (bin `nsinit`) and the library.

export {
  type CompleteOciConfig,
  ConfigError,
  type DeepReadonly,
  embeddedDefaultConfig,
  isValidOciConfig,
  type LoadedConfig,
  loadConfigFile,
  type OciConfig,
  parseOciConfig,
  type ValidOciConfig,
} from '@nsinit/config';
export * from '@nsinit/exec';
