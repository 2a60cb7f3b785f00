/**
 * The ingest pipeline: one MQTT message in, durably handled out.
 *
 *   decode (shared contract) ─┬─ invalid / unknown topic ──────────────→ dead letter
 *                             ├─ birth / state / events ────────────────→ registry
 *                             └─ telemetry ─ unknown gateway (after a short wait for its birth) → dead letter
 *                                          ─ (gateway, seq) seen before ───────────────────────→ counted, done
 *                                          ─ readings of unknown devices / from the far future → dead letter
 *                                          ─ the rest → group commit → telemetry store → seq remembered
 *
 * `handle()` resolves only once everything the message carried is durable (stored, or
 * dead-lettered, or applied to the registry) and rejects when it is not, so the broker
 * acknowledges a QoS 1 message exactly when it may (PUBACK after the store's commit)
 * and a failed write is redelivered by the gateway.
 *
 * Batching is group commit: while writes are in flight (at most `concurrentWrites`), the
 * messages that arrive join the next one (up to `batchReadings`); an idle pipeline writes at once. Batches grow with
 * load and latency stays at one write when the load is low. Backpressure: once
 * `maxPendingReadings` wait, `handle()` waits before queueing, which holds the PUBACK,
 * which makes the broker stop reading from that gateway — nothing is dropped.
 */
import { decode, type Birth, type DeviceEvent, type State, type TelemetryBatch } from '../../shared/mqtt/index.ts'
import { topics, type ParsedTopic } from '../../shared/mqtt/topics.ts'
import type { StoredReading, TelemetryStore } from '../model.ts'
import type { Registry, RegistryChange } from '../registry/registry.ts'
import type { StateDb } from '../state/db.ts'
import type { DeadLetters } from './dead-letters.ts'

export interface IngestOptions {
  store: TelemetryStore
  registry: Registry
  deadLetters: DeadLetters
  /** The state database, for the (gateway, seq) dedupe window. */
  db: StateDb
  /** Most readings in one store write (default 5,000, InfluxDB's sweet spot). */
  batchReadings?: number
  /**
   * Store writes in flight at once (default 2): while one batch is on its way to InfluxDB the
   * next is being built, and influxd spreads concurrent writes over its cores.
   */
  concurrentWrites?: number
  /** Readings that may wait for a write before `handle()` itself waits (default 50,000). */
  maxPendingReadings?: number
  /** How long telemetry of a gateway without a birth waits for one (default 2,000 ms). */
  birthGraceMs?: number
  /** Sample times further than this ahead of the cloud's clock are refused (default 10 min). */
  maxFutureMs?: number
  /** How long (gateway, seq) pairs are remembered for dedupe (default 7 days). */
  dedupeWindowMs?: number
  now?: () => number
  /** Registry changes (births, states, availability), for logs and alarms. */
  onChange?: (change: RegistryChange) => void
  /**
   * Readings that are now durable (the alarm engine evaluates them), called once per store
   * write, in the order the writes were started even when they finish out of order, after
   * the messages' `handle()` promises resolve. It must not throw (the service wraps it
   * and logs); a throw that escapes is swallowed here, so it never fails a write. Readings refused for good by the store (a 400 partial write) are included.
   */
  onStored?: (readings: readonly StoredReading[]) => void
}

export interface IngestMeta {
  /** The MQTT client id of the sender, when known. */
  client?: string
}

/** Counters for /metrics and tests. */
export interface IngestStats {
  messages: Record<string, number>
  readingsStored: number
  duplicates: number
  deadLetters: number
  writes: number
  writeErrors: number
  pendingReadings: number
  /** Histogram of store write latency, ms: upper bounds → cumulative count. */
  writeLatencyMs: { buckets: Array<[number, number]>; sum: number; count: number }
}

interface Pending {
  readings: StoredReading[]
  gateway: string
  seq: number
  resolve: () => void
  reject: (e: Error) => void
}

/**
 * A store error that redelivery cannot fix: an HTTP 400 from InfluxDB (a partial write:
 * the good lines are stored, the named ones refused). Auth, availability and 5xx errors
 * are not: the message stays unacknowledged and is retried.
 */
