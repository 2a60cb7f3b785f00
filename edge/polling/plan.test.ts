import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeBlocks, type Block } from '../../shared/codec/index.ts'
import { parseProfile } from '../../shared/profile/parse.ts'
import { isBitTable, TYPE_REGISTERS, type ResolvedPoint, type ResolvedProfile, type ResolvedQuirks } from '../../shared/profile/resolve.ts'
import { TABLES, type PointType, type PollClass, type Table } from '../../shared/profile/schema.ts'
import { planReads, planStats, type PlanOptions, type ReadRequest } from './plan.ts'

// ---------------------------------------------------------------- fixtures

function point(name: string, address: number, type: PointType = 'uint16', over: Partial<ResolvedPoint> = {}): ResolvedPoint {
  return {
    name,
    table: type === 'bool' ? 'coil' : 'holding',
    address,
    registers: type === 'string' ? 1 : TYPE_REGISTERS[type],
    type,
    order: 'ABCD',
    scale: 1,
    offset: 0,
    access: 'read',
    sentinels: [],
    poll: 'fast',
    ...over,
  }
}
const bit = (name: string, address: number, n: number, over: Partial<ResolvedPoint> = {}): ResolvedPoint => point(name, address, 'bit', { bit: n, ...over })

function device(points: readonly ResolvedPoint[], quirks: Partial<ResolvedQuirks> = {}): ResolvedProfile {
  return {
    id: 'test-device@1',
    kind: 'water-level',
    vendor: 'Test',
    model: 'T1',
    firmware: '1',
    quirks: {
      maxRegistersPerRequest: 125,
      maxBitsPerRequest: 2000,
      oneRequestPerField: false,
      pauseBetweenRequestsMs: 0,
      turnaroundMs: 0,
      forbiddenRanges: [],
      ...quirks,
    },
    points,
  }
}

const FC: Record<Table, 1 | 2 | 3 | 4> = { coil: 1, discrete: 2, holding: 3, input: 4 }
/** A hand-written expected read. */
const rd = (table: Table, start: number, count: number, ...points: string[]): ReadRequest => ({ table, start, count, points, fc: FC[table] })
/** `n` uint16 points r0..r{n-1} at addresses `from`.. */
const words = (n: number, from = 0, over: Partial<ResolvedPoint> = {}): ResolvedPoint[] =>
  Array.from({ length: n }, (_, i) => point(`r${from + i}`, from + i, 'uint16', over))
const names = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `r${from + i}`)

// ---------------------------------------------------------------- table tests

