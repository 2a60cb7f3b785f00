/**
 * Dead letters: every message (or part of one) ingest refused, with the reason, kept in
 * the state database so an engineer can see what a gateway sent and why it was refused.
 * Bounded: beyond `max` rows the oldest go (the counters keep counting).
 */
import type { DeadLetter, DeadLetterView } from '../model.ts'
import type { StateDb } from '../state/db.ts'

/** Longest payload text kept per row. */
export const DEAD_LETTER_PAYLOAD_CHARS = 4096

export interface NewDeadLetter {
  topic: string
  client?: string
  reason: string
  detail: string[]
  payload: Uint8Array | string
}

export class DeadLetters implements DeadLetterView {
  readonly #insert
  readonly #trim
  readonly #db: StateDb
  readonly #max: number
  readonly #counts = new Map<string, number>()
  #sinceTrim = 0

  constructor(db: StateDb, max = 100_000) {
    this.#db = db
    this.#max = max
    this.#insert = db.prepare('INSERT INTO dead_letters (at, topic, client, reason, detail, payload, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)')
    this.#trim = db.prepare('DELETE FROM dead_letters WHERE id <= (SELECT MAX(id) FROM dead_letters) - ?')
    for (const r of db.prepare('SELECT reason, COUNT(*) AS n FROM dead_letters GROUP BY reason').all() as Array<{ reason: string; n: number }>) {
      this.#counts.set(r.reason, r.n)
    }
  }

  /** Stores one dead letter (synchronously durable, as the state database is). */
  add(d: NewDeadLetter, at = Date.now()): void {
    const bytes = typeof d.payload === 'string' ? Buffer.byteLength(d.payload) : d.payload.byteLength
    const text = (typeof d.payload === 'string' ? d.payload : Buffer.from(d.payload.buffer, d.payload.byteOffset, Math.min(d.payload.byteLength, DEAD_LETTER_PAYLOAD_CHARS * 4)).toString('utf8')).slice(0, DEAD_LETTER_PAYLOAD_CHARS)
    this.#insert.run(at, d.topic.slice(0, 1024), d.client ?? null, d.reason, JSON.stringify(d.detail.slice(0, 100)), text, bytes)
    this.#counts.set(d.reason, (this.#counts.get(d.reason) ?? 0) + 1)
    if (++this.#sinceTrim >= 1000) {
      this.#sinceTrim = 0
      this.#trim.run(this.#max)
    }
  }

  list(q: { limit: number; before?: number; reason?: string }): DeadLetter[] {
    const where: string[] = []
    const args: unknown[] = []
    if (q.before !== undefined) (where.push('id < ?'), args.push(q.before))
    if (q.reason !== undefined) (where.push('reason = ?'), args.push(q.reason))
    const sql = `SELECT * FROM dead_letters ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`
    const rows = this.#db.prepare(sql).all(...args, q.limit) as Array<{ id: number; at: number; topic: string; client: string | null; reason: string; detail: string; payload: string; bytes: number }>
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      topic: r.topic,
      ...(r.client !== null ? { client: r.client } : {}),
      reason: r.reason,
      detail: JSON.parse(r.detail) as string[],
      payload: r.payload,
      bytes: r.bytes,
    }))
  }

  /** Dead letters counted since the database was created (including trimmed ones seen by this process). */
  count(): number {
    let n = 0
    for (const v of this.#counts.values()) n += v
    return n
  }

  countByReason(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)))
  }
}
