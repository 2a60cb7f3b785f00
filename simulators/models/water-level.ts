/**
 * Water level at the low point of a road underpass (or any small drained catchment)
 * driven by a rainfall series.
 *
 *   inflow  Q_in  = C · i · A               (rational method: runoff coefficient C,
 *                                            rain intensity i, catchment area A)
 *   outflow Q_out = min(Q_cap · (1 − blockage), what is stored + what flows in)
 *   dV/dt  = Q_in − Q_out
 *
 * The storage curve maps stored volume V to the water-surface elevation e, measured
 * from the road surface at the low point (negative = below the road, inside the sump):
 *
 *   sump (prismatic wet well):  V = S · (e + D)                       for −D ≤ e ≤ 0
 *   road (two ramps of grade g, carriageway width w, water spreads up both ramps):
 *                               V = S · D + S · e + w · e² / g           for e > 0
 *
 * With rain constant over a step the volume is piecewise linear in time, so `step`
 * integrates it exactly (no sub-steps, mass balance holds to rounding): volume in −
 * volume out = change in storage.
 *
 * Time: the model only knows simulated seconds since its start. How fast simulated
 * time runs against the wall clock is the runner's business.
 */
import { diurnalTemperatureC, drainBattery, timeOfDayS, type DiurnalTemperature } from './ambient.ts'
import type { WaterLevelQuantity } from './quantities.ts'
import { createRng, type Rng } from './random.ts'

/** Physical and sensor parameters, SI units unless the name says otherwise. */
export interface UnderpassParams {
  /** Area draining to the low point, m²: the ramps plus the streets that fall toward them. */
  catchmentAreaM2: number
  /** Share of rain that runs off, 0–1: about 0.9 for asphalt and roofs, 0.15 for lawns. */
  runoffCoefficient: number
  /** Design capacity of the pumps or drain, m³/s. */
  drainCapacityM3S: number
  /** Share of that capacity lost to clogged grates or a failed pump, 0–1 (1 = nothing drains). */
  blockage: number
  /** Plan area of the wet well (sump) under the low point, m². */
  sumpAreaM2: number
  /** Depth of the sump floor below the road surface at the low point, m. */
  sumpDepthM: number
  /** Width of carriageway that floods, m. */
  roadWidthM: number
  /** Grade of the approach ramps, m/m (0.035 = 3.5 %). */
  rampGradient: number
  /**
   * Elevation of the gauge zero relative to the road surface at the low point, m.
   * 0: a road gauge, `level_m` is the depth of water on the road (0 while the water
   * is still in the sump). −sumpDepthM: a sump gauge measuring from the sump floor.
   */
  gaugeZeroM: number
  /** Standard deviation of the level reading, m. */
  levelNoiseM: number
  /** Water stored at t = 0, m³. */
  initialVolumeM3: number
  /** Battery at t = 0, %. */
  batteryPct: number
  /** Battery drain, % per day. */
  batteryDrainPctPerDay: number
  /** Air temperature at the gauge. */
  temperature: DiurnalTemperature
  /** Standard deviation of the temperature reading, °C. */
  temperatureNoiseC: number
  /** Local time of day at t = 0, seconds since midnight. */
  startTimeOfDayS: number
}

/**
 * Defaults: a two-lane underpass with a small pump station (illustrative figures,
 * not any real site's).
 */
export const DEFAULT_UNDERPASS: Readonly<UnderpassParams> = Object.freeze({
  catchmentAreaM2: 20_000,
  runoffCoefficient: 0.9,
  drainCapacityM3S: 0.3,
  blockage: 0,
  sumpAreaM2: 40,
  sumpDepthM: 2.5,
  roadWidthM: 15,
  rampGradient: 0.04,
  gaugeZeroM: 0,
  levelNoiseM: 0.003,
  initialVolumeM3: 0,
  batteryPct: 100,
  batteryDrainPctPerDay: 0.05,
  temperature: Object.freeze({ meanC: 26, amplitudeC: 4, warmestHour: 15 }),
  temperatureNoiseC: 0.1,
  startTimeOfDayS: 0,
})

