/**
 * Which queued readings go into the next batch: the pure core of `Outbox.nextBatch`.
 *
 * Two lanes, each oldest first (append order): **live** readings (appended during the
 * current uplink session and still fresh) and the **backlog** (everything else, sent
 * `historical: true`). After an outage the backlog drains while live readings keep
 * flowing: picks alternate by a weighted round-robin that gives the live lane
 * `liveShare` of each batch. The split is work-conserving: when one lane runs dry the
 * other takes the rest, so a quiet live lane never slows the drain and an empty
 * backlog never delays live readings.
 */

/** A queued reading as the composer sees it. */
export interface Candidate {
  /** Append order; also the order inside the batch. */
  id: number
  device: string
  ts: number
  /** UTF-8 bytes of the reading's JSON as it will be sent (historical flag included). */
  bytes: number
}

/** Limits of one batch. */
export interface ComposeLimits {
  /** At most this many readings (at least 1). */
  maxReadings: number
  /**
   * At most this many payload bytes, counting `envelopeBytes`. Soft for the first
   * reading: a batch always carries at least one, so one large reading cannot wedge the
   * queue (`append` has already checked that every reading fits the contract's limit alone).
   */
  maxBytes: number
  /** Bytes of the batch JSON with an empty `readings` array. */
  envelopeBytes: number
  /** Share of the batch reserved for the live lane, 0…1. */
  liveShare: number
}

/** The readings to freeze, split by lane, each in append order. */
export interface Composition<C extends Candidate> {
  live: C[]
  backlog: C[]
}

/**
 * Picks the next batch from the heads of both lanes (each given oldest first).
 * Stops at `maxReadings`, at `maxBytes`, or before a second reading with the same
 * (device, ts), which the contract forbids in one batch; that reading leads the next.
 */
export function compose<C extends Candidate>(live: readonly C[], backlog: readonly C[], limits: ComposeLimits): Composition<C> {
  const out: Composition<C> = { live: [], backlog: [] }
  const seen = new Set<string>()
  const max = Math.max(1, Math.floor(limits.maxReadings))
  let bytes = limits.envelopeBytes
  let li = 0
  let bi = 0
  for (let taken = 0; taken < max; taken++) {
    const liveLeft = li < live.length
    const backlogLeft = bi < backlog.length
    if (!liveLeft && !backlogLeft) break
    // Weighted round-robin: live when its share so far is below liveShare of the batch
    // including this pick. With 0.5: live, backlog, live, backlog, …
    const takeLive = liveLeft && (!backlogLeft || out.live.length < limits.liveShare * (taken + 1))
    const c = takeLive ? live[li] : backlog[bi]
    if (c === undefined) break
    const add = c.bytes + (taken > 0 ? 1 : 0) // the comma
    if (taken > 0 && bytes + add > limits.maxBytes) break
    const key = `${c.device}\u0000${c.ts}`
    if (seen.has(key)) break
    seen.add(key)
    bytes += add
    if (takeLive) {
      out.live.push(c)
      li++
    } else {
      out.backlog.push(c)
      bi++
    }
  }
  return out
}
