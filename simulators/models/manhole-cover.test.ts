import { describe, expect, it } from 'vitest'
import { ManholeCoverModel, wellWaterLevelM, type CoverParams } from './manhole-cover.ts'
import { MANHOLE_COVER_QUANTITIES } from './quantities.ts'

const num = (m: ManholeCoverModel, q: 'tilt_deg' | 'impact_count' | 'battery_pct' | 'rssi_dbm'): number => m.readings()[q] as number

describe('manhole-cover model', () => {
  it('reports exactly the canonical quantities', () => {
    expect(Object.keys(new ManholeCoverModel().readings()).sort()).toEqual([...MANHOLE_COVER_QUANTITIES].sort())
  })

  it('rocks between 0 and 1° while seated', () => {
    const m = new ManholeCoverModel({}, 5)
    const tilts = Array.from({ length: 5000 }, () => {
      m.step(60)
      return num(m, 'tilt_deg')
    })
    const mean = tilts.reduce((s, x) => s + x, 0) / tilts.length
    expect(mean).toBeGreaterThan(0.3)
    expect(mean).toBeLessThan(0.5)
    expect(tilts.filter((t) => t < 0 || t > 1).length / tilts.length).toBeLessThan(0.001)
    expect(m.readings().cover_open).toBe(false)
  })

  it('impact: counts and spikes the tilt, which settles again', () => {
    const m = new ManholeCoverModel({ tiltNoiseDeg: 0 })
    m.apply({ type: 'impact', spikeDeg: 6 })
    m.step(0.1)
    expect(m.readings().impact_count).toBe(1)
    expect(num(m, 'tilt_deg')).toBeGreaterThan(5)
    m.apply({ type: 'impact' })
    m.step(30)
    expect(m.readings().impact_count).toBe(2)
    expect(num(m, 'tilt_deg')).toBeCloseTo(0.4, 3)
  })

  it.each([
    { params: {}, displaced: false },
    { params: { tiltDeg: 72 }, displaced: false },
    { params: { displaced: true }, displaced: true },
  ])('open $params: cover_open, tilt 60–90°; close seats it again', ({ params, displaced }) => {
    const m = new ManholeCoverModel({ tiltNoiseDeg: 0 }, 9)
    m.apply({ type: 'open', ...params })
    m.step(1)
    const r = m.readings()
    expect(r.cover_open).toBe(true)
    expect(r.displaced).toBe(displaced)
    expect(r.tilt_deg).toBeGreaterThanOrEqual((params as { tiltDeg?: number }).tiltDeg ?? 60)
    expect(r.tilt_deg).toBeLessThanOrEqual(90)
    m.apply({ type: 'close' })
    m.step(1)
    expect(m.readings().cover_open).toBe(false)
    expect(m.readings().displaced).toBe(false)
    expect(num(m, 'tilt_deg')).toBeLessThan(1)
  })

  it.each<[string, Partial<CoverParams>, number, boolean]>([
    ['dry well', { wellDepthM: 2, sensorDepthM: 0.2 }, 0.5, false],
    ['just below the probe', { wellDepthM: 2, sensorDepthM: 0.2 }, 1.79, false],
    ['over the probe', { wellDepthM: 2, sensorDepthM: 0.2 }, 1.81, true],
    ['probe at the cover', { wellDepthM: 2, sensorDepthM: 0 }, 2.01, true],
  ])('water_in_well: %s', (_name, params, level, wet) => {
    const m = new ManholeCoverModel(params)
    m.step(1, { waterLevelInWellM: level })
    expect(m.readings().water_in_well).toBe(wet)
  })

  it('derives the water level in a well from a linked gauge', () => {
    expect(wellWaterLevelM(-2.5, 2)).toBe(0) // water in the underpass sump, below this well
    expect(wellWaterLevelM(0.3, 2)).toBeCloseTo(2.3, 12) // 0.3 m on the road at the low point
    expect(wellWaterLevelM(0.3, 2, 0.5)).toBeCloseTo(1.8, 12) // a cover 0.5 m up the ramp
  })

  it('loses signal while the antenna is under water', () => {
    const m = new ManholeCoverModel({ rssiNoiseDb: 0 })
    m.step(1)
    const dry = num(m, 'rssi_dbm')
    m.step(1, { waterLevelInWellM: 5 })
    expect(num(m, 'rssi_dbm')).toBe(dry - 20)
  })

  it('never recharges its battery, and events cost a little', () => {
    const quietDay = new ManholeCoverModel()
    const busyDay = new ManholeCoverModel()
    let last = num(busyDay, 'battery_pct')
    for (let i = 0; i < 300; i++) {
      busyDay.apply({ type: 'impact' })
      busyDay.step(3600)
      quietDay.step(3600)
      expect(num(busyDay, 'battery_pct')).toBeLessThanOrEqual(last)
      last = num(busyDay, 'battery_pct')
    }
    expect(last).toBeLessThan(num(quietDay, 'battery_pct'))
  })

  it('is deterministic for a seed and differs between seeds', () => {
    const series = (seed: number): unknown[] => {
      const m = new ManholeCoverModel({}, seed)
      return Array.from({ length: 100 }, (_, i) => {
        if (i === 40) m.apply({ type: 'open' })
        m.step(5)
        return m.readings()
      })
    }
    expect(series(1)).toEqual(series(1))
    expect(series(1)).not.toEqual(series(2))
  })

  it('rejects impossible parameters', () => {
    expect(() => new ManholeCoverModel({ sensorDepthM: 3, wellDepthM: 2 })).toThrow(/sensorDepthM/)
    expect(() => new ManholeCoverModel({ openTiltMinDeg: 80, openTiltMaxDeg: 70 })).toThrow(RangeError)
  })
})
