import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../observability/index.js';
import { adminKeyPath, bootstrapAdminKey, createGalen } from './galen.js';

describe('bootstrapAdminKey', () => {
  it('generates one admin key on first start, readable only by its owner, and never again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'galen-app-'));
    const galen = await createGalen(loadConfig({ env: {}, overrides: { dataDir } }), createLogger('silent'));
    try {
      const key = await bootstrapAdminKey(galen);
      expect(key).toMatch(/^galen_/);
      expect(readFileSync(adminKeyPath(dataDir), 'utf8').trim()).toBe(key);
      expect(statSync(adminKeyPath(dataDir)).mode & 0o777).toBe(0o600);
      expect(await galen.keys.authenticate(key!)).toMatchObject({ role: 'admin' });
      expect(await bootstrapAdminKey(galen)).toBeUndefined();
    } finally {
      await galen.close();
    }
  });

  it('stores nothing when GALEN_ADMIN_KEY is set', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'galen-app-'));
    const config = loadConfig({
      env: { GALEN_ADMIN_KEY: 'an-admin-key-from-the-environment' },
      overrides: { dataDir },
    });
    const galen = await createGalen(config, createLogger('silent'));
    try {
      expect(await bootstrapAdminKey(galen)).toBeUndefined();
      expect(await galen.keys.list()).toEqual([]);
      expect(await galen.keys.authenticate('an-admin-key-from-the-environment')).toEqual({
        keyId: 'env-admin',
        role: 'admin',
      });
    } finally {
      await galen.close();
    }
  });
});
