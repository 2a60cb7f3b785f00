/**
 * Register-layout checks: every address converts to a protocol address (through
 * `toProtocolAddress`, the one place `addressBase` is interpreted), no point runs
 * past 65535, no two points read the same register unless they are bits of it,
 * and the device's quirks leave every point readable.
 */
import type { Point, PointType, Profile } from './schema.ts'
import { isBitTable, pointWidth, toProtocolAddress } from './resolve.ts'
import { CELL, pointRef, type Finding } from './finding.ts'

/** True when the point's type and table agree (bool on bit tables, everything else on registers). */
export function typeFitsTable(p: Pick<Point, 'type' | 'table'>): boolean {
  return (p.type === 'bool') === isBitTable(p.table)
}

/** A point placed on the wire: protocol addresses `start..end` (inclusive) of its table. */
interface Placed {
  index: number
  point: Point
  start: number
  end: number
}

/** The address `protocol` (inside the point's span) written the way the profile writes the point's address. */
function shown(p: Placed, protocol: number): number {
  return p.point.address + (protocol - p.start)
}

const is16BitInteger = (t: PointType): boolean => t === 'int16' || t === 'uint16'

/**
 * Bits of one register may be separate points, and may sit on the same register
 * as one 16-bit "status word" point that reads them all at once.
 */
function mayShare(a: Point, b: Point): boolean {
  if (a.type === 'bit' && b.type === 'bit') return a.bit !== b.bit
  if (a.type === 'bit') return is16BitInteger(b.type)
  if (b.type === 'bit') return is16BitInteger(a.type)
  return false
}

/** Adds the layout findings of `profile` to `out`. */
export function checkLayout(profile: Profile, out: Finding[]): void {
  const base = profile.addressBase ?? 0
  const placed: Placed[] = []
  profile.points.forEach((point, index) => {
    const r = toProtocolAddress(point.address, point.table, base)
    if (!r.ok) {
      out.push({ path: ['points', index, 'address'], at: 'value', reason: r.reason })
      return
    }
    const width = pointWidth(point)
    // A point with a wrong type or no width already has its own issue; placing it would only add noise.
    if (width === 0 || !typeFitsTable(point)) return
    const end = r.address + width - 1
    if (end > 0xffff) {
      out.push({
        path: ['points', index, 'address'],
        at: 'value',
        reason: `${point.type} spans ${width} registers from protocol address ${r.address} and runs past 65535`,
      })
      return
    }
    placed.push({ index, point, start: r.address, end })
  })
  checkOverlaps(placed, out)
  checkRequestSize(profile, placed, out)
  checkForbiddenRanges(profile, placed, out)
}

function checkOverlaps(placed: readonly Placed[], out: Finding[]): void {
  for (const [k, b] of placed.entries()) {
    for (const a of placed.slice(0, k)) {
      if (a.point.table !== b.point.table || a.end < b.start || b.end < a.start) continue
      if (mayShare(a.point, b.point)) continue
      const at = shown(b, Math.max(a.start, b.start))
      const cell = `${CELL[b.point.table]} ${at}`
      let reason: string
      if (a.point.type === 'bit' && b.point.type === 'bit') {
        reason = `bit ${b.point.bit ?? 0} of ${cell} is already ${pointRef(a.index, a.point.name)}`
      } else if (a.point.type === 'bit' || b.point.type === 'bit') {
        reason = `${cell} is also read by ${pointRef(a.index, a.point.name)} (${a.point.type}); ` +
          'a bit point may share its register only with other bits and one int16/uint16 status word'
      } else {
        reason = `${cell} is also read by ${pointRef(a.index, a.point.name)} (${a.point.type})`
      }
      out.push({ path: ['points', b.index, 'address'], at: 'value', reason })
      break
    }
  }
}

/** Modbus Application Protocol v1.1b3 §6.3: a point must fit in one read, and some devices allow fewer than 125 registers. */
function checkRequestSize(profile: Profile, placed: readonly Placed[], out: Finding[]): void {
  const max = profile.quirks?.maxRegistersPerRequest
  if (max === undefined) return
  for (const p of placed) {
    const width = p.end - p.start + 1
    if (isBitTable(p.point.table) || width <= max) continue
    const field = p.point.type === 'string' ? 'registers' : 'type'
    out.push({
      path: ['points', p.index, field],
      at: 'value',
      reason: `${p.point.type} spans ${width} registers but quirks.maxRegistersPerRequest is ${max}, so it could never be read`,
    })
  }
}

function checkForbiddenRanges(profile: Profile, placed: readonly Placed[], out: Finding[]): void {
  const base = profile.addressBase ?? 0
  profile.quirks?.forbiddenRanges?.forEach((range, k) => {
    const path = ['quirks', 'forbiddenRanges', k] as const
    const conv = (field: 'start' | 'end'): number | undefined => {
      const r = toProtocolAddress(range[field], range.table, base)
      if (r.ok) return r.address
      out.push({ path: [...path, field], at: 'value', reason: r.reason })
      return undefined
    }
    const start = conv('start')
    const end = conv('end')
    if (start === undefined || end === undefined) return
    if (start > end) {
      out.push({ path: [...path, 'start'], at: 'value', reason: `${range.start} is after end ${range.end}` })
      return
    }
    for (const p of placed) {
      if (p.point.table !== range.table || p.end < start || end < p.start) continue
      const cell = `${CELL[range.table]} ${shown(p, Math.max(start, p.start))}`
      out.push({
        path,
        at: 'value',
        reason: `covers ${pointRef(p.index, p.point.name)} at ${cell}, which could then never be read`,
      })
    }
  })
}
