/**
 * When to close a telemetry batch (pure). A cellular uplink pays per message in
 * latency, radio wake-ups and bytes of MQTT/TCP/TLS overhead, so the uplink waits up to
 * `maxDelayMs` for more readings, and sends at once when a batch is full.
 *
 * "Full" is judged without freezing anything: the outbox reports how many readings are
 * pending but not their bytes, so the byte side is an estimate — pending × the average
 * reading size of the batches sent so far. The estimate only decides *when* to send;
 * `nextBatch({maxBytes})` still caps every batch exactly, so a wrong estimate costs at
 * most `maxDelayMs` of latency, never an oversized message.
 *
 * Keep `maxDelayMs` well below the outbox's live window (10 s by default): a reading
 * that waits longer than that to be batched goes out historical.
 */

export interface BatchOptions {
  /** Readings per batch (≤ 1000, the contract's limit). */
  readonly maxReadings: number
  /** Payload bytes per batch (≤ 256 KiB). */
  readonly maxBytes: number
  /** Longest wait for more readings before a partial batch goes. */
  readonly maxDelayMs: number
}

/** What the pump knows when it decides. */
export interface FlushInput {
  /** Readings not yet in a batch (`outbox.stats().pending`). */
  readonly pending: number
  /** Frozen batches waiting to be sent again (not in flight). */
  readonly redeliveries: number
  /** When the pump first saw readings pending since the last time the queue was empty. */
  readonly pendingSince: number | undefined
  readonly now: number
  /** Estimated bytes per reading on the wire. */
  readonly bytesPerReading: number
}

export type FlushDecision =
  /** Nothing to send: forget `pendingSince`. */
  | { readonly kind: 'idle' }
  /** Readings are pending but the batch is not full yet: look again in `waitMs`. */
  | { readonly kind: 'wait'; readonly pendingSince: number; readonly waitMs: number }
  /** Take a batch now. */
  | { readonly kind: 'send'; readonly pendingSince: number | undefined; readonly reason: 'redelivery' | 'readings' | 'bytes' | 'delay' }

/** Decides whether to take the next batch now. */
export function flushDecision(input: FlushInput, batch: BatchOptions): FlushDecision {
  // A batch already frozen (nacked, or left from a lost connection or an earlier process)
  // goes first and at once: its readings have waited long enough.
  if (input.redeliveries > 0) return { kind: 'send', pendingSince: input.pendingSince, reason: 'redelivery' }
  if (input.pending <= 0) return { kind: 'idle' }
  const since = input.pendingSince ?? input.now
  if (input.pending >= batch.maxReadings) return { kind: 'send', pendingSince: since, reason: 'readings' }
  if (input.pending * input.bytesPerReading >= batch.maxBytes) return { kind: 'send', pendingSince: since, reason: 'bytes' }
  const waited = input.now - since
  if (waited >= batch.maxDelayMs) return { kind: 'send', pendingSince: since, reason: 'delay' }
  return { kind: 'wait', pendingSince: since, waitMs: batch.maxDelayMs - waited }
}

/** First guess of a reading's size on the wire: a handful of points with names and numbers. */
export const INITIAL_BYTES_PER_READING = 200

/** Moves the per-reading size estimate towards what a batch just measured (EWMA, weight 0.2). */
export function learnBytesPerReading(estimate: number, payloadBytes: number, readings: number): number {
  if (readings <= 0) return estimate
  return estimate * 0.8 + (payloadBytes / readings) * 0.2
}
