/**
 * A profile as the codec, the request planner and the simulators use it: every
 * default filled in, every address converted to the 0-based protocol address
 * (the one place where `addressBase` is interpreted), every register span known.
 */
import type { AlarmHints, Access, Stuck, PointType, PollClass, Profile, Point, SensorKind, Table, WordOrder } from './schema.ts'

/** Register (or bit) count each fixed-width type occupies. */
export const TYPE_REGISTERS: Readonly<Record<Exclude<PointType, 'string'>, number>> = {
  bool: 1,
  bit: 1,
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  float32: 2,
  float64: 4,
}

/** Raw integer limits of the integer types (what the registers can carry before scaling). */
export const RAW_LIMITS: Readonly<Partial<Record<PointType, { min: number; max: number }>>> = {
  bool: { min: 0, max: 1 },
  bit: { min: 0, max: 1 },
  int16: { min: -0x8000, max: 0x7fff },
  uint16: { min: 0, max: 0xffff },
  int32: { min: -0x80000000, max: 0x7fffffff },
  uint32: { min: 0, max: 0xffffffff },
}

/** Tables holding single bits (coils, discrete inputs) rather than 16-bit registers. */
export function isBitTable(table: Table): boolean {
  return table === 'coil' || table === 'discrete'
}

/** Modicon prefix digit of each table in "40001"-style numbering. */
export const MODICON_PREFIX: Readonly<Record<Table, number>> = { coil: 0, discrete: 1, input: 3, holding: 4 }

export type AddressResult = { ok: true; address: number } | { ok: false; reason: string }

/**
 * Converts a profile address to the 0-based protocol address sent on the wire.
 *
 * - base 0: the address already is the protocol address (0..65535).
 * - base 1: a 1-based register number. It may carry the Modicon table prefix in
 *   5-digit (40001..49999) or 6-digit (400001..465536) form, which must agree with
 *   `table`; coils (prefix 0) are plain 1-based numbers.
 */
export function toProtocolAddress(address: number, table: Table, base: 0 | 1): AddressResult {
  if (!Number.isInteger(address) || address < 0) return { ok: false, reason: `address ${address} is not a non-negative integer` }
  if (base === 0) {
    return address <= 0xffff ? { ok: true, address } : { ok: false, reason: `address ${address} is above 65535` }
  }
  if (address === 0) return { ok: false, reason: 'address 0 does not exist with addressBase 1 (numbers start at 1)' }
  const prefix = MODICON_PREFIX[table]
  let n = address
  if (address >= 100001 && address <= 965536) {
    const digit = Math.floor(address / 100000)
    if (digit !== prefix) return { ok: false, reason: wrongPrefix(address, digit, table) }
    n = address - digit * 100000
  } else if (address >= 10001 && address <= 99999) {
    // 5-digit Modicon form. Coils (prefix 0) are then 1..9999: a larger coil number
    // would read as another table's reference, so it is refused rather than guessed.
    const digit = Math.floor(address / 10000)
    if (digit !== prefix) return { ok: false, reason: wrongPrefix(address, digit, table) }
    n = address - digit * 10000
  }
  if (n < 1 || n > 0x10000) return { ok: false, reason: `address ${address} is outside 1..65536 once its table prefix is removed` }
  return { ok: true, address: n - 1 }
}

function wrongPrefix(address: number, digit: number, table: Table): string {
  const owner = (Object.entries(MODICON_PREFIX) as [Table, number][]).find(([, d]) => d === digit)?.[0]
  return `address ${address} carries the Modicon prefix ${digit}${owner ? ` (${owner} table)` : ''} but the point's table is ${table}`
}

/** A point with every default applied and its protocol address resolved. */
export interface ResolvedPoint {
  readonly name: string
  readonly description?: string
  readonly unit?: string
  readonly table: Table
  /** 0-based protocol address of the first register (or bit). */
  readonly address: number
  /** Registers (or bits, for bit tables) the point spans. */
  readonly registers: number
  readonly type: PointType
  readonly bit?: number
  readonly order: WordOrder
  readonly scale: number
  readonly offset: number
  readonly access: Access
  readonly range?: { readonly min?: number; readonly max?: number }
  readonly sentinels: readonly number[]
  readonly poll: PollClass
  readonly deadband?: number
  /** Stuck-sensor detection (the profile's `stuck`); absent: never stuck. */
  readonly stuck?: Stuck
  readonly alarm?: AlarmHints
}

