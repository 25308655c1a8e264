// `npm i nsinit` gives both the CLI (bin `nsinit`) and the library.
export * from '@nsinit/exec';
export {
  ConfigError,
  embeddedDefaultConfig,
  type LoadedConfig,
  loadConfigFile,
  type OciConfig,
  parseOciConfig,
} from '@nsinit/config';
