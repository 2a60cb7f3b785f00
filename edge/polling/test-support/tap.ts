/**
 * A `Transport` that passes everything to a real one and logs each exchange —
 * unit, operation, span, when it started and ended, its outcome — and how many
 * overlapped: what the bus really put on the wire, for assertions.
 */
import type { ReadResult, ReadSpec, Transport, WriteResult } from '../../drivers/transport.ts'

export interface Tapped {
  readonly unit: number
  readonly op: 'read' | 'write'
  readonly table: string
  readonly start: number
  readonly count: number
  readonly startAt: number
  readonly endAt: number
  /** `data`, `written`, or the failure kind. */
  readonly outcome: string
}

export class TapTransport implements Transport {
  readonly log: Tapped[] = []
  maxInFlight = 0
  private inFlight = 0

  constructor(readonly inner: Transport) {}

  start(): Promise<void> {
    return this.inner.start()
  }

  stop(): Promise<void> {
    return this.inner.stop()
  }

  read(unit: number, spec: ReadSpec, timeoutMs: number): Promise<ReadResult> {
    return this.tap(unit, 'read', spec.table, spec.start, spec.count, () => this.inner.read(unit, spec, timeoutMs))
  }

  write(unit: number, table: 'holding' | 'coil', start: number, values: readonly number[], timeoutMs: number): Promise<WriteResult> {
    return this.tap(unit, 'write', table, start, values.length, () => this.inner.write(unit, table, start, values, timeoutMs))
  }

  /** Exchanges with one unit. */
  of(unit: number): Tapped[] {
    return this.log.filter((e) => e.unit === unit)
  }

  private async tap<R extends ReadResult | WriteResult>(unit: number, op: 'read' | 'write', table: string, start: number, count: number, send: () => Promise<R>): Promise<R> {
    const startAt = performance.now()
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    try {
      const r = await send()
      this.log.push({ unit, op, table, start, count, startAt, endAt: performance.now(), outcome: r.ok ? (op === 'read' ? 'data' : 'written') : r.failure.kind })
      return r
    } finally {
      this.inFlight--
    }
  }
}