describe('planReads', () => {
  const cases: { name: string; profile: ResolvedProfile; opts?: PlanOptions; want: ReadRequest[] }[] = [
    {
      name: 'contiguous points of mixed widths merge into one read',
      profile: device([point('a', 0), point('b', 1, 'float32'), point('c', 3, 'uint32'), point('d', 5, 'float64')]),
      want: [rd('holding', 0, 9, 'a', 'b', 'c', 'd')],
    },
    {
      name: 'points listed out of address order are read in address order',
      profile: device([point('c', 7), point('a', 5), point('b', 6)]),
      want: [rd('holding', 5, 3, 'a', 'b', 'c')],
    },
    {
      name: 'a gap of exactly maxGap (default 10) is filled',
      profile: device([point('a', 0), point('b', 11)]),
      want: [rd('holding', 0, 12, 'a', 'b')],
    },
    {
      name: 'a gap of maxGap + 1 splits',
      profile: device([point('a', 0), point('b', 12)]),
      want: [rd('holding', 0, 1, 'a'), rd('holding', 12, 1, 'b')],
    },
    {
      name: 'maxGap 0 merges only adjacent points',
      profile: device([point('a', 0), point('b', 1), point('c', 3, 'float32')]),
      opts: { maxGap: 0 },
      want: [rd('holding', 0, 2, 'a', 'b'), rd('holding', 3, 2, 'c')],
    },
    {
      name: 'a larger maxGap bridges a larger gap',
      profile: device([point('a', 0), point('b', 50, 'float32')]),
      opts: { maxGap: 49 },
      want: [rd('holding', 0, 52, 'a', 'b')],
    },
    {
      name: 'a 16-register device: 20 contiguous registers take 16 + 4',
      profile: device(words(20), { maxRegistersPerRequest: 16 }),
      want: [rd('holding', 0, 16, ...names(0, 15)), rd('holding', 16, 4, ...names(16, 19))],
    },
    {
      name: 'a point is never split across reads: float32s on a 15-register device take 14 + 4',
      profile: device([0, 2, 4, 6, 8, 10, 12, 14, 16].map((a) => point(`f${a}`, a, 'float32')), { maxRegistersPerRequest: 15 }),
      want: [rd('holding', 0, 14, 'f0', 'f2', 'f4', 'f6', 'f8', 'f10', 'f12'), rd('holding', 14, 4, 'f14', 'f16')],
    },
    {
      name: 'the protocol maximum applies without a quirk: 130 registers take 125 + 5',
      profile: device(words(130)),
      want: [rd('holding', 0, 125, ...names(0, 124)), rd('holding', 125, 5, ...names(125, 129))],
    },
    {
      name: 'a fillable gap is not filled when the span would pass the limit',
      profile: device([point('a', 0), point('b', 10), point('c', 14)], { maxRegistersPerRequest: 12 }),
      want: [rd('holding', 0, 11, 'a', 'b'), rd('holding', 14, 1, 'c')],
    },
    {
      name: 'a forbidden range inside a fillable gap forces a split (VitaFlow PG7 layout)',
      profile: device([point('pressure', 100, 'float32'), point('status', 103), point('avg', 110, 'float32')], {
        forbiddenRanges: [{ table: 'holding', start: 104, end: 109 }],
      }),
      want: [rd('holding', 100, 4, 'pressure', 'status'), rd('holding', 110, 2, 'avg')],
    },
    {
      name: 'a forbidden register right after a point splits even a one-register gap',
      profile: device([point('a', 0, 'float32'), point('b', 3)], { forbiddenRanges: [{ table: 'holding', start: 2, end: 2 }] }),
      want: [rd('holding', 0, 2, 'a'), rd('holding', 3, 1, 'b')],
    },
    {
      name: 'a forbidden register right before the next point splits too',
      profile: device([point('a', 0), point('b', 5)], { forbiddenRanges: [{ table: 'holding', start: 4, end: 4 }] }),
      want: [rd('holding', 0, 1, 'a'), rd('holding', 5, 1, 'b')],
    },
    {
      name: 'a forbidden range outside every gap, or in another table, changes nothing',
      profile: device([point('a', 0), point('b', 5)], {
        forbiddenRanges: [
          { table: 'holding', start: 6, end: 20 },
          { table: 'input', start: 1, end: 4 },
        ],
      }),
      want: [rd('holding', 0, 6, 'a', 'b')],
    },
    {
      name: 'oneRequestPerField: one read per point, even for contiguous points',
      profile: device([point('a', 0), point('b', 1, 'float32'), point('c', 3)], { oneRequestPerField: true }),
      want: [rd('holding', 0, 1, 'a'), rd('holding', 1, 2, 'b'), rd('holding', 3, 1, 'c')],
    },
    {
      name: 'oneRequestPerField still reads a status word and its bits once',
      profile: device([point('status', 4), bit('over', 4, 0), bit('under', 4, 1), point('next', 5)], { oneRequestPerField: true }),
      want: [rd('holding', 4, 1, 'status', 'over', 'under'), rd('holding', 5, 1, 'next')],
    },
    {
      name: 'a status word and its bit points are one register in one read',
      profile: device([point('status', 3, 'uint16', { table: 'input' }), bit('no_echo', 3, 0, { table: 'input' }), bit('blocking', 3, 4, { table: 'input' })]),
      want: [rd('input', 3, 1, 'status', 'no_echo', 'blocking')],
    },
    {
      name: 'bit points of one register without a status word: still one register',
      profile: device([bit('x', 9, 15), bit('y', 9, 0)]),
      want: [rd('holding', 9, 1, 'x', 'y')],
    },
    {
      name: 'a status word between other registers merges with them',
      profile: device([point('level', 0, 'float32'), point('status', 2), bit('lost', 2, 0), bit('fault', 2, 1), point('battery', 3)]),
      want: [rd('holding', 0, 4, 'level', 'status', 'lost', 'fault', 'battery')],
    },
    {
      name: 'coils are read with FC01 and discrete inputs with FC02, gaps counted in bits',
      profile: device([
        point('c0', 0, 'bool'),
        point('c9', 9, 'bool'),
        point('d0', 0, 'bool', { table: 'discrete' }),
        point('d20', 20, 'bool', { table: 'discrete' }),
      ]),
      want: [rd('coil', 0, 10, 'c0', 'c9'), rd('discrete', 0, 1, 'd0'), rd('discrete', 20, 1, 'd20')],
    },
    {
      name: 'bit tables read up to 2000 bits at once',
      profile: device([point('first', 0, 'bool'), point('mid', 1000, 'bool'), point('last', 1999, 'bool'), point('beyond', 2000, 'bool')]),
      opts: { maxGap: 1000 },
      want: [rd('coil', 0, 2000, 'first', 'mid', 'last'), rd('coil', 2000, 1, 'beyond')],
    },
    {
      name: 'a device answering 8 discrete inputs per read (StreetSense LS30): 10 inputs take 8 + 2',
      profile: device(
        Array.from({ length: 10 }, (_, i) => point(`d${i}`, i, 'bool', { table: 'discrete' })),
        { maxBitsPerRequest: 8 },
      ),
      want: [rd('discrete', 0, 8, 'd0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7'), rd('discrete', 8, 2, 'd8', 'd9')],
    },
    {
      name: 'maxRegistersPerRequest does not limit bit reads, nor maxBitsPerRequest register reads',
      profile: device([...words(4), ...Array.from({ length: 4 }, (_, i) => point(`c${i}`, i, 'bool'))], { maxRegistersPerRequest: 2, maxBitsPerRequest: 3 }),
      want: [rd('coil', 0, 3, 'c0', 'c1', 'c2'), rd('coil', 3, 1, 'c3'), rd('holding', 0, 2, 'r0', 'r1'), rd('holding', 2, 2, 'r2', 'r3')],
    },
    {
      name: 'tables come out in function-code order: coil, discrete, holding, input',
      profile: device([
        point('i', 0, 'uint16', { table: 'input' }),
        point('h', 0),
        point('d', 0, 'bool', { table: 'discrete' }),
        point('c', 0, 'bool'),
      ]),
      want: [rd('coil', 0, 1, 'c'), rd('discrete', 0, 1, 'd'), rd('holding', 0, 1, 'h'), rd('input', 0, 1, 'i')],
    },
    {
      name: 'pollClass fast: slow points are left out and their registers are not filled in for nothing',
      profile: device([point('level', 0), point('battery', 1, 'uint16', { poll: 'slow' }), point('flow', 2), point('setting', 40, 'uint16', { poll: 'slow' })]),
      opts: { pollClass: 'fast' },
      want: [rd('holding', 0, 3, 'level', 'flow')],
    },
    {
      name: 'pollClass slow',
      profile: device([point('level', 0), point('battery', 1, 'uint16', { poll: 'slow' }), point('flow', 2), point('setting', 40, 'uint16', { poll: 'slow' })]),
      opts: { pollClass: 'slow' },
      want: [rd('holding', 1, 1, 'battery'), rd('holding', 40, 1, 'setting')],
    },
    {
      name: 'pollClass all (the default) reads both classes',
      profile: device([point('level', 0), point('battery', 1, 'uint16', { poll: 'slow' }), point('flow', 2), point('setting', 40, 'uint16', { poll: 'slow' })]),
      want: [rd('holding', 0, 3, 'level', 'battery', 'flow'), rd('holding', 40, 1, 'setting')],
    },
    {
      name: 'a fast bit of a status word is read without its slow siblings',
      profile: device([point('status', 4), bit('fault', 4, 2), bit('battery_low', 4, 3, { poll: 'slow' })]),
      opts: { pollClass: 'fast' },
      want: [rd('holding', 4, 1, 'status', 'fault')],
    },
    {
      name: 'points restricts the plan to the named points (and combines with pollClass)',
      profile: device([point('a', 0), point('b', 1), point('c', 2, 'uint16', { poll: 'slow' }), point('d', 30)]),
      opts: { points: ['d', 'c', 'a'], pollClass: 'fast' },
      want: [rd('holding', 0, 1, 'a'), rd('holding', 30, 1, 'd')],
    },
    {
      name: 'an empty selection plans nothing',
      profile: device([point('a', 0)]),
      opts: { points: [] },
      want: [],
    },
  ]

  it.each(cases)('$name', ({ profile, opts, want }) => {
    expect(planReads(profile, opts)).toEqual(want)
  })

  it('gives the same reads whatever order the profile lists its points in', () => {
    const pts = [point('a', 0), point('b', 1, 'float32'), point('c', 20), point('d', 5, 'bool'), point('e', 0, 'bool')]
    const reads = (p: ResolvedPoint[]): unknown => planReads(device(p)).map(({ table, start, count }) => ({ table, start, count }))
    expect(reads([...pts].reverse())).toEqual(reads(pts))
  })

  describe('refuses what no read can cover', () => {
    it('a point wider than the device allows', () => {
      const p = device([point('serial', 10, 'string', { registers: 20 })], { maxRegistersPerRequest: 16 })
      expect(() => planReads(p)).toThrow(
        'test-device@1: point "serial" spans 20 registers (holding 10..29) but quirks.maxRegistersPerRequest is 16, so no read can cover it',
      )
    })

    it('a point wider than Modbus allows', () => {
      const p = device([point('blob', 0, 'string', { registers: 126 })])
      expect(() => planReads(p)).toThrow('point "blob" spans 126 registers (holding 0..125) but Modbus allows 125 per read')
    })

    it('a point on a forbidden address', () => {
      const p = device([point('x', 104, 'float32')], { forbiddenRanges: [{ table: 'holding', start: 105, end: 109 }] })
      expect(() => planReads(p)).toThrow('point "x" at holding 104..105 touches the forbidden range holding 105..109')
    })

    it('an unknown point name', () => {
      expect(() => planReads(device([point('a', 0)]), { points: ['a', 'nope'] })).toThrow('test-device@1: no point named "nope"')
    })

    it.each([-1, 1.5, Number.NaN])('maxGap %s', (maxGap) => {
      expect(() => planReads(device([point('a', 0)]), { maxGap })).toThrow(RangeError)
    })
  })
})

