import { describe, expect, it } from 'vitest'
import { decodeBlocks, type Block } from '../../shared/codec/index.ts'
import { parseProfile } from '../../shared/profile/parse.ts'
import type { ResolvedPoint } from '../../shared/profile/resolve.ts'
import { detectStuck, INITIAL_STUCK, type StuckState } from './stuck.ts'

const PROFILE = `id: t-stuck@1
kind: water-level
vendor: V
model: M
firmware: "1"
protocol: modbus
points:
  - { name: level_m, table: input, address: 0, type: uint16, scale: 0.001, range: { min: 0, max: 10 }, sentinels: [65535], stuck: { afterS: 60, except: [0] } }
  - { name: temp_c, table: input, address: 1, type: int16, scale: 0.1 }
  - { name: flow, table: input, address: 2, type: float32, stuck: { afterS: 60, except: [0.84] } }
`
const parsed = parseProfile(PROFILE, 't-stuck@1.yaml')
if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
const points: readonly ResolvedPoint[] = parsed.resolved.points

const F084 = [0x3f57, 0x0a3d] // 0.84 as float32, ABCD
const F1 = [0x3f80, 0x0000] // 1.0

/** One sweep: the registers of input 0..3 (undefined: the read failed) at sample time `s` seconds. */
interface Sweep {
  s: number
  words?: number[]
}

/** Runs sweeps through decode + detectStuck; returns each sweep's level_m/flow outcome as 'v:<value>' or 'e:<code>'. */
function run(sweeps: readonly Sweep[], point = 'level_m'): string[] {
  let state: StuckState = INITIAL_STUCK
  return sweeps.map(({ s, words }) => {
    const blocks: Block[] = words ? [{ table: 'input', start: 0, data: words }] : []
    const decoded = words ? decodeBlocks(points, blocks) : { values: {}, errors: { level_m: { code: 'timeout' as const }, temp_c: { code: 'timeout' as const }, flow: { code: 'timeout' as const } } }
    const out = detectStuck(state, points, blocks, decoded, s * 1000)
    state = out.state
    const e = out.errors[point]
    return e ? `e:${e.code}` : `v:${out.values[point]}`
  })
}

const lvl = (mm: number, temp = 200, flow = F1): number[] => [mm, temp, ...flow]

describe('detectStuck (table)', () => {
  const cases: { name: string; sweeps: Sweep[]; out: string[]; point?: string }[] = [
    {
      name: 'identical registers: a value up to afterS, then stuck',
      sweeps: [{ s: 0, words: lvl(840) }, { s: 30, words: lvl(840) }, { s: 60, words: lvl(840) }, { s: 61, words: lvl(840) }, { s: 90, words: lvl(840) }],
      out: ['v:0.84', 'v:0.84', 'v:0.84', 'e:stuck', 'e:stuck'],
    },
    {
      name: 'the first changed register clears it, and the timer starts over',
      sweeps: [{ s: 0, words: lvl(840) }, { s: 70, words: lvl(840) }, { s: 80, words: lvl(841) }, { s: 130, words: lvl(841) }, { s: 141, words: lvl(841) }],
      out: ['v:0.84', 'e:stuck', 'v:0.841', 'v:0.841', 'e:stuck'],
    },
    {
      name: 'a noisy sensor is never stuck, whatever the time',
      sweeps: Array.from({ length: 10 }, (_, i) => ({ s: i * 100, words: lvl(840 + (i % 2)) })),
      out: Array.from({ length: 10 }, (_, i) => `v:${(840 + (i % 2)) / 1000}`),
    },
    {
      name: 'an except value (0 m over a dry road) is never stuck',
      sweeps: [{ s: 0, words: lvl(0) }, { s: 3600, words: lvl(0) }, { s: 7200, words: lvl(0) }],
      out: ['v:0', 'v:0', 'v:0'],
    },
    {
      name: 'a sentinel stays a sentinel error, never stuck',
      sweeps: [{ s: 0, words: lvl(65535) }, { s: 100, words: lvl(65535) }],
      out: ['e:sentinel', 'e:sentinel'],
    },
    {
      name: 'failed reads leave the timer alone: the same registers after an outage are still stuck',
      sweeps: [{ s: 0, words: lvl(840) }, { s: 30 }, { s: 50 }, { s: 70, words: lvl(840) }],
      out: ['v:0.84', 'e:timeout', 'e:timeout', 'e:stuck'],
    },
    {
      name: 'a point without stuck in its profile is never stuck',
      point: 'temp_c',
      sweeps: [{ s: 0, words: lvl(840) }, { s: 1000, words: lvl(840) }],
      out: ['v:20', 'v:20'],
    },
    {
      name: 'float32: compares registers; except 0.84 matches the nearest float',
      point: 'flow',
      sweeps: [{ s: 0, words: lvl(1, 0, F1) }, { s: 61, words: lvl(2, 0, F1) }, { s: 62, words: lvl(2, 0, F084) }, { s: 200, words: lvl(3, 0, F084) }],
      out: ['v:1', 'e:stuck', `v:${Math.fround(0.84)}`, `v:${Math.fround(0.84)}`],
    },
    {
      name: 'a clock stepped backwards is not stuck',
      sweeps: [{ s: 100, words: lvl(840) }, { s: 0, words: lvl(840) }],
      out: ['v:0.84', 'v:0.84'],
    },
  ]
  for (const c of cases) it(c.name, () => expect(run(c.sweeps, c.point)).toEqual(c.out))
})

describe('detectStuck: the error', () => {
  it('carries the registers as raw and says how long, and leaves the other points alone', () => {
    const blocks: Block[] = [{ table: 'input', start: 0, data: lvl(840) }]
    const decoded = decodeBlocks(points, blocks)
    const first = detectStuck(INITIAL_STUCK, points, blocks, decoded, 0)
    const later = detectStuck(first.state, points, blocks, decoded, 125_000)
    expect(later.errors.level_m).toEqual({ code: 'stuck', raw: '0348', detail: '0.84 (registers 0348) unchanged for 125 s; the profile allows 60 s' })
    expect(later.values).toEqual({ temp_c: 20 }) // temp_c has no stuck; flow (1.0 throughout) is stuck too
    expect(later.errors.flow).toMatchObject({ code: 'stuck', raw: '3F80 0000' })
  })

  it('returns the same state object when nothing changed (no allocation per sweep)', () => {
    const blocks: Block[] = [{ table: 'input', start: 0, data: lvl(840) }]
    const decoded = decodeBlocks(points, blocks)
    const a = detectStuck(INITIAL_STUCK, points, blocks, decoded, 0)
    expect(detectStuck(a.state, points, blocks, decoded, 1000).state).toBe(a.state)
  })
})
