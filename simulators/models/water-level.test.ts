import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WATER_LEVEL_QUANTITIES } from './quantities.ts'
import { DEFAULT_UNDERPASS, elevationAtVolume, runoffM3S, volumeAtElevation, WaterLevelModel, type UnderpassParams } from './water-level.ts'

const quiet: Partial<UnderpassParams> = { levelNoiseM: 0, temperatureNoiseC: 0 }

/** Runs `rain` (mm/h per `stepS`) and returns the noise-free levels after each step. */
function run(model: WaterLevelModel, rain: readonly number[], stepS: number): number[] {
  return rain.map((r) => {
    model.step(stepS, { rainMmH: r })
    return model.state().elevationM
  })
}

describe('storage curve', () => {
  it('round-trips elevation → volume → elevation', () => {
    fc.assert(
      fc.property(fc.double({ min: -2.5, max: 3, noNaN: true }), (e) => {
        expect(elevationAtVolume(DEFAULT_UNDERPASS, volumeAtElevation(DEFAULT_UNDERPASS, e))).toBeCloseTo(e, 9)
      }),
    )
  })

  it.each([
    [-2.5, 0],
    [0, 40 * 2.5],
    [0.3, 40 * 2.5 + 40 * 0.3 + (15 * 0.09) / 0.04],
  ])('elevation %f m holds %f m³', (e, v) => {
    expect(volumeAtElevation(DEFAULT_UNDERPASS, e)).toBeCloseTo(v, 9)
  })
})

describe('water-level model', () => {
  it('reports exactly the canonical quantities', () => {
    expect(Object.keys(new WaterLevelModel().readings()).sort()).toEqual([...WATER_LEVEL_QUANTITIES].sort())
  })

  // Catchment 2 ha, C 0.9: 36 mm/h gives 0.18 m³/s against 0.1 m³/s of pumps.
  it.each([
    { name: 'pumps at design capacity', blockage: 0, rain: 36 },
    { name: 'half-blocked grates', blockage: 0.5, rain: 20 },
    { name: 'torrential rain', blockage: 0, rain: 80 },
  ])('rises while rain beats drainage and recedes after it stops ($name)', ({ blockage, rain }) => {
    const m = new WaterLevelModel({ ...quiet, catchmentAreaM2: 20_000, drainCapacityM3S: 0.1, blockage })
    const start = m.state().elevationM
    const during = run(m, Array(60).fill(rain), 60) // one hour of rain, 1-minute steps
    for (let i = 1; i < during.length; i++) expect(during[i]).toBeGreaterThan(during[i - 1] ?? -Infinity)
    const peak = during.at(-1) ?? start
    expect(peak).toBeGreaterThan(start)
    const after = run(m, Array(240).fill(0), 60) // four dry hours
    for (let i = 1; i < after.length; i++) expect(after[i]).toBeLessThanOrEqual(after[i - 1] ?? Infinity)
    expect(after.at(-1)).toBe(-DEFAULT_UNDERPASS.sumpDepthM) // pumped dry
  })

  it('stays dry while drainage keeps up', () => {
    const m = new WaterLevelModel({ ...quiet, catchmentAreaM2: 20_000, drainCapacityM3S: 0.3 })
    run(m, Array(60).fill(50), 60) // 0.25 m³/s in, 0.3 out
    expect(m.state().volumeM3).toBe(0)
    expect(m.readings().level_m).toBe(0)
  })

  it('conserves mass: volume in − volume out = change in storage', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0, max: 120, noNaN: true }), fc.double({ min: 0.1, max: 900, noNaN: true })), { minLength: 1, maxLength: 80 }),
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (steps, initialVolumeM3, blockage) => {
          const m = new WaterLevelModel({ ...quiet, initialVolumeM3, blockage })
          let rainIn = 0
          for (const [rain, dt] of steps) {
            m.step(dt, { rainMmH: rain })
            rainIn += runoffM3S(m.params, rain) * dt
          }
          const s = m.state()
          const scale = Math.max(1, s.inflowTotalM3, initialVolumeM3)
          expect(Math.abs(s.inflowTotalM3 - s.outflowTotalM3 - (s.volumeM3 - initialVolumeM3)) / scale).toBeLessThan(1e-9)
          expect(Math.abs(s.inflowTotalM3 - rainIn) / Math.max(1, rainIn)).toBeLessThan(1e-9)
          expect(s.outflowTotalM3).toBeLessThanOrEqual(m.effectiveCapacityM3S * steps.reduce((t, [, dt]) => t + dt, 0) + 1e-6)
        },
      ),
    )
  })

  it('counts rain: rain_total_mm is the integral of the rate (tips = total / 0.2 mm)', () => {
    const m = new WaterLevelModel(quiet)
    m.step(1800, { rainMmH: 10 })
    m.step(600, { rainMmH: 30 })
    expect(m.readings().rain_total_mm).toBeCloseTo(10, 12)
    expect(m.readings().rain_rate_mm_h).toBe(30)
    expect(Math.floor(m.readings().rain_total_mm / 0.2 + 1e-9)).toBe(50)
  })

  it('reads from the gauge zero: a sump gauge reads depth above the sump floor', () => {
    const road = new WaterLevelModel({ ...quiet, initialVolumeM3: 50 })
    const sump = new WaterLevelModel({ ...quiet, initialVolumeM3: 50, gaugeZeroM: -2.5 })
    road.step(0)
    sump.step(0)
    expect(road.readings().level_m).toBe(0) // water still below the road
    expect(sump.readings().level_m).toBeCloseTo(50 / 40, 9)
  })

  it('is deterministic for a seed and differs between seeds', () => {
    const series = (seed: number): number[] => {
      const m = new WaterLevelModel({ initialVolumeM3: 150 }, seed)
      return Array.from({ length: 100 }, () => {
        m.step(10, { rainMmH: 20 })
        return m.readings().level_m
      })
    }
    expect(series(3)).toEqual(series(3))
    expect(series(3)).not.toEqual(series(4))
  })

  it('never recharges its battery', () => {
    const m = new WaterLevelModel()
    let last = m.readings().battery_pct
    for (let i = 0; i < 500; i++) {
      m.step(3600 * 6, { rainMmH: i % 7 })
      const b = m.readings().battery_pct
      expect(b).toBeLessThanOrEqual(last)
      last = b
    }
    expect(last).toBeLessThan(100)
  })

  it('floods deeper with a blocked drain', () => {
    const peak = (blockage: number): number => Math.max(...run(new WaterLevelModel({ ...quiet, blockage }), Array(60).fill(60), 60))
    expect(peak(0.6)).toBeGreaterThan(peak(0))
  })

  it('rejects impossible parameters', () => {
    expect(() => new WaterLevelModel({ runoffCoefficient: 1.5 })).toThrow(RangeError)
    expect(() => new WaterLevelModel({ sumpAreaM2: 0 })).toThrow(/sumpAreaM2/)
    expect(() => new WaterLevelModel().step(-1)).toThrow(RangeError)
  })
})