describe('planStats', () => {
  it('counts reads, registers, bits and filler against one read per point', () => {
    // holding 0..3 = 4 registers, register 1 filler; holding 20..21 = 2 registers;
    // coils 0..4 = 5 bits, 1..3 filler. Naive: 8 reads, 1+1+1+1+1+2 registers, 2 bits.
    const profile = device([
      point('a', 0),
      point('status', 2),
      bit('x', 2, 0),
      bit('y', 2, 1),
      point('b', 3),
      point('f', 20, 'float32'),
      point('c0', 0, 'bool'),
      point('c4', 4, 'bool'),
    ])
    const plan = planReads(profile)
    expect(plan).toEqual([rd('coil', 0, 5, 'c0', 'c4'), rd('holding', 0, 4, 'a', 'status', 'x', 'y', 'b'), rd('holding', 20, 2, 'f')])
    expect(planStats(plan, profile)).toEqual({
      requests: 3,
      registers: 6,
      bits: 5,
      fillerRegisters: 1,
      fillerBits: 3,
      points: 8,
      naive: { requests: 8, registers: 7, bits: 2 },
    })
  })

  it('refuses a plan naming a point the profile does not have', () => {
    expect(() => planStats([rd('holding', 0, 1, 'ghost')], device([point('a', 0)]))).toThrow('"ghost"')
  })
})

