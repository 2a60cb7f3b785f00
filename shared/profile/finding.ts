/**
 * A semantic problem found in a schema-valid profile, named by field path and
 * anchor; `parse.ts` turns it into a positioned ProfileIssue.
 */
import type { Table } from './schema.ts'
import type { Anchor, PathSegment } from './positions.ts'

/** A problem at `path`; `at` says whether it points at the key, the value, or the map that lacks the field. */
export interface Finding {
  path: readonly PathSegment[]
  at: Anchor
  reason: string
}

/** What one address of each table is called in messages. */
export const CELL: Readonly<Record<Table, string>> = {
  coil: 'coil',
  discrete: 'discrete input',
  input: 'input register',
  holding: 'holding register',
}

/** A number as a person would write it: no binary floating-point noise (0.1 × 3 → 0.3). */
export function fmt(n: number): string {
  return String(Number(n.toPrecision(12)))
}

/** `points[3] "level"`: how messages name another point. */
export function pointRef(index: number, name: string): string {
  return `points[${index}] "${name}"`
}
