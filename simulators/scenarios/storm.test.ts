/**
 * Drives the sample district's Guangqumen underpass (wl-gqm-01) with storm.yaml:
 * the recorded rain must flood the road (more than 0.30 m of water) and the road
 * must drain again, and the rise must be gradual enough for a time-to-threshold
 * forecast (rising for at least 10 simulated minutes before the crossing).
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { ManholeCoverDevice, WaterLevelDevice } from '../../shared/district/schema.ts'
import { loadDistrictFile } from '../districts/load.ts'
import { ManholeCoverModel, wellWaterLevelM } from '../models/manhole-cover.ts'
import { WaterLevelModel } from '../models/water-level.ts'
import { loadScenarioFile, SCENARIOS_DIR } from './load.ts'
import { meanRainfallRate, rainfallDepthMm, targetDevices } from './timeline.ts'

const ROAD_THRESHOLD_M = 0.3
const STEP_S = 10

const district = loadDistrictFile().district
const storm = loadScenarioFile(join(SCENARIOS_DIR, 'storm.yaml'), { devices: district ? targetDevices(district) : [] }).scenario
if (!district || !storm) throw new Error('the sample district and storm.yaml must parse (see their own tests)')
const gauge = district.devices.find((d): d is WaterLevelDevice => d.id === 'wl-gqm-01')
const cover = district.devices.find((d): d is ManholeCoverDevice => d.id === 'mh-gqm-06')
if (!gauge || !cover) throw new Error('wl-gqm-01 and mh-gqm-06 must be in the sample district')
const target = targetDevices(district).find((d) => d.id === gauge.id)

interface Sample {
  tS: number
  roadDepthM: number
  levelM: number
  trueLevelM: number
  wellWet: boolean
}

function play(): { samples: Sample[]; model: WaterLevelModel } {
  const model = new WaterLevelModel({ ...gauge?.model, startTimeOfDayS: storm?.start?.timeOfDayS ?? 0 }, `${storm?.seed}:${gauge?.id}`)
  const well = new ManholeCoverModel({ wellDepthM: cover?.model?.wellDepthM }, `${storm?.seed}:${cover?.id}`)
  const samples: Sample[] = []
  for (let t = 0; t < (storm?.durationS ?? 0); t += STEP_S) {
    if (!storm) break
    model.step(STEP_S, { rainMmH: meanRainfallRate(storm, t, t + STEP_S, target) })
    const s = model.state()
    well.step(STEP_S, { waterLevelInWellM: wellWaterLevelM(s.elevationM, cover?.model?.wellDepthM ?? 2, cover?.model?.roadOffsetM ?? 0) })
    samples.push({ tS: t + STEP_S, roadDepthM: Math.max(0, s.elevationM), levelM: model.readings().level_m, trueLevelM: s.trueLevelM, wellWet: well.readings().water_in_well === true })
  }
  return { samples, model }
}

const { samples, model } = play()
const crossing = samples.findIndex((x) => x.roadDepthM > ROAD_THRESHOLD_M)
const peak = samples.reduce((i, x, j) => (x.roadDepthM > (samples[i]?.roadDepthM ?? 0) ? j : i), 0)

describe('storm.yaml over the Guangqumen underpass', () => {
  it('rains what the record says', () => {
    expect(rainfallDepthMm(storm, 0, storm.durationS)).toBeCloseTo(44.2, 9)
    expect(model.readings().rain_total_mm).toBeCloseTo(44.2, 9)
  })

  it('floods the road beyond 0.30 m', () => {
    expect(crossing).toBeGreaterThan(0)
    expect(samples[peak]?.roadDepthM).toBeGreaterThan(ROAD_THRESHOLD_M)
    // The gauge (zero at the sump floor) shows it too, noise and all.
    const gaugeThreshold = ROAD_THRESHOLD_M - (gauge.model?.gaugeZeroM ?? 0)
    expect(samples.some((x) => x.levelM > gaugeThreshold)).toBe(true)
  })

  it('rises steadily for at least 10 minutes before the crossing (a forecast has time to warn)', () => {
    let rising = 0
    for (let i = crossing; i > 0 && (samples[i]?.trueLevelM ?? 0) > (samples[i - 1]?.trueLevelM ?? 0); i--) rising += STEP_S
    expect(rising).toBeGreaterThanOrEqual(600)
  })

  it('recedes after the rain: below the threshold, then a dry road, before the end', () => {
    const after = samples.slice(peak)
    const below = after.findIndex((x) => x.roadDepthM < ROAD_THRESHOLD_M)
    expect(below).toBeGreaterThan(0)
    expect(samples.at(-1)?.roadDepthM).toBe(0)
    for (let i = 1; i < below; i++) expect(after[i]?.roadDepthM).toBeLessThanOrEqual(after[i - 1]?.roadDepthM ?? Infinity)
  })

  it('fills the linked well on the ramp while the road is flooded, and not before the rain', () => {
    expect(samples.slice(0, 360).some((x) => x.wellWet)).toBe(false) // the first, dry hour
    expect(samples[peak]?.wellWet).toBe(true)
    expect(samples.at(-1)?.wellWet).toBe(false)
  })

  it('times the flood as the scenario file says (crossing about 1½ h in, dry road about 3 h in)', () => {
    const tCross = samples[crossing]?.tS ?? 0
    const tDry = samples.find((x, i) => i > peak && x.roadDepthM === 0)?.tS ?? 0
    expect(tCross / 3600).toBeGreaterThan(1.25)
    expect(tCross / 3600).toBeLessThan(1.75)
    expect(tDry / 3600).toBeGreaterThan(2.5)
    expect(tDry / 3600).toBeLessThan(3.5)
  })
})
