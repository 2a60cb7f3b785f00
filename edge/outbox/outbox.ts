/**
 * The durable outbox (store-and-forward) between the poller and the MQTT uplink.
 *
 * Lifecycle of a reading:
 *   append()     → a pending row, committed and fsynced before append returns;
 *   nextBatch()  → frozen into a batch: seq assigned and the exact payload bytes stored
 *                  in the same transaction, then handed to the caller to publish;
 *   ack(seq)     → deleted, once the broker's PUBACK arrived.
 * A frozen batch that is not acknowledged (nack, reconnect, restart, kill -9) comes out
 * of nextBatch again with the same seq and the same bytes (docs/wire-contract.md,
 * "Sequence numbers and dedupe").
 *
 * Policies (also in edge/outbox/README.md):
 * - historical: a reading goes out live (`historical: false`) only when it is frozen in
 *   the same uplink session it was appended in (see `setUplink`), within `liveWindowMs`
 *   of being appended, and was not appended already historical. Everything else is
 *   backlog: `historical: true`.
 * - interleave: the backlog drains oldest first while live readings keep flowing; each
 *   new batch reserves `liveShare` of its readings for the live lane (compose.ts).
 * - bounds: at most `maxReadings` stored readings, none older than `maxAgeMs`; beyond
 *   that the oldest are dropped and counted (`dropped`, persisted). A frozen batch is
 *   dropped whole (its bytes are fixed), and a batch in flight (handed out in this
 *   process and neither acked nor nacked) is never dropped: the bounds are exceeded by
 *   at most the in-flight readings.
 */
import type Database from 'better-sqlite3'
import { LIMITS, preparePublish, isValidId, type Reading, type TelemetryBatch } from '../../shared/mqtt/index.ts'
import { admit, textBytes, wireReading } from './admit.ts'
import { compose, type Candidate } from './compose.ts'
import { openDatabase } from './database.ts'
import { fromSqlite, OutboxError } from './errors.ts'
import { NO_LIVE, prepare, type BatchRow, type PendingRow, type Statements } from './statements.ts'

/** Defaults of the optional settings. */
export const OUTBOX_DEFAULTS = Object.freeze({
  /** A reading waiting longer than this before it is batched goes out historical. */
  liveWindowMs: 10_000,
  /** Share of each batch reserved for live readings while a backlog drains. */
  liveShare: 0.5,
  /** How long `open()` waits for another process's lock before `OUTBOX_LOCKED`. */
  lockTimeoutMs: 2_000,
})

/** Settings of an outbox. */
export interface OutboxOptions {
  /** The SQLite file (created if missing; its folder must exist). */
  path: string
  /** Site and gateway ids of the telemetry topic (`muni/v1/{site}/{gateway}/telemetry`). */
  site: string
  gateway: string
  /** Bound on stored readings (pending + in unacknowledged batches); the oldest beyond it are dropped and counted. */
  maxReadings: number
  /** Bound on a reading's time in the outbox (by the outbox clock); older ones are dropped and counted. */
  maxAgeMs: number
  /** See `OUTBOX_DEFAULTS.liveWindowMs`. */
  liveWindowMs?: number
  /** See `OUTBOX_DEFAULTS.liveShare`; 0…1. */
  liveShare?: number
  /** See `OUTBOX_DEFAULTS.lockTimeoutMs`. */
  lockTimeoutMs?: number
  /**
   * The outbox clock, ms since the epoch (default `Date.now`): `sentAt`, the first seq of
   * a new file, ages and the live window. Kept non-decreasing for ages: a clock that steps
   * back never makes a newer reading look older than an earlier one.
   */
  now?: () => number
}

/** Limits of one batch, below the contract's own (`LIMITS`). */
export interface NextBatchOptions {
  /** Readings per batch; default and ceiling `LIMITS.readingsPerBatch`. */
  maxReadings?: number
  /** Payload bytes; default and ceiling `LIMITS.payloadBytes`. A single reading larger than this still goes, alone. */
  maxBytes?: number
}

/** A batch to publish: `client.publish(topic, payload, { qos })`, then `ack(seq)` on PUBACK. */
export interface OutboxBatch {
  seq: number
  topic: string
  /** The frozen bytes; identical on every delivery of this seq. */
  payload: Uint8Array
  qos: 1
  retain: boolean
  /** Readings in it, and how many of them are live (`historical: false`). */
  readings: number
  live: number
  /** True when these bytes were handed out before (nack, or an earlier process). */
  redelivery: boolean
}