// ---------------------------------------------------------------- invariants

interface Limits {
  profile: ResolvedProfile
  opts: PlanOptions
}

/** The selected points, computed here without the planner. */
function selectedPoints({ profile, opts }: Limits): ResolvedPoint[] {
  const cls = opts.pollClass ?? 'all'
  return profile.points.filter((p) => (cls === 'all' || p.poll === cls) && (!opts.points || opts.points.includes(p.name)))
}

/** Every invariant a plan must keep, whatever the layout. */
function expectSound(plan: readonly ReadRequest[], c: Limits): void {
  const { profile } = c
  const selected = selectedPoints(c)
  // every selected point: in exactly one read, which holds it entirely; nothing else is listed
  for (const p of selected) {
    const holders = plan.filter((r) => r.points.includes(p.name))
    expect(holders, p.name).toHaveLength(1)
    const r = holders[0]!
    expect(r.table, p.name).toBe(p.table)
    expect(r.start, p.name).toBeLessThanOrEqual(p.address)
    expect(p.address + p.registers, p.name).toBeLessThanOrEqual(r.start + r.count)
  }
  expect(plan.reduce((n, r) => n + r.points.length, 0)).toBe(selected.length)
  // never more reads than the naive one-per-point plan
  expect(plan.length).toBeLessThanOrEqual(selected.length)
  plan.forEach((r, i) => {
    const bits = isBitTable(r.table)
    const max = Math.min(bits ? profile.quirks.maxBitsPerRequest : profile.quirks.maxRegistersPerRequest, bits ? 2000 : 125)
    expect(r.fc).toBe(FC[r.table])
    expect(r.count).toBeGreaterThanOrEqual(1)
    expect(r.count).toBeLessThanOrEqual(max)
    expect(r.start + r.count - 1).toBeLessThanOrEqual(0xffff)
    for (const f of profile.quirks.forbiddenRanges) {
      if (f.table !== r.table) continue
      expect(f.end < r.start || f.start > r.start + r.count - 1, `read ${r.table} ${r.start}+${r.count} touches forbidden ${f.start}..${f.end}`).toBe(true)
    }
    // sorted by function code, then address, and no register read twice
    const prev = plan[i - 1]
    if (prev) {
      expect(prev.fc <= r.fc).toBe(true)
      if (prev.fc === r.fc) expect(prev.start + prev.count).toBeLessThanOrEqual(r.start)
    }
  })
}

