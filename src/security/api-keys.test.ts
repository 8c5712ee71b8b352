/**
 * A revoked key stops working on every replica within a second, not after a cache's lifetime:
 * two stores on one database (SQLite, and Postgres when GALEN_TEST_DATABASE_URL is set), each
 * with its own ApiKeys, and a clock that never moves, so no cache expiry can be what refuses it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metadataStoreFactories, within } from '../../test/helpers/stores.js';
import type { TestDatabase } from '../../test/helpers/stores.js';
import { ApiKeys } from './api-keys.js';

const clock = { now: () => 1_700_000_000_000 };

for (const factory of metadataStoreFactories()) {
  describe.skipIf(factory.skip !== undefined)(`ApiKeys on ${factory.name}, two replicas`, () => {
    let database: TestDatabase;
    beforeEach(async () => {
      database = await factory.create();
    });
    afterEach(() => database.drop());

    it('refuses a key revoked on another replica within a second', async () => {
      const a = new ApiKeys(await database.open(), clock);
      const b = new ApiKeys(await database.open(), clock);
      const { key, info } = await b.create({ name: 'ward app', role: 'service', createdBy: 'test' });
      expect(await a.authenticate(key)).toEqual({ keyId: info.id, role: 'service' });
      expect(await a.authenticate(key)).toEqual({ keyId: info.id, role: 'service' }); // cached now
      await b.revoke(info.id);
      await within(1_000, () =>
        a.authenticate(key).then(
          () => false,
          () => true,
        ),
      );
      await expect(a.authenticate(key)).rejects.toMatchObject({ code: 'unauthorized' });
    });
  });
}
