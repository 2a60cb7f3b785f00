/**
 * Every SQL statement of the outbox, prepared once per open file. The schema they run
 * against is in database.ts.
 */
import type Database from 'better-sqlite3'

/** An id above every reading id: "no live lane" (the uplink is down). */
export const NO_LIVE = Number.MAX_SAFE_INTEGER

/** A queued reading. */
export interface PendingRow {
  id: number
  device: string
  ts: number
  body: string
  size: number
}

/** A frozen batch. */
export interface BatchRow {
  seq: number
  topic: string
  payload: Buffer
  readings: number
  live: number
}

/** The prepared statements of one open file. */
export type Statements = ReturnType<typeof prepare>

/** Prepares every statement once, at open. */
export function prepare(db: Database.Database) {
  return {
    db,
    meta: db.prepare<[], { key: string; value: number }>('SELECT key, value FROM meta'),
    setMeta: db.prepare<[string, number]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    pendingCount: db.prepare<[], number>('SELECT count(*) FROM readings').pluck(),
    frozenTotals: db.prepare<[], { batches: number; readings: number | null }>('SELECT count(*) AS batches, sum(readings) AS readings FROM batches'),
    newestAppendedAt: db.prepare<[], number>('SELECT appended_at FROM readings ORDER BY id DESC LIMIT 1').pluck(),
    lastId: db.prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").pluck(),
    insertReading: db.prepare<[string, number, string, number, number, number]>(
      'INSERT INTO readings (device, ts, body, size, historical, appended_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    // The lanes (the module comment's historical rule): live = this session, fresh, not
    // appended historical; backlog = the rest. Both in append order.
    liveLane: db.prepare<[number, number, number], PendingRow>(
      'SELECT id, device, ts, body, size FROM readings WHERE id >= ? AND appended_at >= ? AND historical = 0 ORDER BY id LIMIT ?',
    ),
    backlogLane: db.prepare<[number, number, number], PendingRow>(
      'SELECT id, device, ts, body, size FROM readings WHERE (id < ? OR appended_at < ? OR historical = 1) ORDER BY id LIMIT ?',
    ),
    appendedAtOf: db.prepare<[number], number>('SELECT appended_at FROM readings WHERE id = ?').pluck(),
    deleteReading: db.prepare<[number]>('DELETE FROM readings WHERE id = ?'),
    firstFreshId: db.prepare<[number], number>('SELECT id FROM readings WHERE appended_at >= ? ORDER BY id LIMIT 1').pluck(),
    deleteAllPending: db.prepare<[]>('DELETE FROM readings'),
    deletePendingBelow: db.prepare<[number, number]>('DELETE FROM readings WHERE id IN (SELECT id FROM readings WHERE id < ? ORDER BY id LIMIT ?)'),
    oldestPendingId: db.prepare<[], number>('SELECT id FROM readings ORDER BY id LIMIT 1').pluck(),
    oldestPending: db.prepare<[], number>('SELECT appended_at FROM readings ORDER BY id LIMIT 1').pluck(),
    oldestFrozen: db.prepare<[], number | null>('SELECT min(oldest_appended_at) FROM batches').pluck(),
    insertBatch: db.prepare<[number, string, Uint8Array, number, number, number, number, number]>(
      'INSERT INTO batches (seq, topic, payload, readings, live, first_id, oldest_appended_at, frozen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    frozenSeqs: db.prepare<[], number>('SELECT seq FROM batches ORDER BY seq').pluck(),
    batch: db.prepare<[number], BatchRow>('SELECT seq, topic, payload, readings, live FROM batches WHERE seq = ?'),
    droppable: db.prepare<[], { seq: number; readings: number; first_id: number; oldest_appended_at: number }>(
      'SELECT seq, readings, first_id, oldest_appended_at FROM batches ORDER BY first_id',
    ),
    deleteBatch: db.prepare<[number], { readings: number }>('DELETE FROM batches WHERE seq = ? RETURNING readings'),
  }
}