/** Deterministic register/bit content: not all zeros, so that word order and offsets matter. */
function content(table: Table, address: number): number {
  if (isBitTable(table)) return address % 3 === 0 ? 1 : 0
  return (address * 40503 + 0x1234 + table.length * 977) & 0xffff
}
const blockOf = (table: Table, start: number, count: number): Block => ({ table, start, data: Array.from({ length: count }, (_, i) => content(table, start + i)) })

/** Decoding the planned blocks gives every selected point, exactly as a read of that point alone would. */
function expectDecodes(plan: readonly ReadRequest[], c: Limits): void {
  const selected = selectedPoints(c)
  const merged = decodeBlocks(selected, plan.map((r) => blockOf(r.table, r.start, r.count)))
  const alone = decodeBlocks(selected, selected.map((p) => blockOf(p.table, p.address, p.registers)))
  expect(merged).toEqual(alone)
  expect([...Object.keys(merged.values), ...Object.keys(merged.errors)].sort()).toEqual(selected.map((p) => p.name).sort())
}

// ---------------------------------------------------------------- shipped profiles

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const shipped: ResolvedProfile[] = readdirSync(join(ROOT, 'firmware-profiles'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => {
    const r = parseProfile(readFileSync(join(ROOT, 'firmware-profiles', f), 'utf8'), `firmware-profiles/${f}`)
    if (!r.ok) throw new Error(`${f} does not parse`)
    return r.resolved
  })
const byId = (id: string): ResolvedProfile => {
  const p = shipped.find((x) => x.id === id)
  if (!p) throw new Error(`no shipped profile ${id}`)
  return p
}

describe('planReads on the shipped profiles', () => {
  it('finds them all', () => {
    expect(shipped.length).toBeGreaterThanOrEqual(7)
  })

  const combos = shipped.flatMap((profile) =>
    (['all', 'fast', 'slow'] as const).flatMap((pollClass) => [0, 10, 100].map((maxGap) => ({ id: profile.id, profile, opts: { pollClass, maxGap } }))),
  )

  it.each(combos)('$id $opts.pollClass maxGap $opts.maxGap: every point read once, within limits, off forbidden addresses', (c) => {
    expectSound(planReads(c.profile, c.opts), c)
  })

  it.each(combos)('$id $opts.pollClass maxGap $opts.maxGap: the planned blocks decode every point', (c) => {
    expectDecodes(planReads(c.profile, c.opts), c)
  })

  // Expected reads written from the YAML files by hand.
  it('vitaflow-pg7@1.0.3: reserved 104..109 splits the holding block; 200 is too far; the coil alone', () => {
    expect(planReads(byId('vitaflow-pg7@1.0.3'))).toEqual([
      rd('coil', 0, 1, 'logging_enabled'),
      rd('holding', 100, 4, 'pressure_bar', 'temperature_c', 'status', 'over_range', 'sensor_open_circuit', 'logger_full', 'chamber_flooded'),
      rd('holding', 110, 4, 'pressure_avg_bar', 'battery_pct', 'rssi_dbm'),
      rd('holding', 200, 1, 'sample_interval_s'),
    ])
  })

  it('cividrain-mc200@2.1 fast: the status word, tilt, counters in one read; the two discrete inputs in one', () => {
    expect(planReads(byId('cividrain-mc200@2.1'), { pollClass: 'fast' })).toEqual([
      rd('discrete', 0, 2, 'lid_switch', 'water_probe'),
      rd('input', 10, 6, 'status', 'cover_open', 'cover_displaced', 'water_in_well', 'tamper', 'sensor_fault', 'tilt_deg', 'impact_count', 'peak_impact_g'),
    ])
  })

  it('cividrain-mc200@2.1 all: the model code stops before reserved 30005..30010', () => {
    expect(planReads(byId('cividrain-mc200@2.1')).map(({ table, start, count }) => [table, start, count])).toEqual([
      ['discrete', 0, 2],
      ['input', 0, 4],
      ['input', 10, 14],
    ])
  })

  it('presstek-ptx40@5.2: three register groups too far apart to bridge', () => {
    expect(planReads(byId('presstek-ptx40@5.2')).map(({ table, start, count }) => [table, start, count])).toEqual([
      ['input', 0, 5],
      ['input', 32, 4],
      ['input', 64, 2],
    ])
  })

  it('aquameter-us12@1.7: eight registers, exactly one 8-register read', () => {
    expect(planReads(byId('aquameter-us12@1.7')).map(({ table, start, count }) => [table, start, count])).toEqual([['input', 0, 8]])
  })

  it('cividrain-mc200@1.4 with oneRequestPerField forced: one read per register, the status word once', () => {
    const p = byId('cividrain-mc200@1.4')
    const forced: ResolvedProfile = { ...p, quirks: { ...p.quirks, oneRequestPerField: true } }
    expect(planReads(forced).map(({ table, start, count }) => [table, start, count])).toEqual([
      ['holding', 0, 1],
      ['input', 0, 1],
      ['input', 1, 1],
      ['input', 2, 1],
      ['input', 3, 1],
      ['input', 4, 1],
      ['input', 5, 1],
    ])
  })
})

// ---------------------------------------------------------------- properties

type Kind = 'uint16' | 'float32' | 'float64' | 'string' | 'status' | 'bits'
interface Item {
  table: Table
  gap: number
  kind: Kind
  stringRegisters: number
  bits: number[]
  poll: PollClass
  /** A forbidden range inside the gap before the item, as fractions of the gap. */
  forbid: [number, number] | null
}

const itemArb: fc.Arbitrary<Item> = fc.record({
  table: fc.constantFrom(...TABLES),
  gap: fc.integer({ min: 0, max: 30 }),
  kind: fc.constantFrom<Kind>('uint16', 'float32', 'float64', 'string', 'status', 'bits'),
  stringRegisters: fc.integer({ min: 1, max: 125 }),
  bits: fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 4 }),
  poll: fc.constantFrom<PollClass>('fast', 'slow'),
  forbid: fc.option(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), { nil: null }),
})

