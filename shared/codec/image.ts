/**
 * Register images for simulators: the content of a device's four tables, built
 * from engineering values with the same codec the edge decodes with, so a
 * simulator and the edge cannot disagree about byte order or scaling.
 */
import type { Table } from '../profile/schema.ts'
import type { ResolvedPoint } from '../profile/resolve.ts'
import { encodeBitInto, encodePoint } from './encode.ts'
import type { Value } from './result.ts'

/**
 * table → (0-based protocol address → content). Register tables (input, holding)
 * hold 16-bit words 0..65535; bit tables (coil, discrete) hold 0 or 1. An address
 * missing from the map has never been written; {@link readImage} reads it as 0.
 * Tables no point uses are absent.
 */
export type RegisterImage = Map<Table, Map<number, number>>

/**
 * Encodes `values` (engineering values by point name) with `encodePoint` and
 * places each point's words at its address. Points without a value are skipped.
 * `bit` points are read-modify-written, so several of them can share one
 * register; for other overlapping points the later one in `points` wins.
 *
 * Throws an Error naming every value that cannot be encoded (wrong type, out of
 * range, sentinel…) and every name that matches no point: images come from
 * simulator fixtures and scenarios, where such a value is a bug to fix, not a
 * condition to serve. To serve a bad raw value on purpose, write `encodeRaw`'s
 * words with {@link writeWords}.
 */
export function encodeImage(points: readonly ResolvedPoint[], values: Readonly<Record<string, Value>>): RegisterImage {
  const image: RegisterImage = new Map()
  const problems: string[] = []
  const known = new Set(points.map((p) => p.name))
  for (const name of Object.keys(values)) if (!known.has(name)) problems.push(`${name}: no such point`)
  for (const point of points) {
    if (!Object.hasOwn(values, point.name)) continue
    const value = values[point.name] as Value
    const r = encodePoint(point, value)
    if (!r.ok) {
      problems.push(`${point.name}: ${r.reason}`)
      continue
    }
    if (point.type === 'bit') {
      const table = tableOf(image, point.table)
      table.set(point.address, encodeBitInto(table.get(point.address) ?? 0, point.bit ?? 0, value === true))
    } else {
      writeWords(image, point.table, point.address, r.words)
    }
  }
  if (problems.length > 0) throw new Error(`cannot build register image: ${problems.join('; ')}`)
  return image
}

/** Writes `words` (e.g. from `encodeRaw`) at consecutive addresses from `address`. */
export function writeWords(image: RegisterImage, table: Table, address: number, words: readonly number[]): void {
  const t = tableOf(image, table)
  words.forEach((w, i) => t.set(address + i, w))
}

/** Reads `count` consecutive entries from `start`; unwritten addresses read as 0. */
export function readImage(image: RegisterImage, table: Table, start: number, count: number): number[] {
  const t = image.get(table)
  return Array.from({ length: count }, (_, i) => t?.get(start + i) ?? 0)
}

function tableOf(image: RegisterImage, table: Table): Map<number, number> {
  let t = image.get(table)
  if (!t) image.set(table, (t = new Map()))
  return t
}
