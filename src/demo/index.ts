/** The bundled demo: the WDBC dataset and the breast-cancer classifier `galen serve --demo` registers. */
export { buildBreastCancerModel } from './breast-cancer.js';
export type { BreastCancerModel, BreastCancerOptions, BreastCancerParameters } from './breast-cancer.js';
export { WDBC_CSV_URL, WDBC_FEATURE_NAMES, parseWdbcCsv, readWdbcCsv } from './wdbc-csv.js';
export type { WdbcDataset } from './wdbc-csv.js';
export { DEMO_MODEL, installDemoModels } from './install-demo.js';
export type { DemoInstall } from './install-demo.js';
