/**
 * Device events and command responses waiting for their PUBACK, in memory.
 *
 * A message stays here from `add` until the broker acknowledges it. A connection that
 * drops takes every unacknowledged message back to "unsent" (`requeueAll`), and the
 * next connection sends them again, in their original order, after its birth and online
 * state. Bounded: past `capacity` the oldest message is dropped and counted.
 *
 * Why memory and not a durable queue (the outbox is durable for telemetry): events and
 * responses describe the gateway's present, not measurements. After a restart the new
 * birth re-baselines the cloud, the poller reports each device's availability again
 * (an `available` is "the device answers … for the first time since the birth"), and
 * the failures behind an event are also in the durable telemetry, as point errors. A
 * response lost with the process leaves the requester to its timeout, which it needs
 * anyway. What is lost on a restart or power cut is counted nowhere — the trade-off for
 * not writing every event to flash.
 */
import type { Outgoing } from '../../shared/mqtt/index.ts'

/** What is queued: the message, and the kind for logs and counts. */
export interface PendingMessage {
  readonly kind: 'events' | 'command/response'
  readonly message: Outgoing
}

interface Entry extends PendingMessage {
  /** The connection it was last sent on; undefined while unsent. */
  sentOn: number | undefined
}

export class PendingQueue {
  readonly #capacity: number
  #entries: Entry[] = []
  #dropped = 0

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`)
    this.#capacity = capacity
  }

  /** Queues a message; returns the one dropped to make room, if any. */
  add(message: PendingMessage): PendingMessage | undefined {
    this.#entries.push({ ...message, sentOn: undefined })
    if (this.#entries.length <= this.#capacity) return undefined
    this.#dropped++
    return this.#entries.shift()
  }

  /**
   * Marks every message not yet sent on `connection` as sent on it and returns them, oldest
   * first, each with a `settle` to call on its PUBACK and an `unsend` for a failed publish.
   */
  take(connection: number): Array<PendingMessage & { settle(): void; unsend(): void }> {
    const out: Array<PendingMessage & { settle(): void; unsend(): void }> = []
    for (const e of this.#entries) {
      if (e.sentOn === connection) continue
      e.sentOn = connection
      out.push({
        kind: e.kind,
        message: e.message,
        settle: () => void (this.#entries = this.#entries.filter((x) => x !== e)),
        unsend: () => void (e.sentOn = undefined),
      })
    }
    return out
  }

  /** The connection dropped: everything still here is sent again on the next one. */
  requeueAll(): void {
    for (const e of this.#entries) e.sentOn = undefined
  }

  get size(): number {
    return this.#entries.length
  }

  /** Messages dropped for room, ever (this process). */
  get dropped(): number {
    return this.#dropped
  }
}