interface Layout {
  items: Item[]
  origin: number
  maxRegistersPerRequest: number
  maxBitsPerRequest: number
  oneRequestPerField: boolean
  maxGap: number
  pollClass: 'fast' | 'slow' | 'all'
}

const layoutArb: fc.Arbitrary<Layout> = fc.record({
  items: fc.array(itemArb, { maxLength: 40 }),
  origin: fc.integer({ min: 0, max: 1000 }),
  maxRegistersPerRequest: fc.oneof(fc.constant(125), fc.integer({ min: 1, max: 125 })),
  maxBitsPerRequest: fc.oneof(fc.constant(2000), fc.integer({ min: 1, max: 2000 })),
  oneRequestPerField: fc.boolean(),
  maxGap: fc.integer({ min: 0, max: 40 }),
  pollClass: fc.constantFrom<'fast' | 'slow' | 'all'>('fast', 'slow', 'all'),
})

/** Lays the items out one after another per table: a valid profile (no overlaps but bits of a word, nothing forbidden under a point). */
function build(l: Layout): Limits {
  const cursor = new Map<Table, number>(TABLES.map((t) => [t, l.origin]))
  const points: ResolvedPoint[] = []
  const forbiddenRanges: { table: Table; start: number; end: number }[] = []
  l.items.forEach((it, k) => {
    const from = cursor.get(it.table) ?? 0
    const address = from + it.gap
    if (it.forbid && it.gap > 0) {
      const [a, b] = [Math.min(...it.forbid), Math.max(...it.forbid)].map((x) => from + Math.min(it.gap - 1, Math.floor(x * it.gap))) as [number, number]
      forbiddenRanges.push({ table: it.table, start: a, end: b })
    }
    const over = { table: it.table, poll: it.poll }
    let width = 1
    if (isBitTable(it.table)) {
      points.push(point(`p${k}`, address, 'bool', over))
    } else if (it.kind === 'status' || it.kind === 'bits') {
      if (it.kind === 'status') points.push(point(`p${k}`, address, 'uint16', over))
      it.bits.forEach((b, j) => points.push(bit(`p${k}b${j}`, address, b, { ...over, poll: j % 2 === 0 ? it.poll : 'fast' })))
    } else {
      let type: PointType = it.kind
      width = it.kind === 'string' ? it.stringRegisters : TYPE_REGISTERS[it.kind]
      // A valid profile has no point wider than the device reads (layout.ts); shrink to one register.
      if (width > l.maxRegistersPerRequest) [type, width] = [it.kind === 'string' ? 'string' : 'uint16', it.kind === 'string' ? l.maxRegistersPerRequest : 1]
      points.push(point(`p${k}`, address, type, type === 'string' ? { ...over, registers: width } : over))
    }
    cursor.set(it.table, address + width)
  })
  const profile = device(points, {
    maxRegistersPerRequest: l.maxRegistersPerRequest,
    maxBitsPerRequest: l.maxBitsPerRequest,
    oneRequestPerField: l.oneRequestPerField,
    forbiddenRanges,
  })
  return { profile, opts: { maxGap: l.maxGap, pollClass: l.pollClass } }
}

