import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { PointValue } from '../../shared/mqtt/messages.ts'
import type { PointError } from '../../shared/quality.ts'
import type { StoredReading } from '../model.ts'
import { evaluate, forecast, MAX_TREND_SAMPLES, MAX_WINDOW_SAMPLES, tick, type AlarmEvent, type DeviceAlarmState } from './evaluate.ts'
import type { QualityRule, RateRule, Rule, StaleRule, StateRule, ThresholdRule, TrendRule } from './rules.ts'

const MIN = 60_000
const T0 = Date.UTC(2024, 4, 14, 6, 30)

function reading(ts: number, values: Record<string, PointValue>, errors: Record<string, PointError> = {}, historical = false): StoredReading {
  return { site: 'dongcheng', gateway: 'gw-1', device: 'dev-1', kind: 'water-level', ts, values, errors, historical, seq: 0 }
}

type Step = StoredReading | { tick: number }

/** Runs a timeline of readings and ticks; returns every event and the final state. */
function run(rules: readonly Rule[], steps: readonly Step[], state?: DeviceAlarmState): { events: AlarmEvent[]; state: DeviceAlarmState | undefined } {
  const events: AlarmEvent[] = []
  let s = state
  for (const st of steps) {
    if ('tick' in st) {
      if (!s) continue
      const r = tick(s, st.tick, rules)
      s = r.state
      events.push(...r.events)
    } else {
      const r = evaluate(s, st, rules)
      s = r.state
      events.push(...r.events)
    }
  }
  return { events, state: s }
}

