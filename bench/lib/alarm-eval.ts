/**
 * Rule-evaluation cost, for `npm run bench -- alarms`: 10,000 water-level devices × 5 rules
 * (threshold with hi/hihi, rate of change, trend forecast, quality, stale), one reading a
 * minute each, through
 *   (a) the AlarmEngine (ours: evaluate + lifecycle + flood control + the SQLite commit of
 *       any transition, on a real state database),
 *   (b) the pure evaluator alone (`evaluate`, no lifecycle, no I/O),
 *   (c) the floor: one comparison per rule per reading (what a naive "if value > limit"
 *       alarm costs, with no windows, delays, forecasts or state),
 * and each rule kind on its own through (b), to show where the time goes.
 * CPU time of this process (process.cpuUsage), µs per reading.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AlarmEngine } from '../../cloud/alarms/engine.ts'
import { evaluate, type DeviceAlarmState } from '../../cloud/alarms/evaluate.ts'
import type { Rule } from '../../cloud/alarms/rules.ts'
import { ruleSet } from '../../cloud/alarms/test-support/fixtures.ts'
import type { StoredReading } from '../../cloud/model.ts'
import { openStateDb } from '../../cloud/state/db.ts'

export const RULES: Rule[] = [
  { id: 'level_m.threshold', kind: 'threshold', point: 'level_m', unit: 'm', levels: { hi: { value: 2.5 }, hihi: { value: 3.5 } }, deadband: 0.05 },
  { id: 'level_m.rate', kind: 'rate', point: 'level_m', direction: 'up', change: 0.5, windowS: 600, severity: 'major' },
  { id: 'level_m.trend', kind: 'trend', point: 'level_m', unit: 'm', direction: 'up', threshold: 2.5, windowS: 900, minPoints: 6, minConfidence: 0.8, horizonS: 1800 },
  { id: 'level_m.quality', kind: 'quality', point: 'level_m', forReadings: 3, severity: 'minor' },
  { id: 'stale', kind: 'stale', expectedIntervalS: 60, factor: 3, severity: 'major' },
]

export interface EvalFigures {
  devices: number
  readings: number
  /** µs of CPU per reading. */
  engine: number
  pure: number
  floor: number
  byKind: Record<string, number>
  transitions: number
}

/** Round r of device d: a level that drifts; every 50th device floods (rises through hi and back). */
function level(d: number, r: number, rounds: number): number {
  const base = 0.8 + 0.3 * Math.sin((d * 7 + r) / 9)
  if (d % 50 !== 0) return base
  const x = r / rounds
  return base + 3 * Math.sin(Math.PI * x) ** 2
}

function readings(devices: number, r: number, rounds: number, t0: number): StoredReading[] {
  const out: StoredReading[] = new Array(devices)
  for (let d = 0; d < devices; d++) {
    out[d] = { site: 's', gateway: `gw-${d % 100}`, device: `wl-${d}`, kind: 'water-level', ts: t0 + r * 60_000 + d, values: { level_m: level(d, r, rounds) }, errors: {}, historical: false, seq: r }
  }
  return out
}

function cpuUs(f: () => void): number {
  const a = process.cpuUsage()
  f()
  const b = process.cpuUsage(a)
  return b.user + b.system
}

export function measureEvaluation(devices = 10_000, rounds = 30): EvalFigures {
  const t0 = Date.UTC(2025, 6, 8)
  const batches = Array.from({ length: rounds }, (_, r) => readings(devices, r, rounds, t0))
  const total = devices * rounds

  // (a) the engine, fed as ingest feeds it: one call per store write (5,000 readings).
  const dir = mkdtempSync(join(tmpdir(), 'muni-bench-alarms-'))
  let transitions = 0
  let engineUs: number
  try {
    const db = openStateDb(join(dir, 'state.sqlite'))
    const engine = new AlarmEngine({ db, rules: ruleSet({ 'water-level': RULES }), now: () => t0 + rounds * 60_000 })
    engine.start()
    engineUs = cpuUs(() => {
      for (const b of batches) for (let i = 0; i < b.length; i += 5000) transitions += engine.onReadings(b.slice(i, i + 5000)).length
    })
    engine.stop()
    db.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  // (b) the pure evaluator with all five rules, and each kind alone.
  const pureWith = (rules: readonly Rule[]): number => {
    const states = new Map<string, DeviceAlarmState>()
    return cpuUs(() => {
      for (const b of batches) {
        for (const r of b) {
          const res = evaluate(states.get(r.device), r, rules)
          states.set(r.device, res.state)
        }
      }
    })
  }
  const pureUs = pureWith(RULES)
  const byKind: Record<string, number> = {}
  for (const rule of RULES) byKind[rule.kind] = pureWith([rule]) / total

  // (c) the floor: one comparison per rule per reading, no state.
  let hits = 0
  const floorUs = cpuUs(() => {
    for (const b of batches) {
      for (const r of b) {
        const v = r.values.level_m as number
        for (let k = 0; k < RULES.length; k++) if (v > 2.5) hits++
      }
    }
  })
  if (hits < 0) throw new Error('unreachable')
  return { devices, readings: total, engine: engineUs / total, pure: pureUs / total, floor: floorUs / total, byKind, transitions }
}
