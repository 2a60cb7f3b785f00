/**
 * Which addresses of a device's four tables a profile maps, and to which points:
 * what decides between serving a read and answering exception 02, as a real
 * device does for addresses its firmware does not implement.
 */
import type { Table } from '../../shared/profile/schema.ts'
import type { ResolvedPoint, ResolvedProfile } from '../../shared/profile/resolve.ts'

/** Address → points covering it, per table. */
export class AddressMap {
  private readonly byTable = new Map<Table, Map<number, ResolvedPoint[]>>()
  private readonly forbidden: ResolvedProfile['quirks']['forbiddenRanges']

  constructor(profile: Pick<ResolvedProfile, 'points' | 'quirks'>) {
    this.forbidden = profile.quirks.forbiddenRanges
    for (const p of profile.points) {
      let t = this.byTable.get(p.table)
      if (!t) this.byTable.set(p.table, (t = new Map()))
      for (let a = p.address; a < p.address + p.registers; a++) {
        const list = t.get(a)
        if (list) list.push(p)
        else t.set(a, [p])
      }
    }
  }

  /** Whether every address of `[address, address + count)` belongs to some point. */
  covers(table: Table, address: number, count: number): boolean {
    const t = this.byTable.get(table)
    if (!t) return false
    for (let a = address; a < address + count; a++) if (!t.has(a)) return false
    return true
  }

  /** Whether every address of the span belongs only to `readwrite` points (a write may touch it). */
  writable(table: Table, address: number, count: number): boolean {
    const t = this.byTable.get(table)
    if (!t) return false
    for (let a = address; a < address + count; a++) {
      const points = t.get(a)
      if (!points || points.some((p) => p.access !== 'readwrite')) return false
    }
    return true
  }

  /** Whether the span touches one of the profile's `forbiddenRanges` (addresses the firmware refuses to read). */
  forbids(table: Table, address: number, count: number): boolean {
    const last = address + count - 1
    return this.forbidden.some((r) => r.table === table && r.start <= last && r.end >= address)
  }

  /** Points overlapping the span, each once, in profile order. */
  pointsIn(table: Table, address: number, count: number): ResolvedPoint[] {
    const t = this.byTable.get(table)
    if (!t) return []
    const seen = new Set<ResolvedPoint>()
    for (let a = address; a < address + count; a++) for (const p of t.get(a) ?? []) seen.add(p)
    return [...seen]
  }
}
