/**
 * Whether the metadata database can be reached right now, for readiness: a fresh connection opens
 * the file and reads its schema page without waiting for any lock, so a file that is gone,
 * unreadable, not a database, or held by another process's exclusive lock is seen at once, and
 * the probe never stalls the event loop (the server's own connection would wait up to its busy
 * timeout).
 */
import Database from 'better-sqlite3';

/** Undefined when `path` is a readable SQLite database now; else why not (for the log, not the client). */
export function probeSqliteDatabase(path: string): string | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 0 });
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    db?.close();
  }
}
