/** Setup of the postgres-s3 project: drops the databases and empties the prefixes a test file's servers left. */
import { afterAll } from 'vitest';
import { disposeSharedStores } from './helpers/test-store.js';

afterAll(disposeSharedStores);
