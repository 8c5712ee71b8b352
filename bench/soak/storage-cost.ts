/**
 * `node dist-bench/bench/soak/storage-cost.js` (after `npm run build` and `tsc -p tsconfig.bench.json`):
 * what recording and auditing cost on disk per prediction. Starts the built server with monitoring
 * and audit at their defaults (without and with a master key), sends `STORAGE_REQUESTS` (default
 * 20,000) one-row predictions with ids over HTTP, stops the server, then measures every table and
 * index with SQLite's `dbstat` and prints bytes per prediction and per million predictions.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectStatus, startGalen } from '../galen-server.js';
import { repoPath } from '../paths.js';
import { wdbcRows } from '../payloads.js';

const MODEL = 'wdbc-mlp';
const REQUESTS = Number(process.env['STORAGE_REQUESTS'] ?? 20_000);
const IN_FLIGHT = 8;

interface DbStat {
  name: string;
  tbl_name: string;
  bytes: number;
}

/** Bytes per table (its indexes included) of the database at `path`, from dbstat's pages. */
function tableBytes(path: string): Map<string, number> {
  // better-sqlite3 has no types in the bench's view of it; it is only read here.
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (
    file: string,
    options: { readonly: boolean },
  ) => { prepare(sql: string): { all(): DbStat[] }; close(): void };
  const db = new Database(path, { readonly: true });
  const rows = db
    .prepare(
      `SELECT s.name AS name, COALESCE(m.tbl_name, s.name) AS tbl_name, SUM(s.pgsize) AS bytes
         FROM dbstat s LEFT JOIN sqlite_schema m ON m.name = s.name GROUP BY s.name`,
    )
    .all();
  db.close();
  const out = new Map<string, number>();
  for (const r of rows) out.set(r.tbl_name, (out.get(r.tbl_name) ?? 0) + r.bytes);
  return out;
}

async function measure(masterKey: string | undefined): Promise<Map<string, number>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'galen-storage-'));
  const apiKey = `gk_storage_${randomBytes(16).toString('hex')}`;
  const galen = await startGalen(dataDir, apiKey, {
    GALEN_MONITORING_EVALUATE_SECONDS: '0',
    ...(masterKey !== undefined && { GALEN_MASTER_KEY: masterKey }),
  });
  try {
    expectStatus(
      await galen.call('POST', `/api/v1/models/${MODEL}/versions`, {
        bytes: readFileSync(repoPath('test', 'fixtures', 'pytorch', 'wdbc_mlp.onnx')),
        headers: { 'content-type': 'application/octet-stream' },
      }),
      201,
      'registering the model',
    );
    const rows = wdbcRows();
    // Near empty: the model's rows (the WAL not yet checkpointed is counted after, not here).
    const before = tableBytes(join(dataDir, 'galen.db'));
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let i = next++; i < REQUESTS; i = next++) {
          const body = {
            id: `storage-${i}-${randomBytes(4).toString('hex')}`,
            inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: rows[i % rows.length] }],
          };
          expectStatus(
            await galen.call('POST', `/v2/models/${MODEL}/infer`, {
              bytes: Buffer.from(JSON.stringify(body)),
              headers: { 'content-type': 'application/json' },
            }),
            200,
            'a prediction',
          );
        }
      }),
    );
    await galen.stop(); // writes what is queued and checkpoints the WAL into the file
    const after = tableBytes(join(dataDir, 'galen.db'));
    for (const [table, bytes] of before) after.set(table, (after.get(table) ?? 0) - bytes);
    return after;
  } finally {
    await galen.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const perMillion = (bytes: number): string => `${(((bytes / REQUESTS) * 1e6) / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  console.log(
    `${REQUESTS.toLocaleString('en-US')} one-row predictions with ids, monitoring sample rate 1 (default), audit on`,
  );
  for (const [label, key] of [
    ['no master key', undefined],
    ['master key', randomBytes(32).toString('base64')],
  ] as const) {
    const bytes = await measure(key);
    const total = [...bytes.values()].reduce((a, b) => a + b, 0);
    console.log(
      `\n${label}: ${(total / REQUESTS).toFixed(0)} bytes per prediction, ${perMillion(total)} per million`,
    );
    for (const [table, b] of [...bytes].sort((x, y) => y[1] - x[1])) {
      if (Math.abs(b) < 8192) continue;
      console.log(
        `  ${table.padEnd(22)} ${(b / REQUESTS).toFixed(0).padStart(5)} bytes per prediction, ${perMillion(b)} per million`,
      );
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
