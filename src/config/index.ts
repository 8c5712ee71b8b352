/** Loading and validating Galen's settings. Imports nothing of ours. */
export {
  ConfigError,
  ConfigSchema,
  environmentVariables,
  loadConfig,
  readDeidKey,
  readMasterKeys,
  readTls,
} from './config.js';
export type { GalenConfig, LoadConfigOptions } from './config.js';
