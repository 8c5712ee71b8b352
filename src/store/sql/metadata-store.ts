/**
 * The metadata store made from one scope: every repository of this folder bound to the scope's
 * connection (or, inside `transaction`, to one transaction), whichever engine the scope runs on.
 */
import type { MetadataStore } from '../metadata-store.js';
import type { Repositories } from '../repositories.js';
import { sqlAlertRepository } from './alert-repository.js';
import { sqlApiKeyRepository } from './api-key-repository.js';
import { sqlAuditRepository } from './audit-repository.js';
import { sqlCdsFeedbackRepository } from './cds-feedback-repository.js';
import { sqlArtifactReferences, sqlDatasetRepository } from './dataset-repository.js';
import { sqlJobRepository } from './job-repository.js';
import { sqlJwtReplayLedger } from './jwt-replay-ledger.js';
import { sqlModelRepository } from './model-repository.js';
import { sqlMonitoringRepository } from './monitoring-repository.js';
import type { StoreScope } from './scope.js';
import { sqlVersionDocuments } from './version-documents.js';

/** Every repository, bound to `scope`'s connection (or transaction). */
function sqlRepositories(scope: StoreScope): Repositories {
  return {
    ...sqlModelRepository(scope),
    ...sqlVersionDocuments(scope),
    ...sqlArtifactReferences(scope),
    ...sqlDatasetRepository(scope),
    ...sqlJobRepository(scope),
    ...sqlApiKeyRepository(scope),
    ...sqlAuditRepository(scope),
    ...sqlJwtReplayLedger(scope),
    ...sqlMonitoringRepository(scope),
    ...sqlAlertRepository(scope),
    ...sqlCdsFeedbackRepository(scope),
  };
}

/** The repositories plus transactions over all of them, readiness and closing, on `scope`. */
export function sqlMetadataStore(scope: StoreScope): MetadataStore {
  return {
    ...sqlRepositories(scope),
    transaction: <T>(fn: (tx: MetadataStore) => Promise<T>): Promise<T> =>
      scope.transaction((tx) => fn(sqlMetadataStore(tx))),
    probe: () => scope.probe(),
    close: () => scope.close(),
  };
}
