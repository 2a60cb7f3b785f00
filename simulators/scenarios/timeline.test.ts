import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseScenario } from './parse.ts'
import type { Scenario } from './scenario.ts'
import { eventsBetween, eventsFor, meanRainfallRate, rainfallDepthMm, rainfallEndS, rainfallRateAt, selects, type TargetDevice } from './timeline.ts'

const TEXT = `name: t
description: timeline fixture
duration: "2:00:00"
source: { title: T, authors: A, year: 2020 }
rainfall:
  interval: "0:30:00"
  start: "0:10:00"
  values: [6, 12, 0, 24]
  select: { site: s1 }
events:
  - { at: "0:20:00", device: p1, action: recover }
  - { at: 0, select: { kind: pipe-pressure }, action: burst, params: { dropBar: 1 } }
  - { at: "0:20:00", select: { gateway: g2 }, action: fault, params: { mode: none } }
  - { at: 600, device: c1, action: impact, params: { count: 3, spacingS: 5 } }
  - { at: "1:59:59", device: c1, action: close-cover }
`
const parsed = parseScenario(TEXT, 't.yaml')
if (!parsed.scenario) throw new Error(JSON.stringify(parsed.issues))
const s: Scenario = parsed.scenario

const p1: TargetDevice = { id: 'p1', kind: 'pipe-pressure', site: 's1', gateway: 'g1' }
const c1: TargetDevice = { id: 'c1', kind: 'manhole-cover', site: 's2', gateway: 'g2' }

describe('events', () => {
  it('are sorted by time, file order breaking ties; an impact series is expanded', () => {
    expect(s.events.map((e) => [e.atS, e.action, e.index])).toEqual([
      [0, 'burst', 1],
      [600, 'impact', 3],
      [605, 'impact', 3],
      [610, 'impact', 3],
      [1200, 'recover', 0],
      [1200, 'fault', 2],
      [7199, 'close-cover', 4],
    ])
  })

  it('fall due in half-open windows [from, to)', () => {
    expect(eventsBetween(s, 0, 600).map((e) => e.atS)).toEqual([0])
    expect(eventsBetween(s, 600, 606).map((e) => e.atS)).toEqual([600, 605])
    expect(eventsBetween(s, 1200, 1200)).toEqual([])
    expect(eventsBetween(s, 7199, 7200).map((e) => e.action)).toEqual(['close-cover'])
  })

  it('are each delivered exactly once, in order, however the run is cut into steps', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 7200, noNaN: true }), { maxLength: 40 }), (cuts) => {
        const bounds = [0, ...cuts.sort((a, b) => a - b), 7200]
        const seen = bounds.slice(1).flatMap((to, i) => eventsBetween(s, bounds[i] ?? 0, to))
        expect(seen).toEqual([...s.events])
      }),
    )
  })

  it('are aimed by device id or selector', () => {
    expect(eventsFor(s, p1).map((e) => e.action)).toEqual(['burst', 'recover'])
    expect(eventsFor(s, c1).map((e) => e.action)).toEqual(['impact', 'impact', 'impact', 'fault', 'close-cover'])
    expect(eventsFor(s, c1, 601, 1201).map((e) => e.atS)).toEqual([605, 610, 1200])
  })

  it.each([
    [{ kind: 'pipe-pressure' as const }, true],
    [{ kind: 'pipe-pressure' as const, site: 's2' }, false],
    [{ gateway: 'g1', device: 'p1' }, true],
    [{ device: 'p2' }, false],
  ])('selector %j picks p1: %s', (sel, picked) => {
    expect(selects(sel, p1)).toBe(picked)
  })
})

describe('rainfall', () => {
  it.each([
    [0, 0],
    [599, 0],
    [600, 6],
    [2399, 6],
    [2400, 12],
    [4200, 0],
    [6000, 24],
    [7799, 24],
    [7800, 0],
  ])('at %i s it rains %f mm/h', (t, rate) => {
    expect(rainfallRateAt(s, t)).toBe(rate)
  })

  it('integrates exactly over any window, and windows add up', () => {
    expect(rainfallDepthMm(s, 0, rainfallEndS(s))).toBeCloseTo(3 + 6 + 0 + 12, 12)
    expect(meanRainfallRate(s, 600, 2400)).toBeCloseTo(6, 12)
    fc.assert(
      fc.property(fc.double({ min: -100, max: 9000, noNaN: true }), fc.double({ min: -100, max: 9000, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (x, y, f) => {
        const [a, b] = x < y ? [x, y] : [y, x]
        const m = a + (b - a) * f
        expect(rainfallDepthMm(s, a, m) + rainfallDepthMm(s, m, b)).toBeCloseTo(rainfallDepthMm(s, a, b), 9)
      }),
    )
  })

  it('falls only where its selector says', () => {
    expect(rainfallRateAt(s, 700, p1)).toBe(6) // site s1
    expect(rainfallRateAt(s, 700, c1)).toBe(0) // site s2
    expect(rainfallDepthMm(s, 0, 7200, c1)).toBe(0)
  })
})
