/**
 * The request planner: which Modbus reads fetch a set of points in as few
 * requests as the device allows. Pure: the polling engine calls it, sends the
 * reads, and hands the answers to `decodeBlocks` as `{ table, start, data }`.
 *
 * Per table, the points' register spans are sorted by address; spans that
 * overlap (a status word and the bit points of the same register) become one
 * unit, so no register is asked for twice. Units are then merged greedily, left
 * to right: the next unit joins the open read when
 *
 * - the unrequested gap between them is at most `maxGap` registers (bits), the
 *   fill limit of Telegraf's `max_insert` optimiser;
 * - the gap holds no address of `quirks.forbiddenRanges` (a device answers such
 *   a read with exception 02, so a forbidden address is never filler);
 * - the read still spans at most `quirks.maxRegistersPerRequest` registers
 *   (`maxBitsPerRequest` bits), and never more than Modbus allows: 125 registers
 *   or 2000 bits (Modbus Application Protocol v1.1b3 §6.1–6.4);
 *
 * otherwise the read is closed and the unit opens the next one. With
 * `quirks.oneRequestPerField` every unit is its own read.
 *
 * Why greedy: the units of a table are disjoint and sorted, so the units one
 * read covers are always a consecutive run of them, and a plan is a partition
 * of the sorted units into runs. Whether a run can be one read (span, gaps,
 * forbidden addresses) only gets easier for a shorter run: every sub-run of a
 * feasible run is feasible. For such a predicate, extending each run as far as
 * it goes is optimal for the number of reads (exchange argument: by induction
 * the k-th greedy read ends at or after the k-th read of any other plan, so
 * greedy never needs more reads). It is O(n log n) for the sort, O(n) after.
 *
 * What it does not optimise:
 * - Filler. Among plans with the fewest reads, greedy packs to the left and may
 *   put a split where a smaller gap, not a larger one, is left unread: limit 3,
 *   registers 0, 2, 3 → greedy reads 0..2 + 3 (4 registers), 0 + 2..3 reads 3.
 *   A dynamic programme over the units, O(n²), would find the fewest registers
 *   among the fewest reads. On the shipped profiles it finds nothing better
 *   today (compared for every poll class at maxGap 0, 10, 30 and 100), so the
 *   simpler loop stays.
 * - The real cost. `maxGap` is a fixed knob, not a cost model. On RTU at
 *   9600 baud one more transaction (8-byte request, 5-byte answer header, two
 *   t3.5 gaps) costs as much as 10 registers of filler before the device's
 *   turnaround, 20–75 with the shipped profiles' 25–150 ms; on TCP a register
 *   of filler costs almost nothing. Tune `maxGap` per transport.
 * - Sharing across plans: a fast plan and a slow plan each read what they
 *   need, so a register both need is read by both. Plan `all` on the ticks
 *   where both classes are due.
 */