function permanentRefusal(e: unknown): { message: string; refused: readonly string[]; dropped?: number } | undefined {
  const x = e as { status?: unknown; retryable?: unknown; refused?: unknown; dropped?: unknown; message?: unknown } | null
  if (x === null || typeof x !== 'object' || x.status !== 400 || x.retryable !== false) return undefined
  return {
    message: String(x.message),
    refused: Array.isArray(x.refused) ? (x.refused as string[]) : [],
    ...(typeof x.dropped === 'number' ? { dropped: x.dropped } : {}),
  }
}

const LATENCY_BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]

export class Ingest {
  readonly #o: Required<Omit<IngestOptions, 'onChange' | 'onStored'>> & Pick<IngestOptions, 'onChange' | 'onStored'>
  /** Writes started and not yet announced to `onStored`, in start order: readings once durable, null while writing or failed-unannounced. */
  readonly #announce: Array<{ readings: readonly StoredReading[] | null; done: boolean }> = []
  readonly #queue: Pending[] = []
  readonly #inflight = new Map<string, Promise<void>>()
  readonly #drainWaiters: Array<() => void> = []
  readonly #seen
  readonly #remember
  readonly #forget
  #pending = 0
  readonly #writing = new Set<Promise<void>>()
  #scheduled = false
  #closed = false
  readonly #stats = {
    messages: {} as Record<string, number>,
    readingsStored: 0,
    duplicates: 0,
    writes: 0,
    writeErrors: 0,
    latency: new Array<number>(LATENCY_BOUNDS.length + 1).fill(0),
    latencySum: 0,
  }

  constructor(o: IngestOptions) {
    this.#o = {
      batchReadings: 5000,
      concurrentWrites: 2,
      maxPendingReadings: 50_000,
      birthGraceMs: 2000,
      maxFutureMs: 10 * 60_000,
      dedupeWindowMs: 7 * 86_400_000,
      now: Date.now,
      ...o,
    }
    this.#seen = o.db.prepare('SELECT 1 FROM seen_batches WHERE gateway = ? AND seq = ?').pluck()
    this.#remember = o.db.prepare('INSERT OR IGNORE INTO seen_batches (gateway, seq, at) VALUES (?, ?, ?)')
    this.#forget = o.db.prepare('DELETE FROM seen_batches WHERE at < ?')
  }

  /** Handles one message; see the file comment for when it resolves. Never throws for bad input. */
  async handle(topic: string, payload: Uint8Array | string, meta: IngestMeta = {}): Promise<void> {
    const r = decode(topic, payload)
    if (!r.ok) {
      this.#count('invalid')
      this.#dead(topic, payload, meta, r.topic === undefined ? 'topic' : 'invalid', r.violations.map((v) => `${v.path || '(payload)'}: ${v.reason}`))
      return
    }
    this.#count(r.kind)
    switch (r.kind) {
      case 'telemetry':
        return this.#telemetry(r.topic, r.message, topic, payload, meta)
      case 'birth':
        return this.#birth(r.message)
      case 'state':
        return this.#state(r.topic, r.message)
      case 'events':
        return this.#event(r.topic, r.message, topic, payload, meta)
      default:
        // command/response: correlated by the command service (later); command: the cloud's own.
        return
    }
  }

  #birth(b: Birth): void {
    const change = this.#o.registry.applyBirth(b)
    this.#o.onChange?.(change)
  }

  #state(t: ParsedTopic, s: State): void {
    const change = this.#o.registry.applyState(t.site, t.gateway, s, this.#o.now())
    this.#o.onChange?.(change)
  }

  #event(t: ParsedTopic, e: DeviceEvent, topic: string, payload: Uint8Array | string, meta: IngestMeta): void {
    const change = this.#o.registry.applyEvent(t.gateway, e)
    if (change === undefined) {
      this.#dead(topic, payload, meta, 'unknown_device', [`/device: no device ${JSON.stringify(e.device)} in the birth of gateway ${t.gateway}`])
      return
    }
    this.#o.onChange?.(change)
  }

  async #telemetry(t: ParsedTopic, batch: TelemetryBatch, topic: string, payload: Uint8Array | string, meta: IngestMeta): Promise<void> {
    const { registry } = this.#o
    if (!registry.knowsGateway(t.gateway) && !(await registry.waitForBirth(t.gateway, this.#o.birthGraceMs))) {
      this.#dead(topic, payload, meta, 'unknown_gateway', [`/gateway: no birth from gateway ${t.gateway} on site ${t.site}; a gateway must publish its birth before telemetry`])
      return
    }
    const key = `${t.gateway}\u0000${batch.seq}`
    const running = this.#inflight.get(key)
    if (running !== undefined || this.#seen.get(t.gateway, batch.seq) !== undefined) {
      this.#stats.duplicates++
      return running
    }
    const now = this.#o.now()
    const stored: StoredReading[] = []
    const unknown: string[] = []
    const future: string[] = []
    const latest = now + this.#o.maxFutureMs
    const { site, gateway } = t
    const seq = batch.seq
    const readings = batch.readings
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i] as TelemetryBatch['readings'][number]
      const d = registry.lookup(gateway, r.device)
      if (d === undefined) unknown.push(`/readings/${i}/device: no device ${JSON.stringify(r.device)} in the birth of gateway ${gateway}`)
      else if (r.ts > latest) future.push(`/readings/${i}/ts: ${new Date(r.ts).toISOString()} is ${Math.round((r.ts - now) / 1000)} s ahead of the cloud's clock (at most ${this.#o.maxFutureMs / 1000} s)`)
      else stored.push({ site, gateway, device: r.device, kind: d.kind, ts: r.ts, values: r.values, errors: r.errors, historical: r.historical, seq })
    }
    if (unknown.length > 0) this.#dead(topic, payload, meta, 'unknown_device', unknown)
    if (future.length > 0) this.#dead(topic, payload, meta, 'future_timestamp', future)
    if (stored.length === 0) {
      this.#remember.run(t.gateway, batch.seq, now)
      return
    }
    while (this.#pending >= this.#o.maxPendingReadings && !this.#closed) await new Promise<void>((resolve) => this.#drainWaiters.push(resolve))
    const done = new Promise<void>((resolve, reject) => {
      this.#queue.push({ readings: stored, gateway: t.gateway, seq: batch.seq, resolve, reject })
    })
    this.#pending += stored.length
    this.#inflight.set(key, done)
    this.#schedule()
    try {
      await done
    } finally {
      this.#inflight.delete(key)
    }
    // Backlog readings count too when they are the newest known: a device first read while
    // the uplink was still connecting has only historical readings. (Alarms ignore them.)
    for (const r of stored) registry.noteReading(r.gateway, r.device, r.ts, r.values)
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing.size >= this.#o.concurrentWrites || this.#queue.length === 0) return
    this.#scheduled = true
    // setImmediate: let the messages of the same socket read join this write.
    setImmediate(() => {
      this.#scheduled = false
      const w: Promise<void> = this.#flush().finally(() => {
        this.#writing.delete(w)
        this.#schedule()
      })
      this.#writing.add(w)
      this.#schedule()
    })
  }

  async #flush(): Promise<void> {
    const batch: Pending[] = []
    let n = 0
    while (this.#queue.length > 0 && (n === 0 || n + (this.#queue[0]?.readings.length ?? 0) <= this.#o.batchReadings)) {
      const p = this.#queue.shift() as Pending
      batch.push(p)
      n += p.readings.length
    }
    const readings = batch.length === 1 ? (batch[0] as Pending).readings : batch.flatMap((p) => p.readings)
    const slot: { readings: readonly StoredReading[] | null; done: boolean } = { readings: null, done: false }
    if (this.#o.onStored !== undefined) this.#announce.push(slot)
    const started = performance.now()
    try {
      await this.#o.store.write(readings)
      const at = this.#o.now()
      this.#o.db.transaction(() => {
        for (const p of batch) this.#remember.run(p.gateway, p.seq, at)
      })()
      this.#observe(performance.now() - started)
      this.#stats.writes++
      this.#stats.readingsStored += n
      for (const p of batch) p.resolve()
      slot.readings = readings
    } catch (e) {
      const refusal = permanentRefusal(e)
      if (refusal !== undefined) {
        // The store took what it could and refuses the rest for good (InfluxDB's 400 partial
        // write): redelivery would be refused again, forever. Acknowledge, and keep the refused
        // lines as a dead letter for an engineer.
        this.#stats.writes++
        this.#stats.readingsStored += n - (refusal.dropped ?? refusal.refused.length)
        const first = batch[0] as Pending
        this.#o.deadLetters.add({
          // A queued message always carries at least one reading (empty ones are never queued).
          topic: topics.telemetry((first.readings[0] as StoredReading).site, first.gateway),
          reason: 'store_refused',
          detail: [`${this.#o.store.name}: ${refusal.message}`, ...refusal.refused.slice(0, 20).map((l) => `refused: ${l}`)],
          payload: refusal.refused.join('\n'),
        })
        const at = this.#o.now()
        this.#o.db.transaction(() => {
          for (const p of batch) this.#remember.run(p.gateway, p.seq, at)
        })()
        for (const p of batch) p.resolve()
        slot.readings = readings
      } else {
        this.#stats.writeErrors++
        const err = e instanceof Error ? e : new Error(String(e))
        for (const p of batch) p.reject(err)
      }
    } finally {
      slot.done = true
      this.#announceStored()
      this.#pending -= n
      while (this.#pending < this.#o.maxPendingReadings && this.#drainWaiters.length > 0) this.#drainWaiters.shift()?.()
    }
  }

  /** Hands finished writes to `onStored` in the order they started. */
  #announceStored(): void {
    const on = this.#o.onStored
    if (on === undefined) return
    while (this.#announce.length > 0 && (this.#announce[0] as { done: boolean }).done) {
      const { readings } = this.#announce.shift() as { readings: readonly StoredReading[] | null }
      if (readings === null) continue
      try {
        on(readings)
      } catch {
        // Documented: the hook must not throw; the store write stands regardless.
      }
    }
  }

  #observe(ms: number): void {
    this.#stats.latencySum += ms
    const i = LATENCY_BOUNDS.findIndex((b) => ms <= b)
    this.#stats.latency[i === -1 ? LATENCY_BOUNDS.length : i]! += 1
  }

  #count(kind: string): void {
    this.#stats.messages[kind] = (this.#stats.messages[kind] ?? 0) + 1
  }

  #dead(topic: string, payload: Uint8Array | string, meta: IngestMeta, reason: string, detail: string[]): void {
    this.#o.deadLetters.add({ topic, reason, detail, payload, ...(meta.client !== undefined ? { client: meta.client } : {}) })
  }

  /** Forgets (gateway, seq) pairs older than the dedupe window; returns how many. */
  pruneDedupe(): number {
    return this.#forget.run(this.#o.now() - this.#o.dedupeWindowMs).changes
  }

  stats(): IngestStats {
    let cumulative = 0
    const buckets: Array<[number, number]> = LATENCY_BOUNDS.map((b, i) => [b, (cumulative += this.#stats.latency[i] ?? 0)])
    buckets.push([Infinity, cumulative + (this.#stats.latency[LATENCY_BOUNDS.length] ?? 0)])
    return {
      messages: { ...this.#stats.messages },
      readingsStored: this.#stats.readingsStored,
      duplicates: this.#stats.duplicates,
      deadLetters: this.#o.deadLetters.count(),
      writes: this.#stats.writes,
      writeErrors: this.#stats.writeErrors,
      pendingReadings: this.#pending,
      writeLatencyMs: { buckets, sum: this.#stats.latencySum, count: this.#stats.writes },
    }
  }

  /** Waits for queued readings to be written; new messages after this are still accepted. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#writing.size > 0 || this.#scheduled) {
      await (this.#writing.size > 0 ? Promise.all(this.#writing) : new Promise((r) => setImmediate(r)))
    }
  }

  /** Drains, then refuses to wait for capacity (waiters are released). */
  async close(): Promise<void> {
    await this.drain()
    this.#closed = true
    for (const w of this.#drainWaiters.splice(0)) w()
  }
}
