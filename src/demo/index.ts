/**
 * The bundled demo `galen serve --demo` installs: the breast-cancer classifier (WDBC), the
 * heart-disease CDS service and the demo CDS client that may call it.
 */
export { buildBreastCancerModel } from './breast-cancer.js';
export type { BreastCancerModel, BreastCancerOptions, BreastCancerParameters } from './breast-cancer.js';
export { WDBC_CSV_URL, WDBC_FEATURE_NAMES, parseWdbcCsv, readWdbcCsv } from './wdbc-csv.js';
export type { WdbcDataset } from './wdbc-csv.js';
export { DEMO_MODEL, installDemoModels } from './install-demo.js';
export type { DemoInstall } from './install-demo.js';
export { HEART_DEMO_FEATURE_MAP, HEART_DEMO_MODEL, installHeartDiseaseDemo } from './heart-disease.js';
export {
  DEMO_CDS_ISSUER,
  demoCdsClientPath,
  loadDemoCdsClient,
  trustDemoCdsClient,
} from './cds-demo-client.js';
export type { DemoCdsClient } from './cds-demo-client.js';