import { READ_FUNCTION } from '../../shared/modbus/client-pdu.ts'
import { LIMITS } from '../../shared/modbus/codes.ts'
import { isBitTable, type ResolvedPoint, type ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { Table } from '../../shared/profile/schema.ts'

/** Most registers one FC03/FC04 read may return (Modbus Application Protocol v1.1b3 §6.3, §6.4). */
export const MAX_READ_REGISTERS = LIMITS.readRegisters
/** Most bits one FC01/FC02 read may return (Modbus Application Protocol v1.1b3 §6.1, §6.2). */
export const MAX_READ_BITS = LIMITS.readBits
/** Default fill limit: registers (or bits) of filler read to save a request. */
export const DEFAULT_MAX_GAP = 10

/** Read function code of each table (Modbus Application Protocol v1.1b3 §6.1–6.4). */
export { READ_FUNCTION }

export interface PlanOptions {
  /**
   * Registers (bits, on coil/discrete tables) of unrequested filler allowed
   * between two points for them to share one read. Default {@link DEFAULT_MAX_GAP};
   * 0 merges only adjacent points.
   */
  maxGap?: number
  /** Which poll class to plan for; default `all`. */
  pollClass?: 'fast' | 'slow' | 'all'
  /** Plan only these points (by name); combined with `pollClass`. An unknown name throws. */
  points?: readonly string[]
}

/** One read request: FC `fc`, `count` registers (or bits) of `table` from protocol address `start`. */
export interface ReadRequest {
  table: Table
  /** 0-based protocol address of the first register (bit). */
  start: number
  /** Registers (bits) to read, 1..125 (1..2000). */
  count: number
  /** The selected points this read covers entirely, by address; each selected point is in exactly one read. */
  points: readonly string[]
  fc: 1 | 2 | 3 | 4
}

/** Points whose spans overlap (bits of a status word), read together: addresses `start..end` inclusive. */
interface Unit {
  start: number
  end: number
  points: ResolvedPoint[]
}

type ForbiddenRange = ResolvedProfile['quirks']['forbiddenRanges'][number]

/**
 * Plans the reads that fetch the selected points of `profile`, sorted by
 * function code (coil, discrete, holding, input) and then by address.
 *
 * Throws an Error for what a validated profile cannot contain: a point (or
 * group of overlapping points) wider than one read allows, or one that lies on
 * a forbidden address. Throws for an unknown point name or a bad `maxGap`.
 */
export function planReads(profile: ResolvedProfile, opts: PlanOptions = {}): ReadRequest[] {
  const maxGap = opts.maxGap ?? DEFAULT_MAX_GAP
  if (!Number.isInteger(maxGap) || maxGap < 0) throw new RangeError(`maxGap must be a non-negative integer, not ${maxGap}`)
  const selected = select(profile, opts)
  const byTable = new Map<Table, ResolvedPoint[]>()
  for (const p of selected) {
    const list = byTable.get(p.table)
    if (list) list.push(p)
    else byTable.set(p.table, [p])
  }
  const tables = [...byTable.keys()].sort((a, b) => READ_FUNCTION[a] - READ_FUNCTION[b])
  const out: ReadRequest[] = []
  for (const table of tables) {
    const points = byTable.get(table) ?? []
    const limit = readLimit(profile, table)
    const forbidden = profile.quirks.forbiddenRanges.filter((r) => r.table === table).sort((a, b) => a.start - b.start)
    const units = unitsOf(points)
    for (const u of units) checkUnit(profile, table, u, limit, forbidden)
    let open: Unit | undefined
    for (const u of units) {
      if (open && !profile.quirks.oneRequestPerField && canJoin(open, u, maxGap, limit.max, forbidden)) {
        open.end = u.end
        open.points.push(...u.points)
        continue
      }
      if (open) out.push(request(table, open))
      open = { start: u.start, end: u.end, points: [...u.points] }
    }
    if (open) out.push(request(table, open))
  }
  return out
}

function select(profile: ResolvedProfile, opts: PlanOptions): ResolvedPoint[] {
  const cls = opts.pollClass ?? 'all'
  let points = cls === 'all' ? [...profile.points] : profile.points.filter((p) => p.poll === cls)
  if (opts.points) {
    const wanted = new Set(opts.points)
    const known = new Set(profile.points.map((p) => p.name))
    const unknown = [...wanted].filter((n) => !known.has(n))
    if (unknown.length > 0) throw new Error(`${profile.id}: no point named ${unknown.map((n) => `"${n}"`).join(', ')}`)
    points = points.filter((p) => wanted.has(p.name))
  }
  return points
}

/** The span limit of one read of `table`: the device's quirk, capped at the protocol maximum. */
function readLimit(profile: ResolvedProfile, table: Table): { max: number; why: string } {
  const bits = isBitTable(table)
  const quirk = bits ? profile.quirks.maxBitsPerRequest : profile.quirks.maxRegistersPerRequest
  const protocol = bits ? MAX_READ_BITS : MAX_READ_REGISTERS
  return quirk < protocol
    ? { max: quirk, why: `quirks.${bits ? 'maxBitsPerRequest' : 'maxRegistersPerRequest'} is ${quirk}` }
    : { max: protocol, why: `Modbus allows ${protocol} per read` }
}

/** Sorts by address (profile order among equals, so the result is deterministic) and groups overlapping spans. */
function unitsOf(points: readonly ResolvedPoint[]): Unit[] {
  const sorted = [...points].sort((a, b) => a.address - b.address)
  const units: Unit[] = []
  for (const p of sorted) {
    const end = p.address + p.registers - 1
    const last = units.at(-1)
    if (last && p.address <= last.end) {
      last.end = Math.max(last.end, end)
      last.points.push(p)
    } else {
      units.push({ start: p.address, end, points: [p] })
    }
  }
  return units
}

function checkUnit(profile: ResolvedProfile, table: Table, u: Unit, limit: { max: number; why: string }, forbidden: readonly ForbiddenRange[]): void {
  const one = u.points.length === 1
  const what = one ? `point "${u.points[0]?.name}"` : `overlapping points ${u.points.map((p) => `"${p.name}"`).join(', ')}`
  const width = u.end - u.start + 1
  const unit = isBitTable(table) ? 'bits' : 'registers'
  if (width > limit.max) {
    throw new Error(`${profile.id}: ${what} ${one ? 'spans' : 'span'} ${width} ${unit} (${table} ${u.start}..${u.end}) but ${limit.why}, so no read can cover it`)
  }
  const hit = forbiddenIn(forbidden, u.start, u.end)
  if (hit) {
    throw new Error(`${profile.id}: ${what} at ${table} ${u.start}..${u.end} ${one ? 'touches' : 'touch'} the forbidden range ${table} ${hit.start}..${hit.end}, so no read can cover it`)
  }
}

function canJoin(open: Unit, next: Unit, maxGap: number, max: number, forbidden: readonly ForbiddenRange[]): boolean {
  const gap = next.start - open.end - 1
  if (gap > maxGap) return false
  if (next.end - open.start + 1 > max) return false
  return gap === 0 || forbiddenIn(forbidden, open.end + 1, next.start - 1) === undefined
}

/** The first forbidden range that shares an address with `from..to` (inclusive). */
function forbiddenIn(forbidden: readonly ForbiddenRange[], from: number, to: number): ForbiddenRange | undefined {
  return forbidden.find((r) => r.start <= to && r.end >= from)
}

function request(table: Table, u: Unit): ReadRequest {
  return { table, start: u.start, count: u.end - u.start + 1, points: u.points.map((p) => p.name), fc: READ_FUNCTION[table] }
}

/** What a plan costs, next to the naive plan of one read per point. */
export interface PlanStats {
  /** Reads in the plan. */
  requests: number
  /** Registers read from input/holding tables, filler included. */
  registers: number
  /** Bits read from coil/discrete tables, filler included. */
  bits: number
  /** Registers read that belong to no planned point. */
  fillerRegisters: number
  /** Bits read that belong to no planned point. */
  fillerBits: number
  /** Points the plan covers. */
  points: number
  /** One read per point, each reading exactly the point's span (registers shared by bit points read again). */
  naive: { requests: number; registers: number; bits: number }
}

/** Counts the reads, registers and filler of `plan`, made by {@link planReads} for `profile`. Throws for a name not in `profile`. */
export function planStats(plan: readonly ReadRequest[], profile: ResolvedProfile): PlanStats {
  const byName = new Map(profile.points.map((p) => [p.name, p]))
  const s: PlanStats = { requests: plan.length, registers: 0, bits: 0, fillerRegisters: 0, fillerBits: 0, points: 0, naive: { requests: 0, registers: 0, bits: 0 } }
  for (const r of plan) {
    const bits = isBitTable(r.table)
    let covered = 0
    let reach = r.start // first address not yet counted as covered
    const points = r.points.map((name) => {
      const p = byName.get(name)
      if (!p) throw new Error(`${profile.id}: the plan reads "${name}", which is not a point of the profile`)
      return p
    })
    for (const p of [...points].sort((a, b) => a.address - b.address)) {
      const end = Math.min(p.address + p.registers, r.start + r.count)
      if (end > reach) {
        covered += end - Math.max(reach, p.address)
        reach = end
      }
      if (bits) s.naive.bits += p.registers
      else s.naive.registers += p.registers
    }
    s.points += points.length
    if (bits) {
      s.bits += r.count
      s.fillerBits += r.count - covered
    } else {
      s.registers += r.count
      s.fillerRegisters += r.count - covered
    }
  }
  s.naive.requests = s.points
  return s
}
