/**
 * Webhook delivery's durable state, beside the alarm log in the cloud's state database.
 * The transition log (`alarm_transitions`) is the outbox; these tables only say how far
 * each target has got:
 *
 * - `webhook_cursors`: per target (by name), `last_id` = the newest log id that is done
 *   for it (delivered, filtered out, not announced, or given up on); while an event is
 *   being retried, `pending_id`, `attempts`, `next_at` (cloud clock, ms) and `last_error`,
 *   so a restart continues the backoff instead of hammering the receiver.
 * - `webhook_failures`: events given up on (a 4xx other than 408/429, a redirect, or
 *   `maxAttempts` used up), one row each, never deleted here.
 *
 * A failure row and the cursor moving past it are one transaction.
 */
import type { StateDb } from '../state/db.ts'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS webhook_cursors (
  target TEXT PRIMARY KEY,
  last_id INTEGER NOT NULL,
  pending_id INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhook_failures (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  target TEXT NOT NULL,
  transition_id INTEGER NOT NULL,
  alarm_id TEXT NOT NULL,
  status INTEGER,
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_failures_target ON webhook_failures (target, id);
`

export interface WebhookCursor {
  target: string
  lastId: number
  /** The event being retried, when one is. */
  pendingId?: number
  attempts: number
  /** Not before this time (cloud clock, ms); 0 = now. */
  nextAt: number
  lastError?: string
}

export interface WebhookFailure {
  id: number
  target: string
  transitionId: number
  alarmId: string
  /** HTTP status; absent for a network error or a timeout. */
  status?: number
  reason: string
  attempts: number
  at: number
}

interface CursorRow {
  target: string
  last_id: number
  pending_id: number | null
  attempts: number
  next_at: number
  last_error: string | null
}

interface FailureRow {
  id: number
  target: string
  transition_id: number
  alarm_id: string
  status: number | null
  reason: string
  attempts: number
  at: number
}

export class WebhookStore {
  readonly #db: StateDb
  readonly #stmt

  /** Creates the tables when missing and prepares statements; reads nothing. */
  constructor(db: StateDb) {
    this.#db = db
    db.exec(SCHEMA)
    this.#stmt = {
      get: db.prepare('SELECT target, last_id, pending_id, attempts, next_at, last_error FROM webhook_cursors WHERE target = ?'),
      create: db.prepare('INSERT INTO webhook_cursors (target, last_id, updated_at) VALUES (?, ?, ?) ON CONFLICT (target) DO NOTHING'),
      advance: db.prepare('UPDATE webhook_cursors SET last_id = ?, pending_id = NULL, attempts = 0, next_at = 0, last_error = NULL, updated_at = ? WHERE target = ?'),
      retry: db.prepare('UPDATE webhook_cursors SET pending_id = ?, attempts = ?, next_at = ?, last_error = ?, updated_at = ? WHERE target = ?'),
      fail: db.prepare('INSERT INTO webhook_failures (target, transition_id, alarm_id, status, reason, attempts, at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      failures: db.prepare('SELECT id, target, transition_id, alarm_id, status, reason, attempts, at FROM webhook_failures WHERE id > ? ORDER BY id LIMIT ?'),
      failuresOf: db.prepare('SELECT id, target, transition_id, alarm_id, status, reason, attempts, at FROM webhook_failures WHERE target = ? AND id > ? ORDER BY id LIMIT ?'),
    }
  }

  /** The target's cursor; created at `startId` when the target is new. */
  open(target: string, startId: number, at: number): WebhookCursor {
    this.#stmt.create.run(target, startId, at)
    return this.get(target) as WebhookCursor
  }

  get(target: string): WebhookCursor | undefined {
    const r = this.#stmt.get.get(target) as CursorRow | undefined
    if (!r) return undefined
    return {
      target: r.target,
      lastId: r.last_id,
      ...(r.pending_id !== null ? { pendingId: r.pending_id } : {}),
      attempts: r.attempts,
      nextAt: r.next_at,
      ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    }
  }

  /** Everything up to `lastId` is done for the target; any retry state is dropped. */
  advance(target: string, lastId: number, at: number): void {
    this.#stmt.advance.run(lastId, at, target)
  }

  /** One more failed attempt at `pendingId`; the next is not before `nextAt`. */
  retry(target: string, pendingId: number, attempts: number, nextAt: number, error: string, at: number): void {
    this.#stmt.retry.run(pendingId, attempts, nextAt, error, at, target)
  }

  /** Records the failure and moves the cursor past it, in one transaction. */
  giveUp(f: Omit<WebhookFailure, 'id'>): void {
    this.#db.transaction(() => {
      this.#stmt.fail.run(f.target, f.transitionId, f.alarmId, f.status ?? null, f.reason, f.attempts, f.at)
      this.#stmt.advance.run(f.transitionId, f.at, f.target)
    })()
  }

  /** Failures with id > `afterId`, oldest first; of one target when given. */
  failures(opts: { target?: string; afterId?: number; limit?: number } = {}): WebhookFailure[] {
    const { target, afterId = 0, limit = 100 } = opts
    const rows = (target === undefined ? this.#stmt.failures.all(afterId, limit) : this.#stmt.failuresOf.all(target, afterId, limit)) as FailureRow[]
    return rows.map((r) => ({
      id: r.id,
      target: r.target,
      transitionId: r.transition_id,
      alarmId: r.alarm_id,
      ...(r.status !== null ? { status: r.status } : {}),
      reason: r.reason,
      attempts: r.attempts,
      at: r.at,
    }))
  }
}
