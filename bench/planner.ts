/**
 * `npm run bench -- planner [--max-gap N] [--ms M]`
 *
 * The request planner over the sample district (simulators/districts/sample.yaml),
 * against the naive plan of one read per point (what thingsboard-gateway#406 and
 * telegraf#12222 complain about):
 *
 * (a) per profile and for the whole district, one full sweep (every point, both
 *     poll classes) and one fast sweep: reads, registers (and bits) on the wire,
 *     filler, and the ratio naive / planned;
 * (b) what that sweep costs on an RS-485 line at 9600 baud, 8E1 (11 bits per
 *     character): each read is an 8-byte request and a 5 + 2N byte answer
 *     (5 + ⌈N/8⌉ for bits), two t3.5 gaps, the profile's turnaroundMs, and its
 *     pauseBetweenRequestsMs between reads (rtu-timing.ts). An estimate from the
 *     wire formula, not a measurement;
 * (c) the planner's own cost, µs per plan, next to building the naive plan.
 *
 * Nothing here asserts; the numbers are for reading.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { renderTable } from '../edge/cli/table.ts'
import { planReads, planStats, type PlanOptions, type ReadRequest } from '../edge/polling/plan.ts'
import { loadProfiles } from '../edge/profiles/load.ts'
import { parseDistrict } from '../shared/district/parse.ts'
import { isBitTable, type ResolvedProfile } from '../shared/profile/resolve.ts'
import { transactionTimeMs } from '../shared/modbus/rtu-timing.ts'

const DISTRICT = fileURLToPath(new URL('../simulators/districts/sample.yaml', import.meta.url))
const BAUD = 9600

function arg(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name)
  if (i < 0) return fallback
  const v = Number(args[i + 1])
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} needs a non-negative number`)
  return v
}

/** One read per point, each exactly the point's span: the baseline. */
function naivePlan(profile: ResolvedProfile, opts: PlanOptions): ReadRequest[] {
  const cls = opts.pollClass ?? 'all'
  const fcOf = { coil: 1, discrete: 2, holding: 3, input: 4 } as const
  return profile.points
    .filter((p) => cls === 'all' || p.poll === cls)
    .map((p) => ({ table: p.table, start: p.address, count: p.registers, points: [p.name], fc: fcOf[p.table] }))
}

/** Wire time of a sweep on RTU at BAUD, ms (Modbus over Serial Line v1.02 §2.5.1.1). */
function rtuMs(plan: readonly ReadRequest[], profile: ResolvedProfile): number {
  let ms = 0
  for (const r of plan) {
    const responseBytes = 5 + (isBitTable(r.table) ? Math.ceil(r.count / 8) : 2 * r.count)
    ms += transactionTimeMs({ baud: BAUD, requestBytes: 8, responseBytes, turnaroundMs: profile.quirks.turnaroundMs })
  }
  return ms + Math.max(0, plan.length - 1) * profile.quirks.pauseBetweenRequestsMs
}

/** µs per call of `fn`, run for about `ms` after a warm-up. */
function usPer(fn: () => unknown, ms: number): number {
  for (let i = 0; i < 2000; i++) fn()
  let n = 0
  const t0 = performance.now()
  let t = t0
  while (t - t0 < ms) {
    for (let i = 0; i < 500; i++) fn()
    n += 500
    t = performance.now()
  }
  return ((t - t0) * 1000) / n
}

const f1 = (x: number): string => x.toFixed(1)
/** Registers, plus bits (coils/discrete inputs) when there are any. */
const regs = (words: number, bits: number): string => `${words}${bits ? ` + ${bits}b` : ''}`
const ratio = (naive: number, planned: number): string => (planned === 0 ? '-' : `${(naive / planned).toFixed(2)}×`)

interface Row {
  requests: number
  words: number
  bits: number
  filler: number
  naiveRequests: number
  naiveWords: number
  naiveBits: number
  rtu: number
  naiveRtu: number
}

function sweep(profile: ResolvedProfile, opts: PlanOptions): Row {
  const plan = planReads(profile, opts)
  const naive = naivePlan(profile, opts)
  const s = planStats(plan, profile)
  return {
    requests: s.requests,
    words: s.registers,
    bits: s.bits,
    filler: s.fillerRegisters + s.fillerBits,
    naiveRequests: s.naive.requests,
    naiveWords: s.naive.registers,
    naiveBits: s.naive.bits,
    rtu: rtuMs(plan, profile),
    naiveRtu: rtuMs(naive, profile),
  }
}