/** `type severity @seconds-from-T0` — compact enough for tables. */
function brief(events: readonly AlarmEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.rule} ${e.severity} @${(e.ts - T0) / 1000}`)
}

/** The same series at `stepS` intervals from T0, as readings of one point. */
function series(point: string, values: readonly number[], stepS = 60, start = T0): StoredReading[] {
  return values.map((v, i) => reading(start + i * stepS * 1000, { [point]: v }))
}

/** Deterministic noise: a small LCG, uniform in [-a, a]. */
function noise(seed: number, a: number): () => number {
  let x = seed >>> 0
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    return (x / 2 ** 32 - 0.5) * 2 * a
  }
}

const level: ThresholdRule = {
  id: 'level_m.threshold',
  kind: 'threshold',
  point: 'level_m',
  unit: 'm',
  levels: { hi: { value: 2.5 }, hihi: { value: 3.2 } },
  deadband: 0.05,
}

describe('threshold', () => {
  it.each([
    {
      name: 'raise at HI, escalate to HIHI in place, de-escalate, clear only below the clear level',
      values: [2.0, 2.6, 3.3, 3.18, 3.1, 2.47, 2.44],
      expected: [
        'raise level_m.threshold MAJOR @60',
        'update level_m.threshold CRITICAL @120',
        'update level_m.threshold MAJOR @240',
        'clear level_m.threshold MAJOR @360',
      ],
    },
    { name: 'exactly at the level raises (≥)', values: [2.5, 2.45, 2.449], expected: ['raise level_m.threshold MAJOR @0', 'clear level_m.threshold MAJOR @120'] },
    { name: 'straight to HIHI raises CRITICAL once', values: [1, 3.5, 1], expected: ['raise level_m.threshold CRITICAL @60', 'clear level_m.threshold CRITICAL @120'] },
    { name: 'normal values raise nothing', values: [0.1, 1.2, 2.49, 2.0], expected: [] },
  ])('$name', ({ values, expected }) => {
    expect(brief(run([level], series('level_m', values)).events)).toEqual(expected)
  })

  it('low levels: battery LO then LOLO, explicit clear levels and severities', () => {
    const battery: ThresholdRule = {
      id: 'battery_pct.threshold',
      kind: 'threshold',
      point: 'battery_pct',
      levels: { lo: { value: 20, clear: 25 }, lolo: { value: 10, severity: 'major' } },
    }
    const { events } = run([battery], series('battery_pct', [30, 20, 22, 9, 12, 24, 26]))
    expect(brief(events)).toEqual([
      'raise battery_pct.threshold MAJOR @60',
      // LOLO is MAJOR here: same severity, another level → an update all the same
      'update battery_pct.threshold MAJOR @180',
      'update battery_pct.threshold MAJOR @240',
      'clear battery_pct.threshold MAJOR @360',
    ])
    expect(events[0]?.message).toBe('battery_pct 20.00 ≤ LO 20.00')
  })

  it('a level flapping around HI raises exactly one alarm (hysteresis)', () => {
    const rnd = noise(7, 0.03)
    const flapping = Array.from({ length: 200 }, () => 2.5 + rnd())
    const withHysteresis = run([level], series('level_m', [...flapping, 2.0]))
    expect(brief(withHysteresis.events).filter((e) => e.startsWith('raise'))).toHaveLength(1)
    expect(withHysteresis.events.map((e) => e.type)).toEqual(['raise', 'clear'])
    // The same signal without a deadband would chatter:
    const chatter = run([{ ...level, deadband: 0 }], series('level_m', flapping))
    expect(chatter.events.filter((e) => e.type === 'raise').length).toBeGreaterThan(20)
  })

  it('on-delay: a short spike raises nothing; a held condition raises once onDelayS has passed', () => {
    const rule: ThresholdRule = { ...level, onDelayS: 60 }
    const spike = series('level_m', [2.0, 2.7, 2.0, 2.0], 20)
    expect(run([rule], spike).events).toEqual([])
    const held = series('level_m', [2.0, 2.7, 2.8, 2.7, 2.9, 2.0], 20)
    expect(brief(run([rule], held).events)).toEqual(['raise level_m.threshold MAJOR @80', 'clear level_m.threshold MAJOR @100'])
  })

  it('on-delay and off-delay also run out on tick (the held value)', () => {
    const rule: ThresholdRule = { ...level, onDelayS: 60, offDelayS: 120 }
    const steps: Step[] = [reading(T0, { level_m: 2.7 }), { tick: T0 + 59_000 }, { tick: T0 + 60_000 }, { tick: T0 + 61_000 }, reading(T0 + 90_000, { level_m: 1.0 }), { tick: T0 + 209_000 }, { tick: T0 + 210_000 }]
    expect(brief(run([rule], steps).events)).toEqual(['raise level_m.threshold MAJOR @60', 'clear level_m.threshold MAJOR @210'])
  })

  it('a reading without the point (report-by-exception) holds its value; delays keep running', () => {
    const rule: ThresholdRule = { ...level, onDelayS: 60 }
    const steps: Step[] = [reading(T0, { level_m: 2.7 }), reading(T0 + 30_000, { battery_pct: 80 }), reading(T0 + 60_000, { battery_pct: 80 })]
    expect(brief(run([rule], steps).events)).toEqual(['raise level_m.threshold MAJOR @60'])
  })
})

describe('rate of change (pipe burst)', () => {
  const burst: RateRule = { id: 'pressure_bar.rate', kind: 'rate', point: 'pressure_bar', unit: 'bar', direction: 'down', change: 1.0, windowS: 60, severity: 'critical' }

  /** pipe-burst scenario shape: 4.2 bar ± 0.02, polled every 2 s; at 0:20:00 it falls 1.2 bar over 4 s. */
  function burstSeries(): { readings: StoredReading[]; burstAt: number } {
    const rnd = noise(514, 0.02)
    const burstAt = T0 + 20 * MIN
    const readings: StoredReading[] = []
    for (let t = T0; t <= T0 + 25 * MIN; t += 2000) {
      const fall = t < burstAt ? 0 : Math.min(1, (t - burstAt) / 4000) * 1.2
      readings.push(reading(t, { pressure_bar: 4.2 - fall + rnd() }))
    }
    return { readings, burstAt }
  }

  it('raises within two poll intervals of the burst, once, and clears when the window no longer holds the drop', () => {
    const { readings, burstAt } = burstSeries()
    const { events } = run([burst], readings)
    expect(events.map((e) => e.type)).toEqual(['raise', 'clear'])
    const [raise, clear] = events as [AlarmEvent, AlarmEvent]
    expect(raise.severity).toBe('CRITICAL')
    expect(raise.ts).toBeGreaterThan(burstAt)
    expect(raise.ts - burstAt).toBeLessThanOrEqual(2 * 2000)
    expect(raise.message).toMatch(/^pressure_bar fell 1\.\d\d bar in \d+ s \(limit 1\.00 bar in 60 s\)$/)
    // The drop leaves the 60 s window about a minute later: the rate alarm clears (the LO threshold alarm is the one that stays).
    expect(clear.ts - burstAt).toBeGreaterThan(55_000)
    expect(clear.ts - burstAt).toBeLessThanOrEqual(66_000)
  })

  it.each([
    { name: 'a slow decline of the same size over 10 minutes raises nothing', values: Array.from({ length: 11 }, (_, i) => 4.2 - i * 0.12), stepS: 60, expected: [] },
    { name: 'a drop exactly the size of change raises', values: [4.2, 4.2, 3.2], stepS: 2, expected: ['raise pressure_bar.rate CRITICAL @4'] },
    { name: 'a rise never raises a down rule', values: [3.0, 4.5, 6.0], stepS: 2, expected: [] },
  ])('$name', ({ values, stepS, expected }) => {
    expect(brief(run([burst], series('pressure_bar', values, stepS)).events)).toEqual(expected)
  })

  it('report-by-exception: a burst after a quiet spell longer than the window is measured from the value the main held', () => {
    // The edge sends 4.2 bar once and then nothing (no change beyond the deadband) for
    // 5 minutes: every sample has left the 60 s window when the burst reading arrives. The
    // pressure held until then is the window's start value (pushWindow), so the burst raises.
    const quiet = [reading(T0, { pressure_bar: 4.2 }), reading(T0 + 5 * MIN, { pressure_bar: 3.0 })]
    const { events } = run([burst], quiet)
    expect(brief(events)).toEqual(['raise pressure_bar.rate CRITICAL @300'])
    expect(events[0]?.message).toBe('pressure_bar fell 1.20 bar in 60 s (limit 1.00 bar in 60 s)')
    // The same quiet spell ending in an unchanged value, or a small step, raises nothing.
    expect(run([burst], [reading(T0, { pressure_bar: 4.2 }), reading(T0 + 5 * MIN, { pressure_bar: 4.21 })]).events).toEqual([])
    expect(run([burst], [reading(T0, { pressure_bar: 4.2 }), reading(T0 + 5 * MIN, { pressure_bar: 3.5 })]).events).toEqual([])
    // A reading mid-fall stays in the window while the one before it has left: the value
    // held at the window's start (4.2, superseded only at 50 s) still counts.
    const midFall = [reading(T0, { pressure_bar: 4.2 }), reading(T0 + 50_000, { pressure_bar: 3.7 }), reading(T0 + 70_000, { pressure_bar: 3.0 })]
    expect(brief(run([burst], midFall).events)).toEqual(['raise pressure_bar.rate CRITICAL @70'])
    // But a value superseded before the window's start does not: 4.5 held only until 5 s.
    const superseded = [4.5, 3.9, 4.0, 3.1].map((v, i) => reading(T0 + [0, 5_000, 30_000, 66_000][i]!, { pressure_bar: v }))
    expect(run([burst], superseded).events).toEqual([])
    // Up: the held value is the window's minimum.
    const surge: RateRule = { ...burst, id: 'pressure_bar.surge', direction: 'up', change: 1.5, windowS: 10, severity: 'major' }
    expect(brief(run([surge], [reading(T0, { pressure_bar: 3.0 }), reading(T0 + MIN, { pressure_bar: 4.6 })]).events)).toEqual(['raise pressure_bar.surge MAJOR @60'])
  })

  it('direction up: a surge (valve slam)', () => {
    const surge: RateRule = { ...burst, id: 'pressure_bar.surge', direction: 'up', change: 1.5, windowS: 10, severity: 'major' }
    expect(brief(run([surge], series('pressure_bar', [3.0, 3.1, 4.8, 3.2, 3.0, 3.0, 3.0, 3.0, 3.0], 2)).events)).toEqual([
      'raise pressure_bar.surge MAJOR @4',
      'clear pressure_bar.surge MAJOR @6',
    ])
  })
})

describe('predictive trend (storm)', () => {
  const trend: TrendRule = {
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
  const road: ThresholdRule = { id: 'level_m.threshold', kind: 'threshold', point: 'level_m', unit: 'm', levels: { hi: { value: 0.5 } }, deadband: 0.05 }

  /**
   * Water on the road of an underpass (storm scenario shape): dry for 30 min, then an
   * S-shaped rise to 0.65 m over 70 min as the downpour outruns the pumps, then
   * draining over 90 min; ±5 mm sensor noise; polled every minute.
   */
  function storm(): { readings: StoredReading[]; crossing: number } {
    const rnd = noise(20130708, 0.005)
    const readings: StoredReading[] = []
    let crossing = Number.NaN
    for (let m = 0; m <= 240; m++) {
      let v = 0
      if (m >= 30 && m < 100) v = (0.65 * (1 - Math.cos((Math.PI * (m - 30)) / 70))) / 2
      else if (m >= 100 && m < 190) v = (0.65 * (1 + Math.cos((Math.PI * (m - 100)) / 90))) / 2
      v = Math.max(0, v + (v > 0 ? rnd() : 0))
      const ts = T0 + m * MIN
      if (Number.isNaN(crossing) && v >= 0.5) crossing = ts
      readings.push(reading(ts, { level_m: Math.round(v * 1000) / 1000 }))
    }
    return { readings, crossing }
  }

  it('raises ≥ 10 simulated minutes before the crossing, then the threshold alarm; both clear on recession', () => {
    const { readings, crossing } = storm()
    const { events } = run([trend, road], readings)
    const of = (rule: string, type: string): AlarmEvent[] => events.filter((e) => e.rule === rule && e.type === type)
    const [trendRaise] = of('level_m.trend', 'raise')
    const [roadRaise] = of('level_m.threshold', 'raise')
    expect(trendRaise).toBeDefined()
    expect(roadRaise?.ts).toBe(crossing)
    expect(crossing - (trendRaise as AlarmEvent).ts).toBeGreaterThanOrEqual(10 * MIN)
    expect(trendRaise?.message).toMatch(/^level_m will reach 0\.50 m in \d+ min \(confidence 0\.\d\d\)$/)
    expect(trendRaise?.eta?.confidence).toBeGreaterThanOrEqual(0.8)
    expect(Math.abs((trendRaise?.eta?.at as number) - ((trendRaise as AlarmEvent).ts + (trendRaise?.eta?.inS as number) * 1000))).toBeLessThanOrEqual(500)
    // One alarm each: raised once, cleared once, after the peak (minute 100).
    expect(of('level_m.trend', 'raise')).toHaveLength(1)
    expect(of('level_m.threshold', 'raise')).toHaveLength(1)
    const [trendClear] = of('level_m.trend', 'clear')
    const [roadClear] = of('level_m.threshold', 'clear')
    expect(trendClear?.ts).toBeGreaterThan(T0 + 100 * MIN)
    expect(roadClear?.ts).toBeGreaterThan(trendClear?.ts as number)
    expect(of('level_m.trend', 'clear')).toHaveLength(1)
    expect(of('level_m.threshold', 'clear')).toHaveLength(1)
    // Updates follow the ETA, a few, not one per reading.
    const updates = of('level_m.trend', 'update')
    expect(updates.length).toBeGreaterThan(0)
    expect(updates.length).toBeLessThan(15)
    expect(events.filter((e) => e.rule === 'level_m.trend').map((e) => e.type)).toEqual(['raise', ...updates.map(() => 'update'), 'clear'])
  })

  it('a noisy level with no trend never raises (the fit is not good enough)', () => {
    const rnd = noise(3, 0.1)
    const values = Array.from({ length: 120 }, () => 0.3 + rnd())
    expect(run([trend], series('level_m', values)).events).toEqual([])
  })

  it('a slow rise whose ETA lies beyond the horizon does not raise', () => {
    // 0.1 m/h from 0 m: reaching 0.5 m takes hours.
    const values = Array.from({ length: 60 }, (_, i) => (i * 0.1) / 60)
    expect(run([trend], series('level_m', values)).events).toEqual([])
  })

  it('needs minPoints samples before it forecasts anything', () => {
    const values = [0.1, 0.2, 0.3, 0.4, 0.45]
    expect(run([trend], series('level_m', values)).events).toEqual([])
    expect(brief(run([trend], series('level_m', [...values, 0.47])).events)).toEqual(['raise level_m.trend WARNING @300'])
  })

  it('spikes (wild samples in the window) neither move the Theil–Sen forecast nor kill its confidence', () => {
    const clean = Array.from({ length: 15 }, (_, i) => ({ t: T0 + i * MIN, v: 0.1 + i * 0.01 }))
    const splashed = clean.map((s, i) => (i === 6 || i === 11 ? { ...s, v: 0.6 } : s))
    const a = forecast(trend, clean)
    const b = forecast(trend, splashed)
    expect(b?.slopePerS).toBeCloseTo(a?.slopePerS as number, 12)
    expect(b?.etaS).toBeCloseTo(a?.etaS as number, 6)
    expect(b?.confidence).toBeGreaterThanOrEqual(0.8) // τ loses the 2 × 10 pairs the spikes spoil; the robust R² loses nothing
    // ETA 26 min: both raise, at the same sample.
    expect(brief(run([trend], series('level_m', splashed.map((s) => s.v))).events)).toEqual(brief(run([trend], series('level_m', clean.map((s) => s.v))).events))
  })
})

describe('state (cover theft)', () => {
  const cover: StateRule = { id: 'cover_open.state', kind: 'state', point: 'cover_open', states: [{ value: true, severity: 'critical' }] }
  const well: StateRule = { id: 'water_in_well.state', kind: 'state', point: 'water_in_well', states: [{ value: true, severity: 'major' }] }

  it('a critical alarm on the first reading after the cover opens; clears when it closes', () => {
    const steps = [
      reading(T0, { cover_open: false, water_in_well: false }),
      reading(T0 + 60_000, { cover_open: true, water_in_well: false }),
      reading(T0 + 120_000, { cover_open: true, water_in_well: true }),
      reading(T0 + 180_000, { cover_open: false, water_in_well: true }),
    ]
    const { events } = run([cover, well], steps)
    expect(brief(events)).toEqual(['raise cover_open.state CRITICAL @60', 'raise water_in_well.state MAJOR @120', 'clear cover_open.state CRITICAL @180'])
    expect(events[0]?.message).toBe('cover_open is true')
    expect(events[0]?.value).toBe(true)
  })

  it('the very first reading of a device, cover already open, raises', () => {
    expect(brief(run([cover], [reading(T0, { cover_open: true })]).events)).toEqual(['raise cover_open.state CRITICAL @0'])
  })

  it('enum states map to severities, and a change of state is an update', () => {
    const pump: StateRule = { id: 'pump.state', kind: 'state', point: 'pump', states: [{ value: 2, severity: 'minor' }, { value: 3, severity: 'critical' }] }
    expect(brief(run([pump], series('pump', [1, 2, 3, 1])).events)).toEqual(['raise pump.state MINOR @60', 'update pump.state CRITICAL @120', 'clear pump.state CRITICAL @180'])
  })
})

describe('quality (sensor faults)', () => {
  const quality: QualityRule = { id: 'level_m.quality', kind: 'quality', point: 'level_m', forReadings: 3, severity: 'minor' }
  const sentinel: PointError = { code: 'sentinel', raw: 65535 }

  it('sentinel, NaN and stuck values give a quality alarm and never a threshold alarm', () => {
    const steps = [
      reading(T0, { level_m: 1.0 }),
      reading(T0 + 60_000, {}, { level_m: sentinel }),
      reading(T0 + 120_000, { level_m: Number.NaN }),
      reading(T0 + 180_000, {}, { level_m: { code: 'stuck' } }),
      reading(T0 + 240_000, {}, { level_m: { code: 'nan' } }),
      reading(T0 + 300_000, { level_m: 1.1 }),
    ]
    const { events } = run([level, quality], steps)
    expect(brief(events)).toEqual(['raise level_m.quality MINOR @180', 'clear level_m.quality MINOR @300'])
    expect(events[0]?.message).toBe('level_m has had error stuck for 3 readings (2 min)')
  })

  it('forS: raises on tick once the error has lasted long enough', () => {
    const rule: QualityRule = { ...quality, forReadings: undefined, forS: 300 } as QualityRule
    delete (rule as { forReadings?: number }).forReadings
    const steps: Step[] = [reading(T0, {}, { level_m: { code: 'timeout' } }), { tick: T0 + 299_000 }, { tick: T0 + 300_000 }, { tick: T0 + 400_000 }]
    expect(brief(run([rule], steps).events)).toEqual(['raise level_m.quality MINOR @300'])
  })

  it('codes narrows which errors count', () => {
    const rule: QualityRule = { ...quality, codes: ['stuck'], forReadings: 1 }
    const steps = [reading(T0, {}, { level_m: sentinel }), reading(T0 + 1000, {}, { level_m: { code: 'stuck' } })]
    expect(brief(run([rule], steps).events)).toEqual(['raise level_m.quality MINOR @1'])
  })

  it('an active threshold alarm neither clears nor escalates on bad values; its delays pause', () => {
    const rule: ThresholdRule = { ...level, offDelayS: 60 }
    const steps: Step[] = [
      reading(T0, { level_m: 2.7 }),
      reading(T0 + 60_000, { level_m: 1.0 }),
      reading(T0 + 90_000, {}, { level_m: sentinel }),
      { tick: T0 + 600_000 },
      reading(T0 + 660_000, { level_m: 1.0 }),
    ]
    // Without the fault the clear would come at @120; with it, the first good value after it (the off-delay counts from the last change of level, @60).
    expect(brief(run([rule], steps).events)).toEqual(['raise level_m.threshold MAJOR @0', 'clear level_m.threshold MAJOR @660'])
  })
})

describe('stale', () => {
  const stale: StaleRule = { id: 'stale', kind: 'stale', expectedIntervalS: 60, factor: 3, severity: 'major' }
  it('raises on tick after factor × interval without a reading, once; a live reading clears it', () => {
    const steps: Step[] = [reading(T0, { level_m: 1 }), { tick: T0 + 179_999 }, { tick: T0 + 180_000 }, { tick: T0 + 240_000 }, reading(T0 + 250_000, { level_m: 1 })]
    const { events } = run([stale], steps)
    expect(brief(events)).toEqual(['raise stale MAJOR @180', 'clear stale MAJOR @250'])
    expect(events[0]?.message).toBe('no reading for 3 min (expected every 60 s)')
  })
  it('a historical reading does not count as seen', () => {
    const steps: Step[] = [reading(T0, { level_m: 1 }), { tick: T0 + 200_000 }, reading(T0 + 210_000, { level_m: 1 }, {}, true)]
    expect(brief(run([stale], steps).events)).toEqual(['raise stale MAJOR @200'])
  })
})

describe('time: historical and out-of-order readings', () => {
  it.each([
    {
      name: 'historical readings never raise',
      steps: [reading(T0, { level_m: 1 }), reading(T0 + 60_000, { level_m: 3 }, {}, true), reading(T0 + 120_000, { level_m: 1 })],
      expected: [],
      ignored: [undefined, 'historical', undefined],
    },
    {
      name: 'historical readings never clear',
      steps: [reading(T0, { level_m: 3 }), reading(T0 + 60_000, { level_m: 1 }, {}, true), reading(T0 + 120_000, { level_m: 3 })],
      expected: ['raise level_m.threshold MAJOR @0'],
      ignored: [undefined, 'historical', undefined],
    },
    {
      name: 'a late reading (older than the newest evaluated) is ignored, even when it would clear',
      steps: [reading(T0, { level_m: 2.6 }), reading(T0 + 120_000, { level_m: 2.7 }), reading(T0 + 60_000, { level_m: 1 }), reading(T0 + 180_000, { level_m: 2.8 })],
      expected: ['raise level_m.threshold MAJOR @0'],
      ignored: [undefined, undefined, 'out_of_order', undefined],
    },
    {
      name: 'a redelivered reading (same ts) is ignored: idempotent',
      steps: [reading(T0, { level_m: 1 }), reading(T0 + 60_000, { level_m: 2.6 }), reading(T0 + 60_000, { level_m: 2.6 })],
      expected: ['raise level_m.threshold MAJOR @60'],
      ignored: [undefined, undefined, 'out_of_order'],
    },
  ])('$name', ({ steps, expected, ignored }) => {
    const events: AlarmEvent[] = []
    const why: Array<string | undefined> = []
    let s: DeviceAlarmState | undefined
    for (const r of steps) {
      const out = evaluate(s, r, [level])
      if (out.ignored) expect(out.state).toBe(s ?? out.state)
      s = out.state
      events.push(...out.events)
      why.push(out.ignored)
    }
    expect(brief(events)).toEqual(expected)
    expect(why).toEqual(ignored)
  })

  it('property: any arrival order gives the events of the readings that were newest when they arrived', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ dt: fc.integer({ min: 0, max: 600 }), v: fc.double({ min: 0, max: 4, noNaN: true }), hist: fc.boolean() }), { maxLength: 60 }), (xs) => {
        const readings = xs.map((x) => reading(T0 + x.dt * 1000, { level_m: x.v }, {}, x.hist))
        const all = run([level], readings).events
        let newest = Number.NEGATIVE_INFINITY
        const kept = readings.filter((r) => {
          if (r.historical || r.ts <= newest) return false
          newest = r.ts
          return true
        })
        expect(run([level], kept).events).toEqual(all)
      }),
    )
  })
})

describe('bounded state', () => {
  it('six hours of 1 s samples keep windows bounded (worst case for the rate deque: a steady fall)', () => {
    const rules: Rule[] = [
      { id: 'p.rate', kind: 'rate', point: 'p', direction: 'down', change: 1000, windowS: 3600, severity: 'major' },
      { id: 'p.rise', kind: 'rate', point: 'p', direction: 'up', change: 1000, windowS: 3600, severity: 'major' },
      { id: 'p.trend', kind: 'trend', point: 'p', direction: 'down', threshold: -1e9, windowS: 3600, horizonS: 60 },
      { id: 'p.threshold', kind: 'threshold', point: 'p', levels: { lolo: { value: -1e9 } } },
      { id: 'p.quality', kind: 'quality', point: 'p', forReadings: 1_000_000 },
    ]
    let s: DeviceAlarmState | undefined
    let maxSize = 0
    for (let i = 0; i < 21_600; i++) {
      const errors: Record<string, PointError> = i % 97 === 0 ? { p: { code: 'timeout' } } : {}
      s = evaluate(s, reading(T0 + i * 1000, errors.p ? {} : { p: -i * 0.001 }, errors), rules).state
      if (i % 1000 === 0) maxSize = Math.max(maxSize, JSON.stringify(s).length)
    }
    const st = s as DeviceAlarmState
    for (const r of Object.values(st.rules)) {
      if (r.kind === 'rate') expect(r.window.length).toBeLessThanOrEqual(MAX_WINDOW_SAMPLES)
      if (r.kind === 'trend') expect(r.samples.length).toBeLessThanOrEqual(MAX_TREND_SAMPLES)
    }
    expect(maxSize).toBeLessThan(20_000)
  })
})

describe('rule reload', () => {
  it('removing a rule with an open condition clears it; changing its kind clears and restarts', () => {
    const { state } = run([level], [reading(T0, { level_m: 2.7 })])
    const removed = evaluate(state, reading(T0 + 1000, { level_m: 2.7 }), [])
    expect(brief(removed.events)).toEqual(['clear level_m.threshold MAJOR @1'])
    expect(removed.events[0]?.message).toBe('rule removed')
    expect(removed.state.rules).toEqual({})
    const asRate: Rule = { id: 'level_m.threshold', kind: 'rate', point: 'level_m', direction: 'up', change: 5, windowS: 60, severity: 'minor' }
    const changed = evaluate(state, reading(T0 + 1000, { level_m: 2.7 }), [asRate])
    expect(changed.events.map((e) => `${e.type} ${e.kind}`)).toEqual(['clear threshold'])
  })
})

describe('structural sharing (the engine keeps one state per device alive; what a reading re-creates is copied by the next young-generation GC)', () => {
  const quiet: Rule[] = [
    level,
    { id: 'level_m.quality', kind: 'quality', point: 'level_m', forReadings: 3 },
    { id: 'cover.state', kind: 'state', point: 'cover', states: [{ value: 'open', severity: 'critical' }] },
    { id: 'stale', kind: 'stale', expectedIntervalS: 60, factor: 3, severity: 'major' },
  ]

  it('a reading that changes no rule keeps every rule state and the rules record (same objects)', () => {
    const first = evaluate(undefined, reading(T0, { level_m: 1.0, cover: 'closed' }), quiet).state
    const next = evaluate(first, reading(T0 + 1000, { level_m: 1.1, cover: 'closed' }), quiet)
    expect(next.events).toEqual([])
    expect(next.state.lastTs).toBe(T0 + 1000)
    expect(next.state.rules).toBe(first.rules)
  })

  it('a reading that changes one rule replaces only that rule state', () => {
    const first = evaluate(undefined, reading(T0, { level_m: 1.0, cover: 'closed' }), quiet).state
    const next = evaluate(first, reading(T0 + 1000, { level_m: 2.7, cover: 'closed' }), quiet)
    expect(brief(next.events)).toEqual(['raise level_m.threshold MAJOR @1'])
    expect(next.state.rules).not.toBe(first.rules)
    expect(next.state.rules['level_m.threshold']).not.toBe(first.rules['level_m.threshold'])
    for (const id of ['level_m.quality', 'cover.state', 'stale']) expect(next.state.rules[id]).toBe(first.rules[id])
    // The input state is untouched (pure): evaluating it again gives the same answer.
    expect(evaluate(first, reading(T0 + 1000, { level_m: 2.7, cover: 'closed' }), quiet)).toEqual(next)
  })

  it('a tick that changes nothing returns the same state; one that raises returns a new one', () => {
    const s = evaluate(undefined, reading(T0, { level_m: 1.0, cover: 'closed' }), quiet).state
    expect(tick(s, T0 + 60_000, quiet)).toEqual({ state: s, events: [] })
    expect(tick(s, T0 + 60_000, quiet).state).toBe(s)
    const late = tick(s, T0 + 4 * MIN, quiet)
    expect(brief(late.events)).toEqual(['raise stale MAJOR @240'])
    expect(late.state).not.toBe(s)
    expect(s.rules.stale).toEqual({ kind: 'stale' })
  })

  it('property: sharing is safe: no evaluation changes a state it was given, shared parts included', () => {
    const rules: Rule[] = [...quiet, { id: 'level_m.rate', kind: 'rate', point: 'level_m', direction: 'up', change: 0.5, windowS: 120, severity: 'major' }]
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ min: 0, max: 4, noNaN: true }), fc.constant(Number.NaN)), { minLength: 1, maxLength: 40 }), (levels) => {
        let s: DeviceAlarmState | undefined
        const seen: Array<{ before: string; state: DeviceAlarmState }> = []
        levels.forEach((v, i) => {
          const r = evaluate(s, reading(T0 + i * 20_000, { level_m: v, cover: i % 7 === 6 ? 'open' : 'closed' }), rules)
          if (s) seen.push({ before: JSON.stringify(s), state: s })
          s = r.state
        })
        // No evaluation mutated a state it was given.
        for (const x of seen) expect(JSON.stringify(x.state)).toBe(x.before)
      }),
      { numRuns: 200 },
    )
  })
})

describe('trend window representation (decimated samples shared, the newest apart)', () => {
  const trend: TrendRule = { id: 'level_m.trend', kind: 'trend', point: 'level_m', direction: 'up', threshold: 1e9, windowS: 390, horizonS: 60 }
  /** The window as the evaluator kept it before `last` existed: one array, filtered and decimated per reading. */
  function reference(samples: Array<{ t: number; v: number }>, ts: number, v: number): Array<{ t: number; v: number }> {
    const windowMs = trend.windowS * 1000
    const spacing = windowMs / (MAX_TREND_SAMPLES - 1)
    const out = samples.filter((x) => x.t >= ts - windowMs)
    const beforeLast = out[out.length - 2]
    if (beforeLast !== undefined && ts - beforeLast.t < spacing) out.pop()
    out.push({ t: ts, v })
    while (out.length > MAX_TREND_SAMPLES) out.shift()
    return out
  }
  const windowOf = (st: DeviceAlarmState): Array<{ t: number; v: number }> => {
    const r = st.rules['level_m.trend'] as Extract<DeviceAlarmState['rules'][string], { kind: 'trend' }>
    return [...r.samples, ...(r.last ? [r.last] : [])]
  }

  it('property: the window equals the one-array reference after every reading, gaps longer than the window included', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ dtS: fc.integer({ min: 1, max: 500 }), v: fc.double({ min: 0, max: 3, noNaN: true }) }), { minLength: 1, maxLength: 150 }), (steps) => {
        let s: DeviceAlarmState | undefined
        let ref: Array<{ t: number; v: number }> = []
        let ts = T0
        for (const { dtS, v } of steps) {
          ts += dtS * 1000
          s = evaluate(s, reading(ts, { level_m: v }), [trend]).state
          ref = reference(ref, ts, v)
          expect(windowOf(s)).toEqual(ref)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('the decimated samples are shared between readings that only replace the newest', () => {
    const a = evaluate(undefined, reading(T0, { level_m: 1 }), [trend]).state
    // Samples are kept every windowS / 39 = 10 s: T0 + 6 s is closer than that to T0 and replaces T0 + 3 s.
    const b = evaluate(a, reading(T0 + 3_000, { level_m: 1.1 }), [trend]).state
    const c = evaluate(b, reading(T0 + 6_000, { level_m: 1.2 }), [trend]).state
    const samplesOf = (st: DeviceAlarmState): unknown => (st.rules['level_m.trend'] as { samples: unknown }).samples
    expect(samplesOf(c)).toBe(samplesOf(b))
    expect(windowOf(c).map((x) => x.v)).toEqual([1, 1.2])
  })

  it('a state written before `last` existed (all samples in one array) carries on', () => {
    const old: DeviceAlarmState = { site: 'dongcheng', gateway: 'gw-1', device: 'dev-1', lastTs: T0 + 20_000, rules: { 'level_m.trend': { kind: 'trend', samples: [{ t: T0, v: 1 }, { t: T0 + 20_000, v: 1.1 }] } } }
    const next = evaluate(old, reading(T0 + 21_000, { level_m: 1.2 }), [trend]).state
    expect(windowOf(next)).toEqual(reference([{ t: T0, v: 1 }, { t: T0 + 20_000, v: 1.1 }], T0 + 21_000, 1.2))
  })
})
