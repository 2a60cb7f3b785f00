/**
 * Pressure in a water main at a district metering point.
 *
 * Demand follows a daily pattern (24 hourly multipliers, linearly interpolated, as
 * EPANET patterns are): low at night, a morning and an evening peak. The supply head
 * is fixed, so the pressure at the sensor is the supply head minus the friction loss
 * of the feeding main, which grows with flow as Q^1.852 (Hazen–Williams):
 *
 *   p(t) = p0 − k · (d(t) / d_max)^1.852
 *
 * with p0 and k chosen so the lowest demand of the day gives `nightPressureBar` and
 * the highest gives `peakPressureBar`.
 *
 * Events add transients on top:
 * - `burst`: the pressure falls by `dropBar` within `fallS` seconds (the leak's flow
 *   adds friction loss) and stays on that lower plateau;
 * - `valve-slam`: water hammer: a damped oscillation whose first peak is `surgeBar`
 *   above the pressure before the slam (period 4L/a of the pipe, a few seconds);
 * - `recover`: the burst is isolated and repaired, the pressure ramps back over
 *   `rampS`; ringing surges are dropped.
 *
 * Time: the model only knows simulated seconds since its start; the runner decides
 * how fast they pass.
 */
import { diurnalTemperatureC, drainBattery, timeOfDayS, type DiurnalTemperature } from './ambient.ts'
import type { PipePressureQuantity } from './quantities.ts'
import { createRng, type Rng } from './random.ts'

/** Hazen–Williams flow exponent. */
export const HAZEN_WILLIAMS_EXPONENT = 1.852

/**
 * A residential demand pattern (multipliers of the mean, hour 0 to 23): night
 * minimum around 03:00, morning peak at 08:00, evening peak at 19:00.
 */
export const RESIDENTIAL_DEMAND_PATTERN: readonly number[] = Object.freeze([
  0.45, 0.4, 0.38, 0.37, 0.4, 0.55, 0.85, 1.25, 1.45, 1.3, 1.1, 1.05, 1.1, 1.0, 0.95, 0.95, 1.0, 1.15, 1.35, 1.4, 1.25, 1.0, 0.75, 0.55,
])

export interface PipeParams {
  /** Pressure at the lowest demand of the day, bar. */
  nightPressureBar: number
  /** Pressure at the highest demand of the day, bar. */
  peakPressureBar: number
  /** 24 hourly demand multipliers, hour 0 first. */
  demandPattern: readonly number[]
  /** Standard deviation of the pressure reading, bar. */
  noiseBar: number
  /** Water temperature in the main (slow, small daily swing). */
  temperature: DiurnalTemperature
  /** Standard deviation of the temperature reading, °C. */
  temperatureNoiseC: number
  /** Battery at t = 0, %. */
  batteryPct: number
  /** Battery drain, % per day. */
  batteryDrainPctPerDay: number
  /** Local time of day at t = 0, seconds since midnight. */
  startTimeOfDayS: number
}

export const DEFAULT_PIPE: Readonly<PipeParams> = Object.freeze({
  nightPressureBar: 3.5,
  peakPressureBar: 2.6,
  demandPattern: RESIDENTIAL_DEMAND_PATTERN,
  noiseBar: 0.01,
  temperature: Object.freeze({ meanC: 16, amplitudeC: 0.4, warmestHour: 17 }),
  temperatureNoiseC: 0.02,
  batteryPct: 100,
  batteryDrainPctPerDay: 0.03,
  startTimeOfDayS: 0,
})

/** Events the pressure model understands (scenario actions `burst`, `valve-slam`, `recover`). */
export type PipeEvent =
  | { type: 'burst'; dropBar: number; fallS?: number }
  | { type: 'valve-slam'; surgeBar: number; periodS?: number; dampingS?: number }
  | { type: 'recover'; rampS?: number }

export const BURST_DEFAULTS = Object.freeze({ fallS: 5 })
export const VALVE_SLAM_DEFAULTS = Object.freeze({ periodS: 4, dampingS: 12 })
export const RECOVER_DEFAULTS = Object.freeze({ rampS: 60 })

type Transient =
  | { kind: 'burst'; t0: number; drop: number; fallS: number }
  | { kind: 'ramp'; t0: number; from: number; rampS: number }
  | { kind: 'surge'; t0: number; amplitude: number; periodS: number; dampingS: number }

export interface PipeState {
  tS: number
  /** Demand relative to the day's highest, 0–1. */
  relativeDemand: number
  /** Pressure from demand alone, bar. */
  baseBar: number
  /** Sum of event transients, bar (negative for a burst). */
  transientBar: number
  /** Noise-free pressure, bar. */
  trueBar: number
}

/** Demand multiplier at a local time of day, interpolated between hourly values. */
export function demandAt(pattern: readonly number[], timeOfDay: number): number {
  const n = pattern.length
  const h = (timeOfDay / 3600) % n
  const i = Math.floor(h)
  const f = h - i
  const a = pattern[i] ?? 0
  const b = pattern[(i + 1) % n] ?? 0
  return a + (b - a) * f
}

/** The head-loss curve: pressure (bar) from relative demand, calibrated on the night and peak pressures. */
export function pressureFromDemand(p: Pick<PipeParams, 'nightPressureBar' | 'peakPressureBar' | 'demandPattern'>, relativeDemand: number): number {
  const max = Math.max(...p.demandPattern)
  const min = Math.min(...p.demandPattern)
  const minRel = Math.pow(min / max, HAZEN_WILLIAMS_EXPONENT)
  const k = (p.nightPressureBar - p.peakPressureBar) / (1 - minRel)
  const p0 = p.peakPressureBar + k
  return p0 - k * Math.pow(Math.max(0, relativeDemand), HAZEN_WILLIAMS_EXPONENT)
}

