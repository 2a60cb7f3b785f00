/**
 * Opens the outbox's SQLite file: the pragmas that make it durable and single-owner,
 * the schema and its version check, and an integrity check. Nothing here knows about
 * batches; `outbox.ts` does.
 */
import Database from 'better-sqlite3'
import { fromSqlite, OutboxError } from './errors.ts'

/** The schema this build writes, kept in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 1

/** `PRAGMA application_id` of an outbox file ("MUOB"), so a stray SQLite file is not mistaken for one. */
export const APPLICATION_ID = 0x4d554f42

/**
 * Migrations: `MIGRATIONS[n]` takes a file from schema n to n + 1. They run in one
 * transaction with the `user_version` update, so a crash leaves the old schema intact.
 */
const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [
  (db) =>
    db.exec(`
      -- Counters that must survive restarts: last_seq (absent until the first batch),
      -- dropped (readings), dropped_batches.
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT, WITHOUT ROWID;
      INSERT INTO meta (key, value) VALUES ('dropped', 0), ('dropped_batches', 0);

      -- Readings not yet in a batch. id is the append order (AUTOINCREMENT: never reused).
      CREATE TABLE readings (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        device      TEXT    NOT NULL,
        ts          INTEGER NOT NULL,
        body        TEXT    NOT NULL, -- {"values":…,"errors":…} as appended
        size        INTEGER NOT NULL, -- UTF-8 bytes of the reading's JSON with "historical":false
        historical  INTEGER NOT NULL, -- 1 when the caller appended it already historical
        appended_at INTEGER NOT NULL  -- outbox clock, ms; never decreases
      ) STRICT;

      -- Frozen batches: exact bytes, resent unchanged until acknowledged.
      CREATE TABLE batches (
        seq                INTEGER PRIMARY KEY,
        topic              TEXT    NOT NULL,
        payload            BLOB    NOT NULL,
        readings           INTEGER NOT NULL,
        live               INTEGER NOT NULL, -- how many of them went out live (historical false)
        first_id           INTEGER NOT NULL, -- smallest reading id in it: its place in append order
        oldest_appended_at INTEGER NOT NULL,
        frozen_at          INTEGER NOT NULL
      ) STRICT;
    `),
]

/** How to open the file. */
export interface OpenOptions {
  /** How long to wait for another connection's lock before failing with `OUTBOX_LOCKED`. */
  lockTimeoutMs: number
}

/**
 * Opens (creating if needed) an outbox file, migrated to `SCHEMA_VERSION` and checked.
 * @throws OutboxError `OUTBOX_CANTOPEN`, `OUTBOX_LOCKED`, `OUTBOX_CORRUPT`, `OUTBOX_SCHEMA`, `OUTBOX_IO`.
 */
export function openDatabase(path: string, options: OpenOptions): Database.Database {
  let db: Database.Database
  try {
    db = new Database(path, { timeout: options.lockTimeoutMs })
  } catch (e) {
    throw fromSqlite(e, path, 'opening', 'OUTBOX_CANTOPEN')
  }
  try {
    configure(db, path)
    checkIntegrity(db, path)
    migrate(db, path)
    return db
  } catch (e) {
    db.close()
    throw fromSqlite(e, path, 'opening')
  }
}

function configure(db: Database.Database, path: string): void {
  // One owner per file. In EXCLUSIVE mode the first access takes a lock held until
  // close, so a second agent on the same file fails fast with SQLITE_BUSY instead of
  // interleaving seq numbers; and WAL needs no shared-memory file
  // (https://www.sqlite.org/wal.html §8). The OS drops the lock when a process dies,
  // kill -9 included, so a restarted agent is never locked out by its predecessor.
  db.pragma('locking_mode = EXCLUSIVE')
  // WAL: a commit appends to the log, readers never block the writer, and a torn write
  // at power loss only loses the uncommitted tail of the log.
  const mode = db.pragma('journal_mode = WAL', { simple: true })
  if (mode !== 'wal') throw new OutboxError('OUTBOX_IO', `${path}: SQLite refused WAL mode (journal_mode is ${String(mode)})`)
  // FULL, not NORMAL: with NORMAL, WAL commits are fsynced only at checkpoints, so a
  // power cut can roll back transactions whose append() had already returned, i.e.
  // readings the poller believed stored (https://www.sqlite.org/pragma.html#pragma_synchronous).
  // FULL fsyncs the WAL at every commit; append() returns only after that.
  db.pragma('synchronous = FULL')
}

function checkIntegrity(db: Database.Database, path: string): void {
  // quick_check reads every page (O(size), bounded by the outbox's own limits) and
  // finds what a crash or a bad SD card did, before we hand out wrong bytes.
  const rows = db.pragma('quick_check') as Array<{ quick_check: string }>
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok')
  if (problems.length > 0) {
    throw new OutboxError(
      'OUTBOX_CORRUPT',
      `${path}: quick_check found ${problems.length} problem(s): ${problems.slice(0, 3).join('; ')}; move the file aside to start an empty outbox`,
      { sqliteCode: 'SQLITE_CORRUPT' },
    )
  }
}

function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const appId = Number(db.pragma('application_id', { simple: true }))
    const version = Number(db.pragma('user_version', { simple: true }))
    const objects = Number(db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'").pluck().get())
    const fresh = appId === 0 && version === 0 && objects === 0
    if (!fresh && appId !== APPLICATION_ID) {
      throw new OutboxError('OUTBOX_SCHEMA', `${path} is a SQLite database but not a muni-iot outbox (application_id ${appId}, ${objects} schema objects)`)
    }
    if (version > SCHEMA_VERSION) {
      throw new OutboxError('OUTBOX_SCHEMA', `${path} has outbox schema ${version}; this build reads up to ${SCHEMA_VERSION} (was it written by a newer agent?)`)
    }
    for (let v = version; v < SCHEMA_VERSION; v++) MIGRATIONS[v]?.(db)
    if (fresh) db.pragma(`application_id = ${APPLICATION_ID}`)
    if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`)
  }).immediate()
}