/** What is in the outbox. */
export interface OutboxStats {
  /** Stored readings: pending plus those in unacknowledged batches. */
  readings: number
  /** Readings not yet in a batch. */
  pending: number
  /** Frozen, unacknowledged batches (in flight or waiting for redelivery). */
  batches: number
  /** Batches handed out by this process and neither acked nor nacked. */
  inFlight: number
  /** Age of the oldest stored reading (outbox clock), or undefined when empty. */
  oldestAgeMs: number | undefined
  /** Readings dropped by the bounds, ever (persisted). */
  dropped: number
  /** Frozen batches dropped whole by the bounds, ever (persisted); each is a permanent seq gap. */
  droppedBatches: number
  /** The last seq assigned, or undefined before the first batch of a new file. */
  lastSeq: number | undefined
  /** The uplink state last reported with `setUplink`. */
  uplink: boolean
}

interface Counters {
  pending: number
  frozen: number
  batches: number
  dropped: number
  droppedBatches: number
  lastSeq: number | undefined
}

/** The durable outbox. See the module comment for the policies. */
export class Outbox {
  readonly #path: string
  readonly #site: string
  readonly #gateway: string
  readonly #maxReadings: number
  readonly #maxAgeMs: number
  readonly #liveWindowMs: number
  readonly #liveShare: number
  readonly #lockTimeoutMs: number
  readonly #now: () => number

  #db: Database.Database | undefined
  #s: Statements | undefined
  #counters: Counters = { pending: 0, frozen: 0, batches: 0, dropped: 0, droppedBatches: 0, lastSeq: undefined }
  readonly #inFlight = new Set<number>()
  #uplink = false
  #liveFromId = NO_LIVE
  #clockFloor = 0

  /** Checks and keeps the options; touches no file (call `open()`). */
  constructor(options: OutboxOptions) {
    const bad = (what: string): never => {
      throw new OutboxError('OUTBOX_OPTIONS', what)
    }
    if (!isValidId(options.site)) bad(`site ${JSON.stringify(options.site)} is not a valid id`)
    if (!isValidId(options.gateway)) bad(`gateway ${JSON.stringify(options.gateway)} is not a valid id`)
    if (!Number.isSafeInteger(options.maxReadings) || options.maxReadings < 1) bad(`maxReadings must be a positive integer, got ${options.maxReadings}`)
    if (!(options.maxAgeMs > 0)) bad(`maxAgeMs must be > 0, got ${options.maxAgeMs}`)
    const liveWindowMs = options.liveWindowMs ?? OUTBOX_DEFAULTS.liveWindowMs
    if (!(liveWindowMs >= 0)) bad(`liveWindowMs must be >= 0, got ${liveWindowMs}`)
    const liveShare = options.liveShare ?? OUTBOX_DEFAULTS.liveShare
    if (!(liveShare >= 0 && liveShare <= 1)) bad(`liveShare must be within 0…1, got ${liveShare}`)
    this.#path = options.path
    this.#site = options.site
    this.#gateway = options.gateway
    this.#maxReadings = options.maxReadings
    this.#maxAgeMs = options.maxAgeMs
    this.#liveWindowMs = liveWindowMs
    this.#liveShare = liveShare
    this.#lockTimeoutMs = options.lockTimeoutMs ?? OUTBOX_DEFAULTS.lockTimeoutMs
    this.#now = options.now ?? Date.now
  }

  /** The file this outbox lives in. */
  get path(): string {
    return this.#path
  }