export interface ResolvedQuirks {
  readonly maxRegistersPerRequest: number
  readonly maxBitsPerRequest: number
  readonly oneRequestPerField: boolean
  readonly pauseBetweenRequestsMs: number
  readonly turnaroundMs: number
  /** Inclusive protocol-address ranges a read must not cover. */
  readonly forbiddenRanges: readonly { readonly table: Table; readonly start: number; readonly end: number }[]
}

export interface ResolvedProfile {
  readonly id: string
  readonly kind: SensorKind
  readonly vendor: string
  readonly model: string
  readonly firmware: string
  readonly description?: string
  readonly heartbeatS?: number
  readonly quirks: ResolvedQuirks
  readonly points: readonly ResolvedPoint[]
}

/** Register count of a point, before any check (string takes its declared `registers`). */
export function pointWidth(p: Pick<Point, 'type' | 'registers'>): number {
  return p.type === 'string' ? (p.registers ?? 0) : TYPE_REGISTERS[p.type]
}

/**
 * Fills defaults and resolves addresses. Expects a profile that passed validation
 * (`parseProfile`); an address it cannot convert throws, because that is a bug in
 * the caller, not bad input. The result is deeply frozen.
 */
export function resolveProfile(profile: Profile): ResolvedProfile {
  const base = profile.addressBase ?? 0
  const addr = (address: number, table: Table): number => {
    const r = toProtocolAddress(address, table, base)
    if (!r.ok) throw new Error(`${profile.id}: ${r.reason}`)
    return r.address
  }
  const q = profile.quirks ?? {}
  const points = profile.points.map((p): ResolvedPoint => {
    const resolved: ResolvedPoint = {
      name: p.name,
      table: p.table,
      address: addr(p.address, p.table),
      registers: pointWidth(p),
      type: p.type,
      order: p.order ?? profile.defaults?.order ?? 'ABCD',
      scale: p.scale ?? 1,
      offset: p.offset ?? 0,
      access: p.access ?? 'read',
      sentinels: Object.freeze([...(p.sentinels ?? [])]),
      poll: p.poll ?? profile.defaults?.poll ?? 'fast',
      ...(p.description !== undefined && { description: p.description }),
      ...(p.unit !== undefined && { unit: p.unit }),
      ...(p.bit !== undefined && { bit: p.bit }),
      ...(p.range !== undefined && { range: Object.freeze({ ...p.range }) }),
      ...(p.deadband !== undefined && { deadband: p.deadband }),
      ...(p.stuck !== undefined && { stuck: deepFreeze(structuredClone(p.stuck)) }),
      ...(p.alarm !== undefined && { alarm: deepFreeze(structuredClone(p.alarm)) }),
    }
    return Object.freeze(resolved)
  })
  return Object.freeze({
    id: profile.id,
    kind: profile.kind,
    vendor: profile.vendor,
    model: profile.model,
    firmware: profile.firmware,
    ...(profile.description !== undefined && { description: profile.description }),
    ...(profile.heartbeatS !== undefined && { heartbeatS: profile.heartbeatS }),
    quirks: Object.freeze({
      maxRegistersPerRequest: q.maxRegistersPerRequest ?? 125,
      maxBitsPerRequest: q.maxBitsPerRequest ?? 2000,
      oneRequestPerField: q.oneRequestPerField ?? false,
      pauseBetweenRequestsMs: q.pauseBetweenRequestsMs ?? 0,
      turnaroundMs: q.turnaroundMs ?? 0,
      forbiddenRanges: Object.freeze((q.forbiddenRanges ?? []).map((r) => Object.freeze({ table: r.table, start: addr(r.start, r.table), end: addr(r.end, r.table) }))),
    }),
    points: Object.freeze(points),
  })
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}
