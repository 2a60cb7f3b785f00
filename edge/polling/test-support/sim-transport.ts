/**
 * A `Transport` straight onto simulated units' `respond(pdu)`, with no wire: for
 * fast, deterministic scheduler tests. Each request takes the unit's
 * `turnaroundMs` plus `latencyMs`; silence takes the whole timeout; a corrupted
 * or truncated answer is `crc`. It logs every exchange and how many overlapped,
 * so a test can assert on what the bus did. The integration tests use the real
 * drivers over TCP and an RTU pty instead.
 */
import { decodeResponse, encodeRead, encodeWrite } from '../../../shared/modbus/index.ts'
import type { ModbusUnit } from '../../../simulators/modbus/unit.ts'
import type { Failure, ReadResult, ReadSpec, Transport, WriteResult } from '../../drivers/transport.ts'

export interface Exchange {
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

export class SimTransport implements Transport {
  readonly log: Exchange[] = []
  maxInFlight = 0
  started = 0
  stopped = 0
  private inFlight = 0
  private readonly perUnit = new Map<number, number>()
  /** Most requests in flight to one unit at once, over all units. */
  maxInFlightPerUnit = 0

  constructor(
    private readonly units: ReadonlyMap<number, ModbusUnit>,
    private readonly latencyMs = 1,
  ) {}

  async start(): Promise<void> {
    this.started++
  }

  async stop(): Promise<void> {
    this.stopped++
  }

  read(unit: number, spec: ReadSpec, timeoutMs: number): Promise<ReadResult> {
    return this.exchange(unit, 'read', spec.table, spec.start, spec.count, encodeRead(spec.table, spec.start, spec.count), timeoutMs).then((r) =>
      r.ok ? (r.data ? { ok: true, data: r.data, latencyMs: r.latencyMs } : { ok: false, failure: { kind: 'crc', detail: 'not data' }, latencyMs: r.latencyMs }) : r,
    )
  }

  write(unit: number, table: 'holding' | 'coil', start: number, values: readonly number[], timeoutMs: number): Promise<WriteResult> {
    return this.exchange(unit, 'write', table, start, values.length, encodeWrite(table, start, values), timeoutMs).then((r) => (r.ok ? { ok: true, latencyMs: r.latencyMs } : r))
  }

  /** Exchanges of one unit. */
  of(unit: number): Exchange[] {
    return this.log.filter((e) => e.unit === unit)
  }

  private async exchange(
    unit: number,
    op: 'read' | 'write',
    table: string,
    start: number,
    count: number,
    pdu: Uint8Array,
    timeoutMs: number,
  ): Promise<{ ok: true; data?: number[]; latencyMs: number } | { ok: false; failure: Failure; latencyMs: number }> {
    const t0 = performance.now()
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    const n = (this.perUnit.get(unit) ?? 0) + 1
    this.perUnit.set(unit, n)
    this.maxInFlightPerUnit = Math.max(this.maxInFlightPerUnit, n)
    const u = this.units.get(unit)
    const reply = u?.respond(pdu) ?? { kind: 'silent' as const }
    let out: { ok: true; data?: number[] } | { ok: false; failure: Failure }
    if (reply.kind === 'silent') {
      await sleep(timeoutMs)
      out = { ok: false, failure: { kind: 'timeout' } }
    } else {
      await sleep((u?.turnaroundMs ?? 0) + this.latencyMs)
      if (reply.kind !== 'response') out = { ok: false, failure: { kind: 'crc', detail: reply.kind } }
      else {
        const d = decodeResponse(pdu, reply.pdu)
        out =
          d.kind === 'data'
            ? { ok: true, data: d.values }
            : d.kind === 'written'
              ? { ok: true }
              : d.kind === 'exception'
                ? { ok: false, failure: { kind: 'exception', code: d.code } }
                : { ok: false, failure: { kind: 'crc', detail: d.detail } }
      }
    }
    this.inFlight--
    this.perUnit.set(unit, n - 1)
    const endAt = performance.now()
    this.log.push({ unit, op, table, start, count, startAt: t0, endAt, outcome: out.ok ? (out.data ? 'data' : 'written') : out.failure.kind })
    return { ...out, latencyMs: endAt - t0 }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