/** What drives one step: the mean rain intensity over the step. */
export interface WaterLevelInput {
  /** Mean rainfall intensity over the step, mm/h. */
  rainMmH: number
}

/** The noise-free state, for tests, replays and the runner (links to manhole covers). */
export interface WaterLevelState {
  /** Simulated seconds since the start. */
  tS: number
  /** Water stored in sump and on the road, m³. */
  volumeM3: number
  /** Water-surface elevation relative to the road surface at the low point, m (negative = in the sump). */
  elevationM: number
  /** Noise-free gauge reading, m (what `level_m` would be without sensor noise). */
  trueLevelM: number
  /** Cumulative runoff into the storage since the start, m³. */
  inflowTotalM3: number
  /** Cumulative volume drained since the start, m³. */
  outflowTotalM3: number
  /** Cumulative rainfall since the start, mm. */
  rainTotalMm: number
}

/** Stored volume (m³) at water-surface elevation `e` (m, relative to the road low point). */
export function volumeAtElevation(p: Pick<UnderpassParams, 'sumpAreaM2' | 'sumpDepthM' | 'roadWidthM' | 'rampGradient'>, e: number): number {
  const full = p.sumpAreaM2 * p.sumpDepthM
  if (e <= 0) return p.sumpAreaM2 * Math.max(0, e + p.sumpDepthM)
  return full + p.sumpAreaM2 * e + (p.roadWidthM * e * e) / p.rampGradient
}

/** Water-surface elevation (m, relative to the road low point) holding `volumeM3`; the inverse of `volumeAtElevation`. */
export function elevationAtVolume(p: Pick<UnderpassParams, 'sumpAreaM2' | 'sumpDepthM' | 'roadWidthM' | 'rampGradient'>, volumeM3: number): number {
  const v = Math.max(0, volumeM3)
  const full = p.sumpAreaM2 * p.sumpDepthM
  if (v <= full) return v / p.sumpAreaM2 - p.sumpDepthM
  // k·e² + S·e − (V − full) = 0, positive root, written to avoid cancellation.
  const k = p.roadWidthM / p.rampGradient
  const rest = v - full
  return (2 * rest) / (p.sumpAreaM2 + Math.sqrt(p.sumpAreaM2 * p.sumpAreaM2 + 4 * k * rest))
}

/** Runoff (m³/s) from `rainMmH` over the catchment. */
export function runoffM3S(p: Pick<UnderpassParams, 'catchmentAreaM2' | 'runoffCoefficient'>, rainMmH: number): number {
  return (p.runoffCoefficient * Math.max(0, rainMmH) * p.catchmentAreaM2) / 3_600_000
}

/** Checks parameters and returns a list of problems (empty when usable). */
export function underpassParamProblems(p: UnderpassParams): string[] {
  const out: string[] = []
  const positive = ['catchmentAreaM2', 'sumpAreaM2', 'roadWidthM', 'rampGradient'] as const
  for (const k of positive) if (!(p[k] > 0)) out.push(`${k} must be > 0`)
  const nonNegative = ['drainCapacityM3S', 'sumpDepthM', 'levelNoiseM', 'initialVolumeM3', 'batteryDrainPctPerDay', 'temperatureNoiseC'] as const
  for (const k of nonNegative) if (!(p[k] >= 0)) out.push(`${k} must be ≥ 0`)
  if (!(p.runoffCoefficient >= 0 && p.runoffCoefficient <= 1)) out.push('runoffCoefficient must be within 0–1')
  if (!(p.blockage >= 0 && p.blockage <= 1)) out.push('blockage must be within 0–1')
  if (!(p.batteryPct >= 0 && p.batteryPct <= 100)) out.push('batteryPct must be within 0–100')
  return out
}