export function pipeParamProblems(p: PipeParams): string[] {
  const out: string[] = []
  if (!(p.peakPressureBar > 0)) out.push('peakPressureBar must be > 0')
  if (!(p.nightPressureBar > p.peakPressureBar)) out.push('nightPressureBar must be above peakPressureBar')
  if (p.demandPattern.length !== 24) out.push('demandPattern must have 24 hourly values')
  if (!p.demandPattern.every((d) => d > 0)) out.push('demandPattern values must be > 0')
  if (Math.min(...p.demandPattern) === Math.max(...p.demandPattern)) out.push('demandPattern must vary over the day')
  if (!(p.noiseBar >= 0)) out.push('noiseBar must be ≥ 0')
  if (!(p.batteryPct >= 0 && p.batteryPct <= 100)) out.push('batteryPct must be within 0–100')
  if (!(p.batteryDrainPctPerDay >= 0)) out.push('batteryDrainPctPerDay must be ≥ 0')
  return out
}

export class PipePressureModel {
  readonly params: Readonly<PipeParams>
  private readonly rng: Rng
  private readonly maxDemand: number
  private t = 0
  private battery: number
  private transients: Transient[] = []
  private current: Record<PipePressureQuantity, number>

  constructor(params: Partial<PipeParams> = {}, seed: number | string = 1) {
    this.params = Object.freeze({ ...DEFAULT_PIPE, ...params })
    const problems = pipeParamProblems(this.params)
    if (problems.length > 0) throw new RangeError(`pipe-pressure model: ${problems.join('; ')}`)
    this.rng = createRng(seed)
    this.maxDemand = Math.max(...this.params.demandPattern)
    this.battery = this.params.batteryPct
    this.current = this.sample()
  }

  /** Applies an event at the current simulated time. */
  apply(event: PipeEvent): void {
    const t0 = this.t
    if (event.type === 'burst') {
      if (!(event.dropBar > 0)) throw new RangeError('burst dropBar must be > 0')
      this.transients.push({ kind: 'burst', t0, drop: event.dropBar, fallS: Math.max(1e-3, event.fallS ?? BURST_DEFAULTS.fallS) })
    } else if (event.type === 'valve-slam') {
      if (!(event.surgeBar > 0)) throw new RangeError('valve-slam surgeBar must be > 0')
      const periodS = event.periodS ?? VALVE_SLAM_DEFAULTS.periodS
      const dampingS = event.dampingS ?? VALVE_SLAM_DEFAULTS.dampingS
      // Scale so the first crest (a quarter period in) is exactly surgeBar.
      const amplitude = event.surgeBar / Math.exp(-periodS / 4 / dampingS)
      this.transients.push({ kind: 'surge', t0, amplitude, periodS, dampingS })
    } else {
      // Whatever the bursts and earlier recoveries hold now ramps back to zero.
      const held = this.transients.filter((x) => x.kind !== 'surge').reduce((s, x) => s + transientAt(x, t0), 0)
      this.transients = held === 0 ? [] : [{ kind: 'ramp', t0, from: held, rampS: Math.max(1e-3, event.rampS ?? RECOVER_DEFAULTS.rampS) }]
    }
  }

  step(dtS: number): void {
    if (!(dtS >= 0) || !Number.isFinite(dtS)) throw new RangeError(`dtS must be a finite number ≥ 0, got ${dtS}`)
    this.t += dtS
    this.battery = drainBattery(this.battery, dtS, this.params.batteryDrainPctPerDay)
    // Forget transients that have died away (surges after ~20 time constants, finished ramps).
    this.transients = this.transients.filter((x) =>
      x.kind === 'surge' ? this.t - x.t0 < 20 * x.dampingS : x.kind === 'ramp' ? this.t - x.t0 < x.rampS : true,
    )
    this.current = this.sample()
  }

  /** The noise-free state at the current time. */
  state(): PipeState {
    const tod = timeOfDayS(this.params.startTimeOfDayS, this.t)
    const relativeDemand = demandAt(this.params.demandPattern, tod) / this.maxDemand
    const baseBar = pressureFromDemand(this.params, relativeDemand)
    const transientBar = this.transients.reduce((s, x) => s + transientAt(x, this.t), 0)
    return { tS: this.t, relativeDemand, baseBar, transientBar, trueBar: Math.max(0, baseBar + transientBar) }
  }

  readings(): Readonly<Record<PipePressureQuantity, number>> {
    return this.current
  }

  private sample(): Record<PipePressureQuantity, number> {
    const s = this.state()
    const tod = timeOfDayS(this.params.startTimeOfDayS, this.t)
    return {
      pressure_bar: Math.max(0, s.trueBar + this.rng.normal(0, this.params.noiseBar)),
      temperature_c: diurnalTemperatureC(this.params.temperature, tod) + this.rng.normal(0, this.params.temperatureNoiseC),
      battery_pct: this.battery,
    }
  }
}

function transientAt(x: Transient, t: number): number {
  const dt = t - x.t0
  if (dt < 0) return 0
  switch (x.kind) {
    case 'burst':
      return -x.drop * Math.min(1, dt / x.fallS)
    case 'ramp':
      return x.from * Math.max(0, 1 - dt / x.rampS)
    case 'surge':
      return x.amplitude * Math.exp(-dt / x.dampingS) * Math.sin((2 * Math.PI * dt) / x.periodS)
  }
}
