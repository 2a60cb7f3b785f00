import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Value } from '../../shared/codec/index.ts'
import type { Reading } from '../../shared/mqtt/messages.ts'
import type { ResolvedPoint, ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { PointError } from '../../shared/quality.ts'
import { INITIAL_RBE, rbeConfig, reportByException, type RbeConfig, type RbeState } from './rbe.ts'

const reading = (ts: number, values: Record<string, Value>, errors: Record<string, PointError> = {}): Reading => ({ device: 'd1', ts, values, errors, historical: false })

/** Runs readings through the filter; returns what came out of each (undefined: suppressed). */
function run(cfg: RbeConfig, readings: readonly Reading[]): (Pick<Reading, 'values' | 'errors'> | undefined)[] {
  let state: RbeState = INITIAL_RBE
  return readings.map((r) => {
    const out = reportByException(cfg, state, r)
    state = out.state
    return out.reading && { values: out.reading.values, errors: out.reading.errors }
  })
}

const TIMEOUT: PointError = { code: 'timeout' }
const SENTINEL: PointError = { code: 'sentinel', raw: 65535 }
const STUCK = (s: number): PointError => ({ code: 'stuck', raw: '3F57 0A3D', detail: `0.84 (registers 3F57 0A3D) unchanged for ${s} s; the profile allows 60 s` })
const cfg: RbeConfig = { deadbands: { level: 0.05 } }

describe('report by exception (table)', () => {
  const cases: { name: string; cfg?: RbeConfig; in: Reading[]; out: (Pick<Reading, 'values' | 'errors'> | undefined)[] }[] = [
    {
      name: 'the first reading passes whole',
      in: [reading(0, { level: 1, open: false, serial: 'A' })],
      out: [{ values: { level: 1, open: false, serial: 'A' }, errors: {} }],
    },
    {
      name: 'unchanged values are suppressed',
      in: [reading(0, { level: 1, open: false }), reading(1, { level: 1, open: false })],
      out: [{ values: { level: 1, open: false }, errors: {} }, undefined],
    },
    {
      name: 'within the deadband: suppressed; beyond: only that point',
      in: [reading(0, { level: 1, temp: 10 }), reading(1, { level: 1.04, temp: 10 }), reading(2, { level: 1.06, temp: 10 })],
      out: [{ values: { level: 1, temp: 10 }, errors: {} }, undefined, { values: { level: 1.06 }, errors: {} }],
    },
    {
      name: 'compared with the last REPORTED value: a slow drift is reported once it adds up',
      in: [reading(0, { level: 1 }), reading(1, { level: 1.03 }), reading(2, { level: 1.06 }), reading(3, { level: 1.09 }), reading(4, { level: 1.12 })],
      out: [{ values: { level: 1 }, errors: {} }, undefined, { values: { level: 1.06 }, errors: {} }, undefined, { values: { level: 1.12 }, errors: {} }],
    },
    {
      name: 'exactly the deadband is not beyond it',
      cfg: { deadbands: { n: 2 } },
      in: [reading(0, { n: 10 }), reading(1, { n: 12 }), reading(2, { n: 7 })],
      out: [{ values: { n: 10 }, errors: {} }, undefined, { values: { n: 7 }, errors: {} }],
    },
    {
      name: 'no deadband: any change of a number',
      in: [reading(0, { temp: 10 }), reading(1, { temp: 10 }), reading(2, { temp: 10.1 })],
      out: [{ values: { temp: 10 }, errors: {} }, undefined, { values: { temp: 10.1 }, errors: {} }],
    },
    {
      name: 'booleans and strings on any change; deadbands do not apply to them',
      cfg: { deadbands: { open: 5, serial: 5 } },
      in: [reading(0, { open: false, serial: 'A' }), reading(1, { open: true, serial: 'A' }), reading(2, { open: true, serial: 'B' })],
      out: [{ values: { open: false, serial: 'A' }, errors: {} }, { values: { open: true }, errors: {} }, { values: { serial: 'B' }, errors: {} }],
    },
    {
      name: 'an error is reported when it appears, not while it stays',
      in: [reading(0, { level: 1 }), reading(1, {}, { level: TIMEOUT }), reading(2, {}, { level: TIMEOUT })],
      out: [{ values: { level: 1 }, errors: {} }, { values: {}, errors: { level: TIMEOUT } }, undefined],
    },
    {
      name: 'an error that changes is reported',
      in: [reading(0, {}, { level: TIMEOUT }), reading(1, {}, { level: SENTINEL }), reading(2, {}, { level: { code: 'exception', exception: 2 } }), reading(3, {}, { level: { code: 'exception', exception: 4 } })],
      out: [
        { values: {}, errors: { level: TIMEOUT } },
        { values: {}, errors: { level: SENTINEL } },
        { values: {}, errors: { level: { code: 'exception', exception: 2 } } },
        { values: {}, errors: { level: { code: 'exception', exception: 4 } } },
      ],
    },
    {
      name: 'a wandering raw value of the same error is not a change',
      in: [reading(0, {}, { level: { code: 'out_of_range', raw: 11 } }), reading(1, {}, { level: { code: 'out_of_range', raw: 12, detail: 'x' } })],
      out: [{ values: {}, errors: { level: { code: 'out_of_range', raw: 11 } } }, undefined],
    },
    {
      name: 'an error clearing reports the value, even inside the deadband',
      in: [reading(0, { level: 1 }), reading(1, {}, { level: TIMEOUT }), reading(2, { level: 1.01 })],
      out: [{ values: { level: 1 }, errors: {} }, { values: {}, errors: { level: TIMEOUT } }, { values: { level: 1.01 }, errors: {} }],
    },
    {
      name: 'a change of type is a change',
      in: [reading(0, { x: 1 }), reading(1, { x: '1' }), reading(2, { x: true })],
      out: [{ values: { x: 1 }, errors: {} }, { values: { x: '1' }, errors: {} }, { values: { x: true }, errors: {} }],
    },
    {
      name: 'heartbeat: everything in the reading once any point has been silent that long',
      cfg: { deadbands: { level: 0.05 }, heartbeatMs: 10_000 },
      in: [reading(0, { level: 1, open: false }), reading(5_000, { level: 1, open: false }), reading(9_999, { level: 1, open: false }), reading(10_000, { level: 1.01, open: false }), reading(15_000, { level: 1.01, open: false })],
      out: [{ values: { level: 1, open: false }, errors: {} }, undefined, undefined, { values: { level: 1.01, open: false }, errors: {} }, undefined],
    },
    {
      name: 'heartbeat repeats standing errors too',
      cfg: { deadbands: {}, heartbeatMs: 1000 },
      in: [reading(0, { a: 1 }, { b: TIMEOUT }), reading(500, { a: 1 }, { b: TIMEOUT }), reading(1000, { a: 1 }, { b: TIMEOUT })],
      out: [{ values: { a: 1 }, errors: { b: TIMEOUT } }, undefined, { values: { a: 1 }, errors: { b: TIMEOUT } }],
    },
    {
      name: 'a stuck sensor: the error goes once (its growing detail is no change), again on heartbeat; the first changed value clears it whatever the deadband',
      cfg: { deadbands: { level: 0.05 }, heartbeatMs: 1000 },
      in: [
        reading(0, { level: 0.84 }),
        reading(400, {}, { level: STUCK(61) }),
        reading(800, {}, { level: STUCK(62) }),
        reading(1400, {}, { level: STUCK(63) }),
        reading(1500, { level: 0.85 }),
      ],
      out: [
        { values: { level: 0.84 }, errors: {} },
        { values: {}, errors: { level: STUCK(61) } },
        undefined,
        { values: {}, errors: { level: STUCK(63) } },
        { values: { level: 0.85 }, errors: {} },
      ],
    },
    {
      name: 'a point reported for its change restarts its own heartbeat; the reading goes whole when another point is due',
      cfg: { deadbands: {}, heartbeatMs: 1000 },
      in: [reading(0, { a: 1, b: 1 }), reading(600, { a: 2, b: 1 }), reading(1000, { a: 2, b: 1 }), reading(1500, { a: 2, b: 1 })],
      out: [{ values: { a: 1, b: 1 }, errors: {} }, { values: { a: 2 }, errors: {} }, { values: { a: 2, b: 1 }, errors: {} }, undefined],
    },
    {
      name: 'fast and slow sweeps: slow points get their heartbeat on slow sweeps',
      cfg: { deadbands: {}, heartbeatMs: 1000 },
      in: [reading(0, { fast: 1, slow: 1 }), reading(400, { fast: 1 }), reading(800, { fast: 1 }), reading(1200, { fast: 1 }), reading(1250, { slow: 1 })],
      out: [{ values: { fast: 1, slow: 1 }, errors: {} }, undefined, undefined, { values: { fast: 1 }, errors: {} }, { values: { slow: 1 }, errors: {} }],
    },
    {
      name: 'a point seen for the first time makes the reading go whole',
      in: [reading(0, { level: 1 }), reading(1, { level: 1, battery: 90 })],
      out: [{ values: { level: 1 }, errors: {} }, { values: { level: 1, battery: 90 }, errors: {} }],
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      expect(run(c.cfg ?? cfg, c.in)).toEqual(c.out)
    })
  }

  it('keeps device, ts and historical of the reading', () => {
    const out = reportByException(cfg, INITIAL_RBE, { device: 'mh-7', ts: 1234, values: { a: 1 }, errors: {}, historical: false })
    expect(out.reading).toEqual({ device: 'mh-7', ts: 1234, values: { a: 1 }, errors: {}, historical: false })
  })

  it('does not change the state it was given', () => {
    const first = reportByException(cfg, INITIAL_RBE, reading(0, { level: 1 }))
    const snapshot = new Map(first.state.points)
    reportByException(cfg, first.state, reading(1, { level: 2 }))
    expect(first.state.points).toEqual(snapshot)
    expect(INITIAL_RBE.points.size).toBe(0)
  })
})