/**
 * One underpass. `step(dtS, { rainMmH })` advances simulated time; `readings()`
 * returns the canonical quantities as the sensor reports them (with noise drawn
 * once per step, so reading twice gives the same values).
 */
export class WaterLevelModel {
  readonly params: Readonly<UnderpassParams>
  private readonly rng: Rng
  private t = 0
  private volume: number
  private inflowTotal = 0
  private outflowTotal = 0
  private rainTotal = 0
  private rainRate = 0
  private battery: number
  private blockage: number
  private current: Record<WaterLevelQuantity, number>

  constructor(params: Partial<UnderpassParams> = {}, seed: number | string = 1) {
    this.params = Object.freeze({ ...DEFAULT_UNDERPASS, ...params })
    const problems = underpassParamProblems(this.params)
    if (problems.length > 0) throw new RangeError(`water-level model: ${problems.join('; ')}`)
    this.rng = createRng(seed)
    this.volume = this.params.initialVolumeM3
    this.battery = this.params.batteryPct
    this.blockage = this.params.blockage
    this.current = this.sample()
  }

  /** Changes the lost share of drain capacity from now on (a grate clears, a pump fails). */
  setBlockage(fraction: number): void {
    if (!(fraction >= 0 && fraction <= 1)) throw new RangeError('blockage must be within 0–1')
    this.blockage = fraction
  }

  /** Drain capacity now, m³/s. */
  get effectiveCapacityM3S(): number {
    return this.params.drainCapacityM3S * (1 - this.blockage)
  }

  /** Advances `dtS` simulated seconds with rain at a constant mean intensity over the step. */
  step(dtS: number, input: WaterLevelInput = { rainMmH: 0 }): void {
    if (!(dtS >= 0) || !Number.isFinite(dtS)) throw new RangeError(`dtS must be a finite number ≥ 0, got ${dtS}`)
    const rain = Math.max(0, input.rainMmH)
    const qIn = runoffM3S(this.params, rain)
    const cap = this.effectiveCapacityM3S
    const inVol = qIn * dtS
    // Piecewise linear: the store fills at qIn − cap, or empties at that rate until dry.
    const end = Math.max(0, this.volume + (qIn - cap) * dtS)
    const outVol = this.volume + inVol - end
    this.volume = end
    this.inflowTotal += inVol
    this.outflowTotal += outVol
    this.rainTotal += (rain * dtS) / 3600
    this.rainRate = rain
    this.battery = drainBattery(this.battery, dtS, this.params.batteryDrainPctPerDay)
    this.t += dtS
    this.current = this.sample()
  }

  /** The noise-free state. */
  state(): WaterLevelState {
    const elevationM = elevationAtVolume(this.params, this.volume)
    return {
      tS: this.t,
      volumeM3: this.volume,
      elevationM,
      trueLevelM: Math.max(0, elevationM - this.params.gaugeZeroM),
      inflowTotalM3: this.inflowTotal,
      outflowTotalM3: this.outflowTotal,
      rainTotalMm: this.rainTotal,
    }
  }

  /** The canonical quantities as the sensor reports them now. */
  readings(): Readonly<Record<WaterLevelQuantity, number>> {
    return this.current
  }

  private sample(): Record<WaterLevelQuantity, number> {
    const s = this.state()
    const noisyLevel = s.trueLevelM + this.rng.normal(0, this.params.levelNoiseM)
    const tod = timeOfDayS(this.params.startTimeOfDayS, this.t)
    return {
      // A gauge reads 0 over a dry road, never a negative depth.
      level_m: s.trueLevelM === 0 ? 0 : Math.max(0, noisyLevel),
      rain_rate_mm_h: this.rainRate,
      rain_total_mm: this.rainTotal,
      battery_pct: this.battery,
      temperature_c: diurnalTemperatureC(this.params.temperature, tod) + this.rng.normal(0, this.params.temperatureNoiseC),
    }
  }
}
