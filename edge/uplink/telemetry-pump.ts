/**
 * The drain of the outbox over one connection: takes batches while fewer than
 * `maxInFlight` are unacknowledged and `flushDecision` says a batch is due, publishes
 * them, and records each PUBACK in the outbox (`ack`) — only a PUBACK, never a write to
 * the socket. One pump per connection: the uplink stops it when the connection drops
 * and nacks everything that was in flight (the outbox redelivers it, same seq and bytes).
 *
 * It looks at the outbox on `kick()` (readings were appended), on every PUBACK, when a
 * partial batch's `maxDelayMs` is up, and every `pollMs` in case nobody kicked.
 */
import type { Outbox, OutboxBatch } from '../outbox/index.ts'
import { flushDecision, learnBytesPerReading, type BatchOptions } from './batching.ts'

/** What the uplink uses of the outbox. */
export type UplinkOutbox = Pick<Outbox, 'nextBatch' | 'ack' | 'nack' | 'nackAll' | 'setUplink' | 'stats'>

export interface TelemetryPumpOptions {
  readonly outbox: UplinkOutbox
  readonly batch: BatchOptions
  readonly maxInFlight: number
  readonly pollMs: number
  readonly now: () => number
  /** Publishes one batch at QoS 1; `done` on its PUBACK (no error) or failure. */
  readonly publish: (batch: OutboxBatch, done: (err?: Error) => void) => void
  /** Bytes per reading on the wire, learned across connections. */
  readonly estimate: { bytesPerReading: number }
  readonly onAcked: (seq: number) => void
  readonly onError: (message: string) => void
}

export class TelemetryPump {
  readonly #o: TelemetryPumpOptions
  readonly #inFlight = new Set<number>()
  #pendingSince: number | undefined
  #timer: NodeJS.Timeout | undefined
  #poll: NodeJS.Timeout | undefined
  #kicked = false
  #stopped = false

  constructor(options: TelemetryPumpOptions) {
    this.#o = options
  }

  start(): void {
    this.#poll = setInterval(() => this.#pump(), this.#o.pollMs)
    this.#pump()
  }

  /** The connection is gone: take nothing more. PUBACKs that still arrive are recorded. */
  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#poll !== undefined) clearInterval(this.#poll)
    this.#timer = this.#poll = undefined
    this.#inFlight.clear()
  }

  /** Readings were appended: look now (coalesced to one look per turn of the event loop). */
  kick(): void {
    if (this.#kicked || this.#stopped) return
    this.#kicked = true
    setImmediate(() => {
      this.#kicked = false
      this.#pump()
    })
  }

  /** Batches published and not yet acknowledged. */
  get inFlight(): number {
    return this.#inFlight.size
  }

  #pump(): void {
    if (this.#stopped) return
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    const { outbox, batch, estimate } = this.#o
    try {
      while (this.#inFlight.size < this.#o.maxInFlight) {
        const s = outbox.stats()
        const d = flushDecision(
          { pending: s.pending, redeliveries: s.batches - s.inFlight, pendingSince: this.#pendingSince, now: this.#o.now(), bytesPerReading: estimate.bytesPerReading },
          batch,
        )
        if (d.kind === 'idle') {
          this.#pendingSince = undefined
          return
        }
        this.#pendingSince = d.pendingSince
        if (d.kind === 'wait') {
          this.#timer = setTimeout(() => this.#pump(), d.waitMs)
          return
        }
        const b = outbox.nextBatch({ maxReadings: batch.maxReadings, maxBytes: batch.maxBytes })
        if (b === undefined) {
          this.#pendingSince = undefined
          return
        }
        if (!b.redelivery) estimate.bytesPerReading = learnBytesPerReading(estimate.bytesPerReading, b.payload.byteLength, b.readings)
        this.#send(b)
      }
    } catch (e) {
      // A failing outbox (disk full, I/O) must not kill the uplink: look again later.
      this.#o.onError(`outbox: ${e instanceof Error ? e.message : String(e)}`)
      this.#timer = setTimeout(() => this.#pump(), 1_000)
    }
  }

  #send(b: OutboxBatch): void {
    this.#inFlight.add(b.seq)
    this.#o.publish(b, (err) => {
      // A PUBACK is the broker's word even after the pump stopped: record it.
      if (err === undefined) this.#ack(b.seq)
      if (this.#stopped) return
      this.#inFlight.delete(b.seq)
      if (err !== undefined) {
        this.#o.outbox.nack(b.seq)
        this.#o.onError(`telemetry batch ${b.seq} failed: ${err.message}`)
        return
      }
      this.#pump()
    })
  }

  #ack(seq: number): void {
    try {
      if (this.#o.outbox.ack(seq)) this.#o.onAcked(seq)
    } catch (e) {
      // Not recorded: the batch goes again after the next reconnect (same seq; the cloud dedupes).
      this.#o.onError(`outbox: acknowledging batch ${seq}: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
}