/**
 * The fewest reads any plan can make, by dynamic programming over the distinct
 * register spans of each table: dp[j] = min over feasible runs i..j of dp[i] + 1.
 * Independent of the planner's greedy loop; checks its optimality claim.
 */
function fewestReads(c: Limits): number {
  const { profile, opts } = c
  const maxGap = opts.maxGap ?? 10
  let total = 0
  for (const table of TABLES) {
    const spans = [...new Map(selectedPoints(c).filter((p) => p.table === table).map((p) => [p.address, p.address + p.registers - 1])).entries()].sort((a, b) => a[0] - b[0])
    const bits = isBitTable(table)
    const max = bits ? profile.quirks.maxBitsPerRequest : profile.quirks.maxRegistersPerRequest
    const forbidden = profile.quirks.forbiddenRanges.filter((f) => f.table === table)
    const feasible = (i: number, j: number): boolean => {
      const start = spans[i]![0]
      const end = spans[j]![1]
      if (end - start + 1 > max) return false
      for (let k = i + 1; k <= j; k++) if (spans[k]![0] - spans[k - 1]![1] - 1 > maxGap) return false
      return forbidden.every((f) => f.end < start || f.start > end)
    }
    const dp = [0]
    for (let j = 0; j < spans.length; j++) {
      let best = Infinity
      for (let i = 0; i <= j; i++) if (feasible(i, j)) best = Math.min(best, dp[i]! + 1)
      dp.push(best)
    }
    total += dp[spans.length]!
  }
  return total
}

