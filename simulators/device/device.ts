/**
 * A simulated Modbus device: a firmware profile, a register/bit image built with
 * the shared codec (so the simulator and the edge cannot disagree about byte
 * order or scaling), an optional value source, and runtime-switchable faults.
 * It answers request PDUs (`ModbusUnit`); the TCP and RTU servers put it on a
 * wire.
 */
import { decodePoint, encodeBitInto, encodePoint, encodeRaw, readImage, writeWords, type PointResult, type RegisterImage, type Value } from '../../shared/codec/index.ts'
import { EXCEPTION, exceptionPdu } from '../../shared/modbus/codes.ts'
import type { ResolvedPoint, ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { Table } from '../../shared/profile/schema.ts'
import { createRng } from '../models/random.ts'
import { handlePdu, type DataModel, type DataResult } from '../modbus/pdu.ts'
import type { ModbusUnit, Reply } from '../modbus/unit.ts'
import { AddressMap } from './address-map.ts'
import { NO_FAULT, faultProblem, type Fault } from './faults.ts'
import { noiseWords, sentinelWords, wrongOrderWords } from './read-effects.ts'

/** Engineering values by point name, for the given time (ms on the device's clock). */
export type ValueSource = (nowMs: number) => Readonly<Record<string, Value>>

export interface DeviceOptions {
  readonly profile: ResolvedProfile
  /** Initial engineering values by point name (through `encodePoint`; a bad value throws). */
  readonly values?: Readonly<Record<string, Value>>
  /** Asked for fresh values before each read is served (not while `stuck`). A source that throws makes the device answer 04. */
  readonly source?: ValueSource
  /** Seed of the noise fault (default 1). */
  readonly seed?: number | string
  /** What a read of addresses no point maps gets: exception 02 like real devices (default), or zeros. Writes there always get 02. */
  readonly unmapped?: 'exception' | 'zeros'
  /**
   * Honour the profile's quirks (default true): reads longer than
   * maxRegistersPerRequest/maxBitsPerRequest get 03, reads touching forbiddenRanges get
   * 02, and a request arriving sooner than pauseBetweenRequestsMs after the previous
   * answer is dropped (silence), as such firmware does.
   */
  readonly quirks?: boolean
  /** Clock in ms (default `performance.now`); tests drive dropouts with a fake one. */
  readonly now?: () => number
  /** Initial fault (default none). */
  readonly fault?: Fault
}

/** Counters since creation. */
export interface DeviceStats {
  requests: number
  responses: number
  exceptions: number
  silent: number
  writes: number
}

/** One simulated device. Implements `ModbusUnit`, so it can sit behind any unit id of a server. */
export class SimulatedDevice implements ModbusUnit {
  readonly profile: ResolvedProfile
  readonly turnaroundMs: number
  readonly stats: DeviceStats = { requests: 0, responses: 0, exceptions: 0, silent: 0, writes: 0 }
  private readonly image: RegisterImage = new Map()
  private readonly map: AddressMap
  private readonly byName: ReadonlyMap<string, ResolvedPoint>
  private readonly source: ValueSource | undefined
  private readonly unmapped: 'exception' | 'zeros'
  private readonly quirks: boolean
  private readonly now: () => number
  private readonly seed: number | string
  private rng: () => number
  private currentFault: Fault = NO_FAULT
  private faultSince = 0
  private frozen: RegisterImage | undefined
  private lastAnswerAt = Number.NEGATIVE_INFINITY

  constructor(opts: DeviceOptions) {
    this.profile = opts.profile
    this.turnaroundMs = opts.profile.quirks.turnaroundMs
    this.map = new AddressMap(opts.profile)
    this.byName = new Map(opts.profile.points.map((p) => [p.name, p]))
    this.source = opts.source
    this.unmapped = opts.unmapped ?? 'exception'
    this.quirks = opts.quirks ?? true
    this.now = opts.now ?? (() => performance.now())
    this.seed = opts.seed ?? 1
    this.rng = createRng(this.seed).next
    if (opts.values) this.set(opts.values)
    if (opts.fault) this.setFault(opts.fault)
  }

  /** The fault in force (a one-shot dropout that has run its course reads as none). */
  get fault(): Fault {
    const f = this.currentFault
    if (f.kind === 'dropout' && f.everyMs === undefined && this.now() - this.faultSince >= f.forMs) this.currentFault = NO_FAULT
    return this.currentFault
  }

  /** Switches the fault; takes effect with the next request. Throws on an unusable fault (e.g. exception code 7). */
  setFault(fault: Fault): void {
    const problem = faultProblem(fault)
    if (problem !== undefined) throw new RangeError(problem)
    this.currentFault = fault
    this.faultSince = this.now()
    this.frozen = fault.kind === 'stuck' ? cloneImage(this.image) : undefined
    if (fault.kind === 'noise') this.rng = createRng(this.seed).next
  }

  /**
   * Sets engineering values by point name through `encodePoint`. All or nothing:
   * throws an Error naming every unknown point and every value the codec refuses
   * (out of range, sentinel, wrong type); use {@link setRaw} to serve such values.
   */
  set(values: Readonly<Record<string, Value>>): void {
    const problems: string[] = []
    const encoded: [ResolvedPoint, number[], Value][] = []
    for (const [name, value] of Object.entries(values)) {
      const point = this.byName.get(name)
      if (!point) {
        problems.push(`${name}: no such point in ${this.profile.id}`)
        continue
      }
      const r = encodePoint(point, value)
      if (r.ok) encoded.push([point, r.words, value])
      else problems.push(`${name}: ${r.reason}`)
    }
    if (problems.length > 0) throw new Error(`${this.profile.id}: cannot set ${problems.join('; ')}`)
    for (const [point, words, value] of encoded) this.place(point, words, value === true)
  }

  /** Serves a raw (pre-scale) value through `encodeRaw`, unchecked: sentinels, NaN, out-of-range values. */
  setRaw(name: string, raw: number | boolean | string): void {
    const point = this.byName.get(name)
    if (!point) throw new Error(`${name}: no such point in ${this.profile.id}`)
    const words = encodeRaw(point, raw)
    this.place(point, words, point.type === 'bit' && (((words[0] ?? 0) >>> (point.bit ?? 0)) & 1) === 1)
  }

  /** The engineering value the image holds now (what a client wrote, what `set` put there), ignoring faults. */
  get(name: string): PointResult {
    const point = this.byName.get(name)
    if (!point) throw new Error(`${name}: no such point in ${this.profile.id}`)
    return decodePoint(point, readImage(this.image, point.table, point.address, point.registers))
  }

  /** Raw image content (registers, or 0/1 for bit tables), ignoring faults; unwritten addresses read 0. */
  words(table: Table, address: number, count: number): number[] {
    return readImage(this.image, table, address, count)
  }

  /** Answers one request PDU, faults included. Never throws. */
  respond(pdu: Uint8Array): Reply {
    this.stats.requests++
    const now = this.now()
    const fault = this.fault
    const pause = this.profile.quirks.pauseBetweenRequestsMs
    if (
      fault.kind === 'no-response' ||
      (fault.kind === 'dropout' && (now - this.faultSince) % (fault.everyMs ?? Number.POSITIVE_INFINITY) < fault.forMs) ||
      (this.quirks && pause > 0 && now - this.lastAnswerAt < pause)
    ) {
      this.stats.silent++
      return { kind: 'silent' }
    }
    this.lastAnswerAt = now
    const answer = fault.kind === 'exception' ? exceptionPdu(pdu[0] ?? 0, fault.code) : handlePdu(this.model(fault, now), pdu)
    this.stats.responses++
    if (answer.length === 2 && ((answer[0] ?? 0) & 0x80) !== 0) this.stats.exceptions++
    if (fault.kind === 'bad-crc' || fault.kind === 'truncated') return { kind: fault.kind, pdu: answer }
    return { kind: 'response', pdu: answer }
  }

  private place(point: ResolvedPoint, words: readonly number[], bitValue: boolean): void {
    if (point.type === 'bit') {
      const [current = 0] = readImage(this.image, point.table, point.address, 1)
      writeWords(this.image, point.table, point.address, [encodeBitInto(current, point.bit ?? 0, bitValue)])
    } else {
      writeWords(this.image, point.table, point.address, words)
    }
  }

  /** The data model the PDU core sees under `fault`. */
  private model(fault: Fault, now: number): DataModel {
    return {
      read: (table, address, count) => this.read(fault, now, table, address, count),
      write: (table, address, values) => this.write(table, address, values),
    }
  }

  private read(fault: Fault, now: number, table: Table, address: number, count: number): DataResult<readonly number[]> {
    const bits = table === 'coil' || table === 'discrete'
    const q = this.profile.quirks
    if (this.quirks && count > (bits ? q.maxBitsPerRequest : q.maxRegistersPerRequest)) return { ok: false, exception: EXCEPTION.illegalDataValue }
    if (this.quirks && this.map.forbids(table, address, count)) return { ok: false, exception: EXCEPTION.illegalDataAddress }
    if (this.unmapped === 'exception' && !this.map.covers(table, address, count)) return { ok: false, exception: EXCEPTION.illegalDataAddress }
    if (this.source && fault.kind !== 'stuck') this.set(this.source(now))
    const image = fault.kind === 'stuck' && this.frozen ? this.frozen : this.image
    const out = readImage(image, table, address, count)
    if (fault.kind !== 'noise' && fault.kind !== 'sentinel' && fault.kind !== 'wrong-order') return { ok: true, value: out }
    for (const point of this.map.pointsIn(table, address, count)) {
      const words = readImage(image, table, point.address, point.registers)
      const served =
        fault.kind === 'sentinel'
          ? sentinelWords(point)
          : fault.kind === 'wrong-order'
            ? wrongOrderWords(point, words, fault.order)
            : noiseWords(point, words, this.rng, fault)
      if (!served) continue
      served.forEach((w, i) => {
        const at = point.address + i - address
        if (at >= 0 && at < count) out[at] = w
      })
    }
    return { ok: true, value: out }
  }

  private write(table: 'coil' | 'holding', address: number, values: readonly number[]): DataResult<void> {
    // A write to an unmapped or read-only address: 02, "not an allowable address" (Modbus Application Protocol v1.1b3 §7).
    if (!this.map.writable(table, address, values.length)) return { ok: false, exception: EXCEPTION.illegalDataAddress }
    writeWords(this.image, table, address, values)
    this.stats.writes++
    return { ok: true, value: undefined }
  }
}

function cloneImage(image: RegisterImage): RegisterImage {
  return new Map([...image].map(([t, m]) => [t, new Map(m)]))
}
