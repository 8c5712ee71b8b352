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
  redactUrl,
} from './config.js';
export type { ConfigOverrides, EnvKind, GalenConfig, LoadConfigOptions } from './config.js';