describe('planReads properties (random layouts)', () => {
  it('every selected point in exactly one read that holds it; limits, forbidden ranges and order kept; never more than one read per point', () => {
    fc.assert(
      fc.property(layoutArb, (l) => {
        const c = build(l)
        expectSound(planReads(c.profile, c.opts), c)
      }),
      { numRuns: 300 },
    )
  })

  it('the planned blocks decode every selected point as reading it alone would', () => {
    fc.assert(
      fc.property(layoutArb, (l) => {
        const c = build(l)
        expectDecodes(planReads(c.profile, c.opts), c)
      }),
      { numRuns: 150 },
    )
  })

  it('makes the fewest reads possible (greedy equals an exhaustive dynamic programme)', () => {
    fc.assert(
      fc.property(layoutArb, (l) => {
        const c = build({ ...l, oneRequestPerField: false })
        expect(planReads(c.profile, c.opts)).toHaveLength(fewestReads(c))
      }),
      { numRuns: 300 },
    )
  })

  it('with oneRequestPerField, makes one read per distinct register (bits of a word share it)', () => {
    fc.assert(
      fc.property(layoutArb, (l) => {
        const c = build({ ...l, oneRequestPerField: true })
        const distinct = new Set(selectedPoints(c).map((p) => `${p.table}:${p.address}`))
        expect(planReads(c.profile, c.opts)).toHaveLength(distinct.size)
      }),
      { numRuns: 200 },
    )
  })

  it('planStats: filler is what the reads hold beyond the points, and the naive plan is one read per point', () => {
    fc.assert(
      fc.property(layoutArb, (l) => {
        const c = build(l)
        const plan = planReads(c.profile, c.opts)
        const s = planStats(plan, c.profile)
        const selected = selectedPoints(c)
        const used = (bits: boolean): number => new Set(selected.filter((p) => isBitTable(p.table) === bits).flatMap((p) => Array.from({ length: p.registers }, (_, i) => `${p.table}:${p.address + i}`))).size
        expect(s.requests).toBe(plan.length)
        expect(s.points).toBe(selected.length)
        expect(s.naive.requests).toBe(selected.length)
        expect(s.registers - s.fillerRegisters).toBe(used(false))
        expect(s.bits - s.fillerBits).toBe(used(true))
        expect(s.naive.registers).toBe(selected.filter((p) => !isBitTable(p.table)).reduce((n, p) => n + p.registers, 0))
      }),
      { numRuns: 200 },
    )
  })
})
