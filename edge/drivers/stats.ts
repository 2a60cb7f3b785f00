/**
 * Counters every driver keeps, for /metrics: requests, outcomes by failure kind,
 * exception codes, and answer latencies. Plain numbers, cheap to update; a
 * snapshot is a copy, so a reader never sees a half-updated set.
 */
import type { Failure } from './transport.ts'

/** How many recent latencies are kept for percentiles. */
export const LATENCY_SAMPLES = 512

export type FailureKind = Failure['kind']

/** A copy of a driver's counters at one moment. */
export interface DriverStats {
  /** Requests submitted (reads and writes), including those refused before reaching the wire. */
  readonly requests: number
  /** Requests answered with data (reads) or a matching echo (writes). */
  readonly ok: number
  readonly failures: Readonly<Record<FailureKind, number>>
  /** Exception responses by code (Modbus Application Protocol v1.1b3 §7). */
  readonly exceptionCodes: Readonly<Record<number, number>>
  /**
   * Time from the request's first byte written to its answer complete, for
   * requests that got an answer (data, exception, or a bad one); timeouts and
   * transport failures are not latencies. `recentMs` holds the last
   * {@link LATENCY_SAMPLES}, oldest first.
   */
  readonly latency: { readonly count: number; readonly sumMs: number; readonly maxMs: number; readonly recentMs: readonly number[] }
  /** Requests waiting for the line/connection, and on the wire now. */
  readonly queued: number
  readonly inFlight: number
  /** Driver-specific counters (TCP: connects, lateResponses…; RTU: garbageBytes, staleFrames…). */
  readonly extra: Readonly<Record<string, number>>
}

/** The mutable counters behind {@link DriverStats}. */
export class DriverCounters<Extra extends string = string> {
  requests = 0
  ok = 0
  readonly failures: Record<FailureKind, number> = { exception: 0, timeout: 0, crc: 0, transport: 0 }
  readonly exceptionCodes: Record<number, number> = {}
  readonly extra: Record<Extra, number>
  private latencyCount = 0
  private latencySum = 0
  private latencyMax = 0
  private readonly ring = new Float64Array(LATENCY_SAMPLES)

  constructor(extra: readonly Extra[]) {
    this.extra = Object.fromEntries(extra.map((k) => [k, 0])) as Record<Extra, number>
  }

  /** Counts one finished request; `answeredMs` is its latency when the device answered. */
  record(failure: Failure | undefined, answeredMs: number | undefined): void {
    if (failure === undefined) this.ok++
    else {
      this.failures[failure.kind]++
      if (failure.kind === 'exception') this.exceptionCodes[failure.code] = (this.exceptionCodes[failure.code] ?? 0) + 1
    }
    if (answeredMs !== undefined) {
      this.ring[this.latencyCount % LATENCY_SAMPLES] = answeredMs
      this.latencyCount++
      this.latencySum += answeredMs
      if (answeredMs > this.latencyMax) this.latencyMax = answeredMs
    }
  }

  snapshot(queued: number, inFlight: number): DriverStats {
    const n = Math.min(this.latencyCount, LATENCY_SAMPLES)
    const first = this.latencyCount - n
    const recentMs = Array.from({ length: n }, (_, i) => this.ring[(first + i) % LATENCY_SAMPLES] ?? 0)
    return {
      requests: this.requests,
      ok: this.ok,
      failures: { ...this.failures },
      exceptionCodes: { ...this.exceptionCodes },
      latency: { count: this.latencyCount, sumMs: this.latencySum, maxMs: this.latencyMax, recentMs },
      queued,
      inFlight,
      extra: { ...this.extra },
    }
  }
}
