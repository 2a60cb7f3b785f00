import { describe, expect, it } from 'vitest'
import { PIPE_PRESSURE_QUANTITIES } from './quantities.ts'
import { DEFAULT_PIPE, demandAt, PipePressureModel, pressureFromDemand, RESIDENTIAL_DEMAND_PATTERN, type PipeParams } from './pipe-pressure.ts'

const quiet: Partial<PipeParams> = { noiseBar: 0, temperatureNoiseC: 0 }
const hour = 3600

/** A model whose clock starts at `hh:00` local time. */
const at = (hh: number, params: Partial<PipeParams> = quiet, seed = 1): PipePressureModel =>
  new PipePressureModel({ ...params, startTimeOfDayS: hh * hour }, seed)

describe('diurnal demand → pressure', () => {
  it('reports exactly the canonical quantities', () => {
    expect(Object.keys(new PipePressureModel().readings()).sort()).toEqual([...PIPE_PRESSURE_QUANTITIES].sort())
  })

  it('is calibrated: lowest demand gives the night pressure, highest the peak pressure', () => {
    const min = Math.min(...RESIDENTIAL_DEMAND_PATTERN) / Math.max(...RESIDENTIAL_DEMAND_PATTERN)
    expect(pressureFromDemand(DEFAULT_PIPE, min)).toBeCloseTo(3.5, 12)
    expect(pressureFromDemand(DEFAULT_PIPE, 1)).toBeCloseTo(2.6, 12)
  })

  it.each([
    ['03:00 night', 3, 3.5],
    ['08:00 morning peak', 8, 2.6],
  ])('at %s the pressure is %f bar', (_label, hh, bar) => {
    expect(at(hh).state().trueBar).toBeCloseTo(bar, 9)
  })

  it('has its night pressure above both demand peaks, and two peaks', () => {
    const day = Array.from({ length: 24 }, (_, hh) => at(hh).state().trueBar)
    const night = Math.max(day[2] ?? 0, day[3] ?? 0, day[4] ?? 0)
    const morning = Math.min(...day.slice(6, 11))
    const evening = Math.min(...day.slice(17, 22))
    expect(night).toBeGreaterThan(morning + 0.5)
    expect(night).toBeGreaterThan(evening + 0.5)
    // Midday demand dips between the peaks: pressure recovers a little.
    expect(Math.max(...day.slice(12, 17))).toBeGreaterThan(Math.max(morning, evening))
  })

  it('interpolates demand between the hourly values', () => {
    expect(demandAt([1, 3, ...Array(22).fill(1)], 0.5 * hour)).toBeCloseTo(2, 12)
  })
})

describe('events', () => {
  it.each([
    { dropBar: 1.2, fallS: 4 },
    { dropBar: 0.5, fallS: 2 },
    { dropBar: 2, fallS: 10 },
  ])('burst: drops $dropBar bar within $fallS s and stays on the lower plateau', ({ dropBar, fallS }) => {
    const m = at(3)
    m.step(10)
    const before = m.state().baseBar
    m.apply({ type: 'burst', dropBar, fallS })
    const samples: number[] = []
    for (let t = 0; t < fallS; t += 0.5) {
      m.step(0.5)
      samples.push(m.state().trueBar)
    }
    const afterFall = samples.at(-1) ?? 0
    expect(before - afterFall).toBeCloseTo(dropBar, 2) // the base barely moves in a few seconds
    for (let i = 1; i < samples.length; i++) expect(samples[i]).toBeLessThan(samples[i - 1] ?? Infinity)
    m.step(600)
    expect(m.state().transientBar).toBeCloseTo(-dropBar, 12) // plateau
  })

  it('valve-slam: first crest is surgeBar above the pressure before, then it rings down', () => {
    const m = at(3)
    const before = m.state().trueBar
    m.apply({ type: 'valve-slam', surgeBar: 1.8, periodS: 4, dampingS: 10 })
    m.step(1) // a quarter period
    expect(m.state().trueBar - before).toBeCloseTo(1.8, 3)
    m.step(2) // three quarters: the trough below
    expect(m.state().trueBar).toBeLessThan(before)
    m.step(60)
    expect(Math.abs(m.state().transientBar)).toBeLessThan(0.01)
  })

  it('recover: ramps back to the demand pressure', () => {
    const m = at(3)
    m.apply({ type: 'burst', dropBar: 1 })
    m.step(100)
    m.apply({ type: 'recover', rampS: 60 })
    m.step(30)
    expect(m.state().transientBar).toBeCloseTo(-0.5, 9)
    m.step(31)
    expect(m.state().transientBar).toBe(0)
  })

  it('noise has the configured deviation', () => {
    const m = at(3, { noiseBar: 0.02, temperatureNoiseC: 0 })
    const xs = Array.from({ length: 4000 }, () => {
      m.step(0)
      return m.readings().pressure_bar - m.state().trueBar
    })
    const sd = Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length)
    expect(sd).toBeCloseTo(0.02, 2)
  })
})

describe('pipe model hygiene', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const series = (seed: number): number[] => {
      const m = new PipePressureModel({}, seed)
      return Array.from({ length: 200 }, (_, i) => {
        if (i === 50) m.apply({ type: 'burst', dropBar: 1 })
        m.step(30)
        return m.readings().pressure_bar
      })
    }
    expect(series(11)).toEqual(series(11))
    expect(series(11)).not.toEqual(series(12))
  })

  it('never recharges its battery', () => {
    const m = new PipePressureModel()
    let last = m.readings().battery_pct
    for (let i = 0; i < 400; i++) {
      m.step(86_400)
      expect(m.readings().battery_pct).toBeLessThanOrEqual(last)
      last = m.readings().battery_pct
    }
    expect(last).toBeCloseTo(100 - 400 * 0.03, 9)
  })

  it('rejects impossible parameters', () => {
    expect(() => new PipePressureModel({ nightPressureBar: 2, peakPressureBar: 3 })).toThrow(/nightPressureBar/)
    expect(() => new PipePressureModel({ demandPattern: [1, 2] })).toThrow(/24/)
    expect(() => new PipePressureModel().apply({ type: 'burst', dropBar: 0 })).toThrow(RangeError)
  })
})
