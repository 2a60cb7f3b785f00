/**
 * One request's way through a driver, the same for TCP and RTU: built from the
 * caller's arguments (a broken request is the caller's bug: RangeError), queued,
 * put on the wire, and settled exactly once — by its answer, its timeout, or the
 * transport failing — into the value the `Transport` contract promises.
 */
import { decodeResponse, encodeRead, encodeWrite } from '../../shared/modbus/client-pdu.ts'
import type { DriverCounters } from './stats.ts'
import type { Failure, ReadResult, ReadSpec, WriteResult } from './transport.ts'

/** How a request ended, before it is shaped into a ReadResult or WriteResult. */
export type Outcome = { readonly ok: true; readonly data: readonly number[] } | { readonly ok: false; readonly failure: Failure }

/** Default bound of a driver's FIFO queue: an unbounded queue hides a bus that cannot keep up (node-red-contrib-modbus#89). */
export const DEFAULT_MAX_QUEUE = 256

/** A request between submission and its result. */
export class Exchange {
  /** `performance.now()` when the request's first byte was written; undefined while queued. */
  sentAt: number | undefined
  /** The driver's response timer, cleared on settle. */
  timer: NodeJS.Timeout | undefined
  readonly result: Promise<{ outcome: Outcome; latencyMs: number }>
  private readonly calledAt = performance.now()
  private resolve!: (r: { outcome: Outcome; latencyMs: number }) => void
  private done = false

  constructor(
    readonly unit: number,
    /** The request PDU; its answer is checked against it. */
    readonly pdu: Uint8Array,
    readonly timeoutMs: number,
    private readonly counters: DriverCounters,
  ) {
    counters.requests++
    this.result = new Promise((resolve) => (this.resolve = resolve))
  }

  get settled(): boolean {
    return this.done
  }

  /** Function code of the request. */
  get functionCode(): number {
    return this.pdu[0] ?? 0
  }

  /**
   * Ends the request; later calls are ignored (an answer racing its timeout).
   * `latencyMs` runs from the first byte written, or from submission for a
   * request that never reached the wire.
   */
  settle(outcome: Outcome): void {
    if (this.done) return
    this.done = true
    clearTimeout(this.timer)
    const latencyMs = performance.now() - (this.sentAt ?? this.calledAt)
    const answered = outcome.ok || outcome.failure.kind === 'exception' || outcome.failure.kind === 'crc'
    this.counters.record(outcome.ok ? undefined : outcome.failure, answered && this.sentAt !== undefined ? latencyMs : undefined)
    this.resolve({ outcome, latencyMs })
  }

  /** Settles with a transport failure. */
  fail(detail: string): void {
    this.settle({ ok: false, failure: { kind: 'transport', detail } })
  }
}

/** The outcome an answer PDU gives its request: data, a write confirmed, an exception, or a mismatch (a `crc`-kind failure). */
export function answerOutcome(request: Uint8Array, response: Uint8Array): Outcome {
  const out = decodeResponse(request, response)
  switch (out.kind) {
    case 'data':
      return { ok: true, data: out.values }
    case 'written':
      return { ok: true, data: [] }
    case 'exception':
      return { ok: false, failure: { kind: 'exception', code: out.code } }
    case 'mismatch':
      return { ok: false, failure: { kind: 'crc', detail: `mismatched response: ${out.detail}` } }
  }
}

/** The request PDU of a read; throws a RangeError for a spec outside the protocol's limits. */
export function readPdu(spec: ReadSpec): Uint8Array {
  return encodeRead(spec.table, spec.start, spec.count)
}

/** The request PDU of a write (FC05/06 for one value, FC15/16 for several); throws a RangeError outside the limits. */
export function writePdu(table: 'holding' | 'coil', start: number, values: readonly number[]): Uint8Array {
  return encodeWrite(table, start, values)
}

/** Throws a RangeError unless `unit` is an integer in `min..max`. */
export function checkUnit(unit: number, min: number, max: number, medium: string): void {
  if (!Number.isInteger(unit) || unit < min || unit > max) throw new RangeError(`unit id ${unit} is not ${min}..${max} on Modbus ${medium}`)
}

/** Throws a RangeError unless the timeout is a positive finite number of ms. */
export function checkTimeout(timeoutMs: number): void {
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`timeout ${timeoutMs} ms is not a positive number`)
}

export async function readResult(ex: Exchange): Promise<ReadResult> {
  const { outcome, latencyMs } = await ex.result
  return outcome.ok ? { ok: true, data: outcome.data, latencyMs } : { ok: false, failure: outcome.failure, latencyMs }
}

export async function writeResult(ex: Exchange): Promise<WriteResult> {
  const { outcome, latencyMs } = await ex.result
  return outcome.ok ? { ok: true, latencyMs } : { ok: false, failure: outcome.failure, latencyMs }
}

/** A Node error's code (ECONNREFUSED…) or message, for a `transport` failure's detail. */
export function errorDetail(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined
  return e?.code ?? e?.message ?? String(err)
}