describe('properties', () => {
  it('every reported number differs from the previous report by more than the deadband, and every read value is within the deadband of the last report', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 5, noNaN: true }), fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 60 }), (db, xs) => {
        const c: RbeConfig = { deadbands: { x: db } }
        let state = INITIAL_RBE
        let last: number | undefined
        xs.forEach((x, i) => {
          const out = reportByException(c, state, reading(i, { x }))
          state = out.state
          const sent = out.reading?.values.x
          if (sent !== undefined) {
            if (last !== undefined) expect(Math.abs((sent as number) - last)).toBeGreaterThan(db)
            last = sent as number
          }
          expect(Math.abs(x - (last ?? Number.NaN))).toBeLessThanOrEqual(db)
        })
      }),
    )
  })

  it('with a heartbeat, no point of a steady stream goes unreported longer than the heartbeat', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 20 }), (hbSteps, n) => {
        const c: RbeConfig = { deadbands: {}, heartbeatMs: hbSteps * 100 }
        let state = INITIAL_RBE
        let lastSent = 0
        for (let i = 0; i < n * hbSteps; i++) {
          const out = reportByException(c, state, reading(i * 100, { a: 1, b: 'x' }))
          state = out.state
          if (out.reading) {
            expect(out.reading.values).toEqual({ a: 1, b: 'x' })
            lastSent = i * 100
          }
          expect(i * 100 - lastSent).toBeLessThan(hbSteps * 100)
        }
      }),
    )
  })
})