export default async function planner(args: string[]): Promise<void> {
  const maxGap = arg(args, '--max-gap', 10)
  const ms = arg(args, '--ms', 200)
  const lib = loadProfiles()
  if (lib.issues.length > 0) throw new Error(`profiles have issues: ${lib.issues.map((i) => `${i.file}:${i.line} ${i.reason}`).join('; ')}`)
  const parsed = parseDistrict(readFileSync(DISTRICT, 'utf8'), 'simulators/districts/sample.yaml', { profiles: lib.profiles })
  if (!parsed.district) throw new Error(`sample district has issues: ${parsed.issues.map((i) => `${i.line}:${i.column} ${i.reason}`).join('; ')}`)
  const devices = parsed.district.devices

  const counts = new Map<string, number>()
  for (const d of devices) counts.set(d.profile, (counts.get(d.profile) ?? 0) + 1)
  const ids = [...counts.keys()].sort()

  const out: string[] = []
  out.push(`request planner — ${devices.length} devices of ${ids.length} profiles in ${parsed.district.district.id}; maxGap ${maxGap}; RTU estimate as if every device sat on a ${BAUD}-baud RS-485 line, 11 bits/char, with its profile's turnaround and pause`)

  for (const pollClass of ['all', 'fast'] as const) {
    const rows: string[][] = []
    const tot = { devices: 0, points: 0, requests: 0, naiveRequests: 0, words: 0, naiveWords: 0, naiveBits: 0, bits: 0, filler: 0, rtu: 0, naiveRtu: 0 }
    for (const id of ids) {
      const profile = lib.profiles.get(id)
      if (!profile) throw new Error(`no profile ${id}`)
      const n = counts.get(id) ?? 0
      const r = sweep(profile, { maxGap, pollClass })
      rows.push([
        id,
        String(n),
        String(r.naiveRequests),
        String(r.requests),
        ratio(r.naiveRequests, r.requests),
        regs(r.naiveWords, r.naiveBits),
        regs(r.words, r.bits),
        String(r.filler),
        f1(r.naiveRtu),
        f1(r.rtu),
        ratio(r.naiveRtu, r.rtu),
      ])
      tot.devices += n
      tot.points += n * r.naiveRequests
      tot.requests += n * r.requests
      tot.naiveRequests += n * r.naiveRequests
      tot.words += n * r.words
      tot.naiveWords += n * r.naiveWords
      tot.naiveBits += n * r.naiveBits
      tot.bits += n * r.bits
      tot.filler += n * r.filler
      tot.rtu += n * r.rtu
      tot.naiveRtu += n * r.naiveRtu
    }
    rows.push([
      'district (× devices)',
      String(tot.devices),
      String(tot.naiveRequests),
      String(tot.requests),
      ratio(tot.naiveRequests, tot.requests),
      regs(tot.naiveWords, tot.naiveBits),
      regs(tot.words, tot.bits),
      String(tot.filler),
      f1(tot.naiveRtu),
      f1(tot.rtu),
      ratio(tot.naiveRtu, tot.rtu),
    ])
    out.push('', `(a, b) ${pollClass === 'all' ? 'full sweep (every point)' : 'fast sweep (poll: fast)'} — per device; the last row sums over every device`)
    out.push(
      renderTable(
        ['profile', 'devices', 'naive reads', 'planned reads', 'reads ratio', 'naive regs', 'planned regs', 'filler', 'naive RTU ms', 'planned RTU ms', 'RTU ratio'],
        rows,
      ),
    )
  }

  const costRows: string[][] = []
  let sumPlan = 0
  let sumNaive = 0
  for (const id of ids) {
    const profile = lib.profiles.get(id)!
    const plan = usPer(() => planReads(profile, { maxGap }), ms)
    const naive = usPer(() => naivePlan(profile, { maxGap }), ms)
    const n = counts.get(id) ?? 0
    sumPlan += n * plan
    sumNaive += n * naive
    costRows.push([id, String(profile.points.length), plan.toFixed(2), naive.toFixed(2), ratio(plan, naive)])
  }
  costRows.push(['district (× devices)', '', sumPlan.toFixed(2), sumNaive.toFixed(2), ratio(sumPlan, sumNaive)])
  out.push('', `(c) planner cost, full sweep, µs per plan (each timed ~${ms} ms after warm-up; plans are pure, so the engine can also cache them)`)
  out.push(renderTable(['profile', 'points', 'planReads µs', 'naive µs', 'planReads / naive'], costRows))
  process.stdout.write(`${out.join('\n')}\n`)
}
