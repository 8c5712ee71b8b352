/** Loading and validating Galen's settings. Imports nothing of ours. */
export {
  ConfigError,
  ConfigSchema,
  environmentSettings,
  environmentVariables,
  loadConfig,
  readDeidKey,
  readMasterKeys,
  readTls,
} from './config.js';
export type { EnvKind, GalenConfig, LoadConfigOptions } from './config.js';