describe('rbeConfig', () => {
  const p = (name: string, deadband?: number): ResolvedPoint => ({
    name,
    table: 'input',
    address: 0,
    registers: 1,
    type: 'uint16',
    order: 'ABCD',
    scale: 1,
    offset: 0,
    access: 'read',
    sentinels: [],
    poll: 'fast',
    ...(deadband !== undefined && { deadband }),
  })
  const profile = (heartbeatS?: number): ResolvedProfile => ({
    id: 't@1',
    kind: 'water-level',
    vendor: 'T',
    model: 'T',
    firmware: '1',
    ...(heartbeatS !== undefined && { heartbeatS }),
    quirks: { maxRegistersPerRequest: 125, maxBitsPerRequest: 2000, oneRequestPerField: false, pauseBetweenRequestsMs: 0, turnaroundMs: 0, forbiddenRanges: [] },
    points: [p('level', 0.005), p('temp', 0.5), p('status')],
  })

  it("takes the profile's deadbands and heartbeat", () => {
    expect(rbeConfig(profile(900))).toEqual({ deadbands: { level: 0.005, temp: 0.5 }, heartbeatMs: 900_000 })
  })
  it('device overrides win, point by point; the device heartbeat wins', () => {
    expect(rbeConfig(profile(900), { temp: 1, status: 0 }, 60)).toEqual({ deadbands: { level: 0.005, temp: 1, status: 0 }, heartbeatMs: 60_000 })
  })
  it('no heartbeat anywhere: changes only', () => {
    expect(rbeConfig(profile())).toEqual({ deadbands: { level: 0.005, temp: 0.5 } })
  })
  it.each([
    [{ nope: 1 }, undefined, /not a point/],
    [{ level: -1 }, undefined, /≥ 0/],
    [{ level: Number.NaN }, undefined, /finite/],
    [{}, 0, /heartbeatS/],
  ])('refuses deadbands %o heartbeat %s', (db, hb, msg) => {
    expect(() => rbeConfig(profile(), db, hb)).toThrow(msg)
  })
})
