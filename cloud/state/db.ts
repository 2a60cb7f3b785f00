/**
 * The cloud's own state database (SQLite, WAL): the device registry, dead letters and
 * the (gateway, seq) dedupe window. Telemetry lives in the telemetry store, never here.
 *
 * `synchronous = NORMAL` in WAL mode: a commit survives the process being killed (the
 * WAL is in the OS page cache); it is not fsynced on every commit, so a power cut may
 * lose the last commits. This file holds nothing a gateway was promised: a lost dedupe
 * row means one more idempotent write; a lost birth is republished on reconnect.
 */
import Database from 'better-sqlite3'

export type StateDb = Database.Database

const SCHEMA = `
CREATE TABLE IF NOT EXISTS gateways (
  site TEXT NOT NULL,
  gateway TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'unknown',
  session INTEGER NOT NULL DEFAULT 0,
  agent TEXT,
  born_at INTEGER,
  state_at INTEGER,
  PRIMARY KEY (gateway)
);
CREATE TABLE IF NOT EXISTS devices (
  gateway TEXT NOT NULL,
  device TEXT NOT NULL,
  site TEXT NOT NULL,
  kind TEXT NOT NULL,
  profile TEXT NOT NULL,
  firmware TEXT NOT NULL,
  bus TEXT NOT NULL,
  unit INTEGER,
  lat REAL,
  lon REAL,
  asset TEXT,
  availability TEXT NOT NULL DEFAULT 'unknown',
  last_error TEXT,
  last_seen INTEGER,
  last_values TEXT,
  PRIMARY KEY (gateway, device)
);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  topic TEXT NOT NULL,
  client TEXT,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  payload TEXT NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_reason ON dead_letters (reason, id);
CREATE TABLE IF NOT EXISTS seen_batches (
  gateway TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (gateway, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_batches_at ON seen_batches (at);
`

/** Opens (creating if needed) the state database at `path` (`:memory:` for tests). */
export function openStateDb(path: string): StateDb {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  db.exec(SCHEMA)
  return db
}
