/** Shared by the engine and store tests and by the kill -9 child: rules, a storm series, readings. */
import { SENSOR_KINDS, type SensorKind } from '../../../shared/profile/schema.ts'
import type { PointValue } from '../../../shared/mqtt/messages.ts'
import type { StoredReading } from '../../model.ts'
import type { Rule, RuleSet } from '../rules.ts'

export const MIN = 60_000
export const T0 = Date.UTC(2024, 6, 8, 0, 0)
export const SITE = 'dongcheng'

export const LEVEL_TREND: Rule = {
  id: 'level_m.trend',
  kind: 'trend',
  point: 'level_m',
  unit: 'm',
  direction: 'up',
  threshold: 0.5,
  windowS: 900,
  minPoints: 6,
  minConfidence: 0.8,
  horizonS: 1800,
}
export const LEVEL_ROAD: Rule = { id: 'level_m.threshold', kind: 'threshold', point: 'level_m', unit: 'm', levels: { hi: { value: 0.5 } }, deadband: 0.05 }
export const STALE: Rule = { id: 'stale', kind: 'stale', expectedIntervalS: 60, factor: 3, severity: 'major' }
export const COVER: Rule = { id: 'cover_open.state', kind: 'state', point: 'cover_open', states: [{ value: true, severity: 'critical' }] }

/** A rule set with only per-kind rules (layer 1), as `resolveRules` reads it. */
export function ruleSet(byKind: Partial<Record<SensorKind, Rule[]>>): RuleSet {
  const kinds = Object.fromEntries(SENSOR_KINDS.map((k) => [k, byKind[k] ?? []])) as Record<SensorKind, Rule[]>
  const defaults = Object.fromEntries(SENSOR_KINDS.map((k) => [k, []])) as unknown as Record<SensorKind, Rule[]>
  return { profiles: {}, kinds, defaults, overrides: [] }
}

export const RULES = ruleSet({ 'water-level': [LEVEL_TREND, LEVEL_ROAD], 'manhole-cover': [STALE, COVER] })

export function reading(gateway: string, device: string, kind: SensorKind, ts: number, values: Record<string, PointValue>, historical = false): StoredReading {
  return { site: SITE, gateway, device, kind, ts, values, errors: {}, historical, seq: 0 }
}

/**
 * Water on the road of an underpass (the storm scenario's shape, as in evaluate.test.ts):
 * dry 30 min, an S-shaped rise to 0.65 m over 70 min, draining over 90 min; ±5 mm noise;
 * one reading a minute for 240 min. `crossing` is the first minute at ≥ 0.5 m.
 */
export function storm(gateway = 'gw-up', device = 'wl-up-01', start = T0): { readings: StoredReading[]; crossing: number } {
  let x = 20130708 >>> 0
  const rnd = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    return (x / 2 ** 32 - 0.5) * 2 * 0.005
  }
  const readings: StoredReading[] = []
  let crossing = Number.NaN
  for (let m = 0; m <= 240; m++) {
    let v = 0
    if (m >= 30 && m < 100) v = (0.65 * (1 - Math.cos((Math.PI * (m - 30)) / 70))) / 2
    else if (m >= 100 && m < 190) v = (0.65 * (1 + Math.cos((Math.PI * (m - 100)) / 90))) / 2
    v = Math.max(0, v + (v > 0 ? rnd() : 0))
    const ts = start + m * MIN
    if (Number.isNaN(crossing) && v >= 0.5) crossing = ts
    readings.push(reading(gateway, device, 'water-level', ts, { level_m: Math.round(v * 1000) / 1000 }))
  }
  return { readings, crossing }
}
