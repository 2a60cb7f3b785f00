/**
 * A manhole-cover sensor: a tilt sensor and impact counter on the underside of the
 * cover, an immersion probe hanging below it, and a radio.
 *
 * - Seated, the cover rocks a little: tilt is noise around `baseTiltDeg` (0–1°).
 * - `impact` (a truck wheel): the impact counter increments and the tilt spikes by
 *   `spikeDeg`, decaying over `impactDecayS` seconds.
 * - `open` (lifted, e.g. theft): `cover_open`, the tilt jumps to 60–90° (drawn from
 *   the seeded generator unless given); with `displaced: true` the cover is also out
 *   of its frame. `close` seats it again.
 * - `water_in_well` comes from outside: the runner passes the water level in the
 *   well (metres above the well invert, e.g. derived from a linked water-level
 *   gauge with `wellWaterLevelM`); the probe hangs `sensorDepthM` below the cover,
 *   so the flag is set once that level exceeds `wellDepthM − sensorDepthM`.
 * - RSSI: a noisy mean; water over the antenna costs `floodLossDb`, an open cover
 *   gains `openGainDb` (the antenna is no longer under cast iron).
 * - Battery drains per day, plus a little for every event the device reports.
 *
 * Time: the model only knows simulated seconds since its start; the runner decides
 * how fast they pass.
 */
import { diurnalTemperatureC, drainBattery, timeOfDayS, type DiurnalTemperature } from './ambient.ts'
import type { ManholeCoverQuantity } from './quantities.ts'
import { createRng, type Rng } from './random.ts'

export interface CoverParams {
  /** Resting tilt of the seated cover, °. */
  baseTiltDeg: number
  /** Standard deviation of the tilt reading, °. */
  tiltNoiseDeg: number
  /** Default tilt spike of an impact, °. */
  impactSpikeDeg: number
  /** Time constant of the spike's decay, s. */
  impactDecayS: number
  /** Range an opened cover's tilt is drawn from, °. */
  openTiltMinDeg: number
  openTiltMaxDeg: number
  /** Depth of the well from cover to invert, m. */
  wellDepthM: number
  /** Depth of the immersion probe below the cover, m. */
  sensorDepthM: number
  /** Mean received signal strength, dBm. */
  rssiMeanDbm: number
  /** Standard deviation of RSSI, dB. */
  rssiNoiseDb: number
  /** Attenuation while the well is flooded, dB. */
  floodLossDb: number
  /** Gain while the cover is open, dB. */
  openGainDb: number
  /** Battery at t = 0, %. */
  batteryPct: number
  /** Battery drain, % per day. */
  batteryDrainPctPerDay: number
  /** Extra drain per reported event (radio burst), %. */
  batteryPerEventPct: number
  /** Air temperature in the well. */
  temperature: DiurnalTemperature
  /** Standard deviation of the temperature reading, °C. */
  temperatureNoiseC: number
  /** Local time of day at t = 0, seconds since midnight. */
  startTimeOfDayS: number
}

export const DEFAULT_COVER: Readonly<CoverParams> = Object.freeze({
  baseTiltDeg: 0.4,
  tiltNoiseDeg: 0.15,
  impactSpikeDeg: 4,
  impactDecayS: 1.5,
  openTiltMinDeg: 60,
  openTiltMaxDeg: 90,
  wellDepthM: 2,
  sensorDepthM: 0.2,
  rssiMeanDbm: -85,
  rssiNoiseDb: 2,
  floodLossDb: 20,
  openGainDb: 5,
  batteryPct: 100,
  batteryDrainPctPerDay: 0.02,
  batteryPerEventPct: 0.002,
  temperature: Object.freeze({ meanC: 22, amplitudeC: 1.5, warmestHour: 16 }),
  temperatureNoiseC: 0.1,
  startTimeOfDayS: 0,
})

/** Events the cover model understands (scenario actions `impact`, `open-cover`, `close-cover`). */
export type CoverEvent =
  | { type: 'impact'; spikeDeg?: number }
  | { type: 'open'; tiltDeg?: number; displaced?: boolean }
  | { type: 'close' }

export interface CoverInput {
  /** Water level in the well, m above its invert (omit when no gauge is linked: dry). */
  waterLevelInWellM?: number
}

export interface CoverState {
  tS: number
  open: boolean
  displaced: boolean
  /** Tilt without sensor noise, °. */
  trueTiltDeg: number
  impactCount: number
  waterInWell: boolean
}

/**
 * Water level (m above the invert) in a well whose cover sits `roadOffsetM` above
 * the road low point of a linked gauge that reports water-surface elevation
 * `elevationM` (relative to that low point, as `WaterLevelState.elevationM`).
 */
export function wellWaterLevelM(elevationM: number, wellDepthM: number, roadOffsetM = 0): number {
  return Math.max(0, elevationM - roadOffsetM + wellDepthM)
}