  /**
   * Opens the file (creating and migrating it), takes its exclusive lock and loads the
   * counters. Every frozen batch is waiting for redelivery; the uplink is down until
   * `setUplink(true)`.
   * @throws OutboxError `OUTBOX_LOCKED`, `OUTBOX_CORRUPT`, `OUTBOX_SCHEMA`, `OUTBOX_CANTOPEN`, `OUTBOX_IO`, `OUTBOX_STATE` (already open).
   */
  open(): void {
    if (this.#db !== undefined) throw new OutboxError('OUTBOX_STATE', `${this.#path} is already open`)
    const db = openDatabase(this.#path, { lockTimeoutMs: this.#lockTimeoutMs })
    try {
      const s = prepare(db)
      const meta = new Map(s.meta.all().map((r) => [r.key, r.value]))
      const frozen = s.frozenTotals.get() ?? { batches: 0, readings: 0 }
      this.#counters = {
        pending: s.pendingCount.get() ?? 0,
        frozen: frozen.readings ?? 0,
        batches: frozen.batches,
        dropped: meta.get('dropped') ?? 0,
        droppedBatches: meta.get('dropped_batches') ?? 0,
        lastSeq: meta.get('last_seq'),
      }
      this.#clockFloor = s.newestAppendedAt.get() ?? 0
      this.#db = db
      this.#s = s
    } catch (e) {
      db.close()
      throw fromSqlite(e, this.#path, 'loading')
    }
    this.#inFlight.clear()
    this.#uplink = false
    this.#liveFromId = NO_LIVE
  }

  /** Closes the file and releases its lock. Frozen batches stay for redelivery. Safe to call twice. */
  close(): void {
    const db = this.#db
    this.#db = undefined
    this.#s = undefined
    this.#inFlight.clear()
    db?.close()
  }

  /**
   * Reports the uplink state: `true` on CONNACK, `false` when the connection is lost.
   * Readings appended while it is down, and readings still queued when it comes back up,
   * go out historical. Does not touch in-flight batches: with MQTT.js and
   * `clean: false` the client resends its own unacknowledged QoS 1 messages on
   * reconnect; `nack` is for a publish that reported an error.
   * A no-op on a closed outbox (an MQTT event may arrive during shutdown; `open()`
   * starts with the uplink down anyway).
   */
  setUplink(up: boolean): void {
    const s = this.#s
    if (s === undefined || up === this.#uplink) return
    this.#uplink = up
    // Live from the next id to be assigned: everything queued so far is backlog.
    this.#liveFromId = up ? this.#run('setUplink', () => (s.lastId.get() ?? 0) + 1) : NO_LIVE
  }

  /**
   * Stores readings durably, in one transaction, and returns only after the commit
   * (fsynced: `synchronous = FULL`). All or nothing: an invalid reading rejects the call.
   * May drop the oldest stored readings to keep the bounds (counted in `dropped`).
   * @throws OutboxError `OUTBOX_INVALID_READING` (with `violations`, paths prefixed by
   *   the reading's index), `OUTBOX_DISK_FULL`, `OUTBOX_IO`, `OUTBOX_STATE`.
   */
  append(readings: readonly Reading[]): void {
    const s = this.#statements()
    if (readings.length === 0) return
    const rows = readings.map((r, i) => admit(r, i, this.#site, this.#gateway))
    this.#run('append', () => {
      const counters = { ...this.#counters }
      s.db.transaction(() => {
        const appendedAt = this.#clock()
        for (const r of rows) s.insertReading.run(r.device, r.ts, r.body, r.size, r.historical ? 1 : 0, appendedAt)
        counters.pending += rows.length
        this.#enforceBounds(s, counters, appendedAt)
      }).immediate()
      this.#counters = counters
    })
  }

  /**
   * The next batch to publish, or undefined when there is nothing to send. A frozen
   * batch waiting for redelivery comes first (oldest seq first, same bytes); otherwise a
   * new batch is frozen from the queue: next seq, live and backlog readings interleaved
   * (compose.ts), committed before it is returned. The batch is then in flight until
   * `ack` or `nack`. Applies the age bound first.
   * @throws OutboxError `OUTBOX_DISK_FULL`, `OUTBOX_IO`, `OUTBOX_STATE`.
   */
  nextBatch(options: NextBatchOptions = {}): OutboxBatch | undefined {
    const s = this.#statements()
    const batch = this.#run('nextBatch', () => {
      const counters = { ...this.#counters }
      const out = s.db
        .transaction((): OutboxBatch | undefined => {
          const now = this.#clock()
          this.#enforceBounds(s, counters, now)
          for (const seq of s.frozenSeqs.all()) {
            if (this.#inFlight.has(seq)) continue
            const row = s.batch.get(seq)
            if (row !== undefined) return toBatch(row, true)
          }
          return this.#freeze(s, counters, now, options)
        })
        .immediate()
      this.#counters = counters
      return out
    })
    if (batch !== undefined) this.#inFlight.add(batch.seq)
    return batch
  }

  /**
   * The broker acknowledged `seq` (PUBACK): deletes the batch and its readings. Returns
   * false when no such batch is stored (already acked, or dropped by the bounds), and
   * on a closed outbox: a PUBACK that arrives during shutdown is not recorded, and the
   * batch goes again after the next `open()` (same seq and bytes; the cloud dedupes).
   * @throws OutboxError `OUTBOX_IO`.
   */
  ack(seq: number): boolean {
    const s = this.#s
    if (s === undefined) return false
    const deleted = this.#run('ack', () => s.deleteBatch.get(seq))
    this.#inFlight.delete(seq)
    if (deleted === undefined) return false
    this.#counters = { ...this.#counters, frozen: this.#counters.frozen - deleted.readings, batches: this.#counters.batches - 1 }
    return true
  }

  /**
   * Publishing `seq` failed: it is no longer in flight, and the next `nextBatch` hands
   * it out again (same seq, same bytes). Returns false when it was not in flight (and
   * on a closed outbox, where nothing is in flight).
   */
  nack(seq: number): boolean {
    return this.#inFlight.delete(seq)
  }

  /** Every in-flight batch failed (a client that forgets unacknowledged messages on disconnect). */
  nackAll(): void {
    this.#inFlight.clear()
  }

  /**
   * Applies the count and age bounds now (append and nextBatch also do); returns how
   * many readings it dropped.
   */
  prune(): number {
    const s = this.#statements()
    return this.#run('prune', () => {
      const counters = { ...this.#counters }
      s.db.transaction(() => this.#enforceBounds(s, counters, this.#clock())).immediate()
      const dropped = counters.dropped - this.#counters.dropped
      this.#counters = counters
      return dropped
    })
  }

  /** Depth, age, drops and seq. */
  stats(): OutboxStats {
    const s = this.#statements()
    const c = this.#counters
    const oldest = this.#run('stats', () => {
      const pending = s.oldestPending.get()
      const frozen = s.oldestFrozen.get() ?? undefined
      if (pending === undefined) return frozen
      return frozen === undefined ? pending : Math.min(pending, frozen)
    })
    return {
      readings: c.pending + c.frozen,
      pending: c.pending,
      batches: c.batches,
      inFlight: this.#inFlight.size,
      oldestAgeMs: oldest === undefined ? undefined : Math.max(0, this.#now() - oldest),
      dropped: c.dropped,
      droppedBatches: c.droppedBatches,
      lastSeq: c.lastSeq,
      uplink: this.#uplink,
    }
  }

  #statements(): Statements {
    if (this.#s === undefined) throw new OutboxError('OUTBOX_STATE', `${this.#path} is not open (call open() first)`)
    return this.#s
  }

  #run<T>(operation: string, fn: () => T): T {
    try {
      return fn()
    } catch (e) {
      throw fromSqlite(e, this.#path, operation)
    }
  }

  /** The outbox clock, never below a time already stored, so append order and age order agree. */
  #clock(): number {
    const t = Math.max(Math.floor(this.#now()), this.#clockFloor)
    this.#clockFloor = t
    return t
  }

  /** Freezes a new batch from the queue, or returns undefined when the queue is empty. Inside a transaction. */
  #freeze(s: Statements, counters: Counters, now: number, options: NextBatchOptions): OutboxBatch | undefined {
    const maxReadings = clamp(options.maxReadings, LIMITS.readingsPerBatch)
    const maxBytes = clamp(options.maxBytes, LIMITS.payloadBytes)
    const liveFrom = this.#uplink ? this.#liveFromId : NO_LIVE
    const freshFrom = now - this.#liveWindowMs
    const live = s.liveLane.all(liveFrom, freshFrom, maxReadings).map((r) => candidate(r, false))
    const backlog = s.backlogLane.all(liveFrom, freshFrom, maxReadings).map((r) => candidate(r, true))
    if (live.length === 0 && backlog.length === 0) return undefined

    // docs/wire-contract.md: +1 per batch, persisted; with no persisted value, the current ms.
    const seq = counters.lastSeq === undefined ? now : counters.lastSeq + 1
    const sentAt = Math.min(now, LIMITS.timestampMs)
    const envelopeBytes = textBytes(JSON.stringify({ gateway: this.#gateway, seq, sentAt, readings: [] } satisfies TelemetryBatch))
    const picked = compose(live, backlog, { maxReadings, maxBytes, envelopeBytes, liveShare: this.#liveShare })
    const rows = [...picked.live, ...picked.backlog].sort((a, b) => a.id - b.id)
    const first = rows[0]
    if (first === undefined) return undefined

    const readings = rows.map((c) => {
      const body = JSON.parse(c.row.body) as Pick<Reading, 'values' | 'errors'>
      return wireReading(c.device, c.ts, body.values, body.errors, c.historical)
    })
    // Validates the whole batch once more: what is frozen is exactly what the cloud accepts.
    const out = preparePublish('telemetry', this.#site, this.#gateway, { gateway: this.#gateway, seq, sentAt, readings })
    const oldest = s.appendedAtOf.get(first.id) ?? now
    s.insertBatch.run(seq, out.topic, out.payload, rows.length, picked.live.length, first.id, oldest, now)
    for (const c of rows) s.deleteReading.run(c.id)
    s.setMeta.run('last_seq', seq)
    counters.lastSeq = seq
    counters.pending -= rows.length
    counters.frozen += rows.length
    counters.batches += 1
    return { seq, topic: out.topic, payload: out.payload, qos: out.qos, retain: out.retain, readings: rows.length, live: picked.live.length, redelivery: false }
  }

  /**
   * Drops the oldest readings beyond `maxAgeMs` and `maxReadings`, counting them. Pending
   * readings go one by one; a frozen batch goes whole, when its oldest reading is the
   * oldest thing stored; a batch in flight is never dropped. Inside a transaction.
   */
  #enforceBounds(s: Statements, counters: Counters, now: number): void {
    const before = { dropped: counters.dropped, batches: counters.droppedBatches }
    const tooOld = now - this.#maxAgeMs
    // Age: appended_at never decreases with id, so the expired pending readings are a prefix.
    const firstFresh = s.firstFreshId.get(tooOld)
    const expired = firstFresh === undefined ? s.deleteAllPending.run().changes : s.deletePendingBelow.run(firstFresh, NO_LIVE).changes
    counters.pending -= expired
    counters.dropped += expired
    for (const b of s.droppable.all()) {
      if (b.oldest_appended_at >= tooOld) break
      if (this.#inFlight.has(b.seq)) continue
      this.#dropBatch(s, counters, b)
    }
    // Count: the oldest first, whichever holds it.
    let excess = counters.pending + counters.frozen - this.#maxReadings
    while (excess > 0) {
      const batch = s.droppable.all().find((b) => !this.#inFlight.has(b.seq))
      const oldestPending = s.oldestPendingId.get()
      if (batch !== undefined && (oldestPending === undefined || batch.first_id < oldestPending)) {
        this.#dropBatch(s, counters, batch)
        excess -= batch.readings
      } else if (oldestPending !== undefined) {
        const n = s.deletePendingBelow.run(batch?.first_id ?? NO_LIVE, excess).changes
        counters.pending -= n
        counters.dropped += n
        excess -= n
      } else {
        break // only in-flight batches are left: never dropped
      }
    }
    if (counters.dropped !== before.dropped) s.setMeta.run('dropped', counters.dropped)
    if (counters.droppedBatches !== before.batches) s.setMeta.run('dropped_batches', counters.droppedBatches)
  }

  #dropBatch(s: Statements, counters: Counters, b: { seq: number; readings: number }): void {
    s.deleteBatch.get(b.seq)
    counters.frozen -= b.readings
    counters.batches -= 1
    counters.dropped += b.readings
    counters.droppedBatches += 1
  }
}

function candidate(row: PendingRow, historical: boolean): Candidate & { row: PendingRow; historical: boolean } {
  // `size` was measured with "historical":false; "true" is one byte shorter.
  return { id: row.id, device: row.device, ts: row.ts, bytes: row.size - (historical ? 1 : 0), row, historical }
}

function clamp(value: number | undefined, ceiling: number): number {
  if (value === undefined || !(value > 0)) return ceiling
  return Math.min(Math.floor(value), ceiling)
}

function toBatch(row: BatchRow, redelivery: boolean): OutboxBatch {
  return {
    seq: row.seq,
    topic: row.topic,
    payload: new Uint8Array(row.payload.buffer, row.payload.byteOffset, row.payload.byteLength),
    qos: 1,
    retain: false,
    readings: row.readings,
    live: row.live,
    redelivery,
  }
}
