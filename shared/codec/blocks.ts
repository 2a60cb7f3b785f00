/**
 * Decodes the points of a merged read. The request planner reads several points
 * in one request per block; this module cuts each point's registers out of the
 * block that covers it and decodes them.
 */
import type { Table } from '../profile/schema.ts'
import type { ResolvedPoint } from '../profile/resolve.ts'
import type { PointError } from '../quality.ts'
import { decodePoint } from './decode.ts'
import type { Value } from './result.ts'

/**
 * One block of a read. `data` holds 16-bit words for register tables
 * (input/holding), or one element per bit for bit tables (coil/discrete), as 0/1
 * numbers or booleans. `start` is the 0-based protocol address of `data[0]`.
 */
export interface Block {
  table: Table
  start: number
  data: ArrayLike<number | boolean>
}

/** The values/errors split of a reading: each decoded point lands in exactly one of the two maps. */
export interface DecodedBlocks {
  values: Record<string, Value>
  errors: Record<string, PointError>
}

/**
 * Decodes every point whose registers (`address` .. `address + registers − 1`) lie
 * entirely inside one block of the point's table. A point covered by no block — a
 * different table, outside every block, or straddling two adjacent blocks — is in
 * neither map: it was not read, which the caller reports its own way (the
 * planner knows what it asked for). When several blocks cover a point, the first
 * one wins.
 *
 * Booleans in `data` count as 1/0. Anything else that is not a 16-bit word (in a
 * register table) or 0/1 (for a `bool` point) gives that point a `decode` error.
 */
export function decodeBlocks(points: readonly ResolvedPoint[], blocks: readonly Block[]): DecodedBlocks {
  const values: Record<string, Value> = {}
  const errors: Record<string, PointError> = {}
  for (const point of points) {
    const block = blocks.find((b) => covers(b, point))
    if (!block) continue
    const from = point.address - block.start
    const words: number[] = []
    for (let i = 0; i < point.registers; i++) words.push(asWord(block.data[from + i]))
    const r = decodePoint(point, words)
    if (r.ok) values[point.name] = r.value
    else errors[point.name] = r.error
  }
  return { values, errors }
}

/** Whether `block` holds every register (or bit) of `point`. */
export function covers(block: Block, point: Pick<ResolvedPoint, 'table' | 'address' | 'registers'>): boolean {
  return (
    block.table === point.table &&
    point.address >= block.start &&
    point.address + point.registers <= block.start + block.data.length
  )
}

function asWord(x: number | boolean | undefined): number {
  if (typeof x === 'boolean') return x ? 1 : 0
  // undefined cannot happen inside a covering block unless `data` has holes; NaN makes decodePoint report it.
  return x ?? Number.NaN
}