export function coverParamProblems(p: CoverParams): string[] {
  const out: string[] = []
  if (!(p.baseTiltDeg >= 0 && p.baseTiltDeg <= 90)) out.push('baseTiltDeg must be within 0–90')
  if (!(p.openTiltMinDeg >= 0 && p.openTiltMinDeg <= p.openTiltMaxDeg && p.openTiltMaxDeg <= 90)) out.push('need 0 ≤ openTiltMinDeg ≤ openTiltMaxDeg ≤ 90')
  if (!(p.wellDepthM > 0)) out.push('wellDepthM must be > 0')
  if (!(p.sensorDepthM >= 0 && p.sensorDepthM < p.wellDepthM)) out.push('sensorDepthM must be ≥ 0 and less than wellDepthM')
  if (!(p.impactDecayS > 0)) out.push('impactDecayS must be > 0')
  for (const k of ['tiltNoiseDeg', 'rssiNoiseDb', 'batteryDrainPctPerDay', 'batteryPerEventPct', 'temperatureNoiseC'] as const) {
    if (!(p[k] >= 0)) out.push(`${k} must be ≥ 0`)
  }
  if (!(p.batteryPct >= 0 && p.batteryPct <= 100)) out.push('batteryPct must be within 0–100')
  return out
}

export class ManholeCoverModel {
  readonly params: Readonly<CoverParams>
  private readonly rng: Rng
  private t = 0
  private open = false
  private displaced = false
  private openTilt = 0
  private impacts = 0
  private spikes: { t0: number; deg: number }[] = []
  private waterInWell = false
  private battery: number
  private pendingEventCost = 0
  private current: Record<ManholeCoverQuantity, number | boolean>

  constructor(params: Partial<CoverParams> = {}, seed: number | string = 1) {
    this.params = Object.freeze({ ...DEFAULT_COVER, ...params })
    const problems = coverParamProblems(this.params)
    if (problems.length > 0) throw new RangeError(`manhole-cover model: ${problems.join('; ')}`)
    this.rng = createRng(seed)
    this.battery = this.params.batteryPct
    this.current = this.sample()
  }

  /** Applies an event at the current simulated time; the next `step` reports it. */
  apply(event: CoverEvent): void {
    this.pendingEventCost += this.params.batteryPerEventPct
    if (event.type === 'impact') {
      this.impacts += 1
      this.spikes.push({ t0: this.t, deg: event.spikeDeg ?? this.params.impactSpikeDeg })
    } else if (event.type === 'open') {
      this.open = true
      this.displaced = this.displaced || event.displaced === true
      this.openTilt = event.tiltDeg ?? this.rng.uniform(this.params.openTiltMinDeg, this.params.openTiltMaxDeg)
    } else {
      this.open = false
      this.displaced = false
    }
  }

  step(dtS: number, input: CoverInput = {}): void {
    if (!(dtS >= 0) || !Number.isFinite(dtS)) throw new RangeError(`dtS must be a finite number ≥ 0, got ${dtS}`)
    this.t += dtS
    const level = input.waterLevelInWellM ?? 0
    this.waterInWell = level > this.params.wellDepthM - this.params.sensorDepthM
    this.battery = drainBattery(this.battery, dtS, this.params.batteryDrainPctPerDay, this.pendingEventCost)
    this.pendingEventCost = 0
    this.spikes = this.spikes.filter((s) => this.t - s.t0 < 30 * this.params.impactDecayS)
    this.current = this.sample()
  }

  state(): CoverState {
    return {
      tS: this.t,
      open: this.open,
      displaced: this.displaced,
      trueTiltDeg: this.trueTilt(),
      impactCount: this.impacts,
      waterInWell: this.waterInWell,
    }
  }

  readings(): Readonly<Record<ManholeCoverQuantity, number | boolean>> {
    return this.current
  }

  private trueTilt(): number {
    if (this.open) return this.openTilt
    const spike = this.spikes.reduce((s, x) => s + x.deg * Math.exp(-(this.t - x.t0) / this.params.impactDecayS), 0)
    return Math.min(90, this.params.baseTiltDeg + spike)
  }

  private sample(): Record<ManholeCoverQuantity, number | boolean> {
    const p = this.params
    const tilt = Math.min(90, Math.max(0, this.trueTilt() + this.rng.normal(0, p.tiltNoiseDeg)))
    const rssi = p.rssiMeanDbm + this.rng.normal(0, p.rssiNoiseDb) - (this.waterInWell ? p.floodLossDb : 0) + (this.open ? p.openGainDb : 0)
    const tod = timeOfDayS(p.startTimeOfDayS, this.t)
    return {
      tilt_deg: tilt,
      cover_open: this.open,
      displaced: this.displaced,
      impact_count: this.impacts,
      water_in_well: this.waterInWell,
      battery_pct: this.battery,
      rssi_dbm: rssi,
      temperature_c: diurnalTemperatureC(p.temperature, tod) + this.rng.normal(0, p.temperatureNoiseC),
    }
  }
}
