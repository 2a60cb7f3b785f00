import { describe, expect, it } from 'vitest'
import type { ReadResult } from '../drivers/transport.ts'
import { planReads } from './plan.ts'
import { decodeSweep, failureError, isAnswer, shouldStop, type RequestResult } from './sweep.ts'
import { pumpStation } from './test-support/profiles.ts'

const profile = pumpStation()
/** discrete 0..0 [open]; input 0..2 [level_m, flow_lps] */
const fast = planReads(profile, { pollClass: 'fast' })
/** coil 0 [lock]; holding 0..1 [setpoint_m, heater_enable, pump_enable]; input 3 [battery_pct] */
const slow = planReads(profile, { pollClass: 'slow' })

const data = (...d: number[]): ReadResult => ({ ok: true, data: d, latencyMs: 1 })
const exc = (code: number): ReadResult => ({ ok: false, failure: { kind: 'exception', code }, latencyMs: 1 })
const TIMEOUT: ReadResult = { ok: false, failure: { kind: 'timeout' }, latencyMs: 100 }
const CRC: ReadResult = { ok: false, failure: { kind: 'crc', detail: 'bad CRC' }, latencyMs: 5 }
const LINK: ReadResult = { ok: false, failure: { kind: 'transport', detail: 'ECONNREFUSED' }, latencyMs: 0 }
const SKIP: RequestResult = { skipped: true }
const NOT_ASKED = 'not asked: the device did not answer an earlier read of this sweep'

describe('failureError', () => {
  it.each([
    [{ kind: 'exception', code: 2 } as const, { code: 'exception', exception: 2 }],
    [{ kind: 'timeout' } as const, { code: 'timeout' }],
    [{ kind: 'crc' } as const, { code: 'crc' }],
    [{ kind: 'crc', detail: 'x' } as const, { code: 'crc', detail: 'x' }],
    [{ kind: 'transport', detail: 'y'.repeat(300) } as const, { code: 'transport', detail: `${'y'.repeat(199)}…` }],
  ])('%o → %o', (f, e) => expect(failureError(f)).toEqual(e))
})

describe('shouldStop / isAnswer', () => {
  it.each([
    [TIMEOUT, false, true],
    [LINK, false, true],
    [TIMEOUT, true, false],
    [CRC, false, false],
    [exc(2), false, false],
    [data(1), false, false],
  ])('%o after answered=%s → stop %s', (r, before, stop) => expect(shouldStop(r, before)).toBe(stop))
  it('exceptions and corrupt frames are answers; silence and a broken link are not', () => {
    expect([data(1), exc(4), CRC, TIMEOUT, LINK].map(isAnswer)).toEqual([true, true, true, false, false])
  })
})

describe('decodeSweep (table)', () => {
  const cases: { name: string; plan: typeof fast; results: RequestResult[]; values: object; errors: object; outcome: object }[] = [
    {
      name: 'every read answered',
      plan: fast,
      results: [data(1), data(1234, 0x4120, 0x0000)],
      values: { open: true, level_m: 1.234, flow_lps: 10 },
      errors: {},
      outcome: { kind: 'ok' },
    },
    {
      name: 'sentinel and NaN become errors, not numbers',
      plan: fast,
      results: [data(0), data(65535, 0x7fc0, 0x0000)],
      values: { open: false },
      errors: { level_m: { code: 'sentinel', raw: 65535 }, flow_lps: { code: 'nan' } },
      outcome: { kind: 'ok' },
    },
    {
      name: 'out of range is an error',
      plan: fast,
      results: [data(0), data(10_001, 0, 0)],
      values: { open: false, flow_lps: 0 },
      errors: { level_m: { code: 'out_of_range' } },
      outcome: { kind: 'ok' },
    },
    {
      name: 'an exception on one read: its points only; the sweep is ok',
      plan: fast,
      results: [exc(2), data(1000, 0, 0)],
      values: { level_m: 1, flow_lps: 0 },
      errors: { open: { code: 'exception', exception: 2 } },
      outcome: { kind: 'ok' },
    },
    {
      name: 'a timeout after an answer: its points only',
      plan: fast,
      results: [data(1), TIMEOUT],
      values: { open: true },
      errors: { level_m: { code: 'timeout' }, flow_lps: { code: 'timeout' } },
      outcome: { kind: 'ok' },
    },
    {
      name: 'CRC error on a read',
      plan: fast,
      results: [CRC, data(5, 0, 0)],
      values: { level_m: 0.005, flow_lps: 0 },
      errors: { open: { code: 'crc', detail: 'bad CRC' } },
      outcome: { kind: 'ok' },
    },
    {
      name: 'first read silent, the rest not asked: failed, timeout everywhere',
      plan: fast,
      results: [TIMEOUT, SKIP],
      values: {},
      errors: { open: { code: 'timeout' }, level_m: { code: 'timeout', detail: NOT_ASKED }, flow_lps: { code: 'timeout', detail: NOT_ASKED } },
      outcome: { kind: 'failed', error: { code: 'timeout' } },
    },
    {
      name: 'broken link: transport everywhere',
      plan: fast,
      results: [LINK, SKIP],
      values: {},
      errors: { open: { code: 'transport', detail: 'ECONNREFUSED' }, level_m: { code: 'transport', detail: NOT_ASKED }, flow_lps: { code: 'transport', detail: NOT_ASKED } },
      outcome: { kind: 'failed', error: { code: 'transport', detail: 'ECONNREFUSED' } },
    },
    {
      name: 'every read refused with 02: mismatch',
      plan: slow,
      results: [exc(2), exc(2), exc(2)],
      values: {},
      errors: {
        lock: { code: 'exception', exception: 2 },
        setpoint_m: { code: 'exception', exception: 2 },
        heater_enable: { code: 'exception', exception: 2 },
        pump_enable: { code: 'exception', exception: 2 },
        battery_pct: { code: 'exception', exception: 2 },
      },
      outcome: { kind: 'mismatch', error: { code: 'exception', exception: 2 } },
    },
    {
      name: 'refusals 01/03 mixed: still mismatch',
      plan: slow,
      results: [exc(1), exc(3), exc(2)],
      values: {},
      errors: { lock: { code: 'exception', exception: 1 } },
      outcome: { kind: 'mismatch' },
    },
    {
      name: 'every read answered 04 (device failure): failed, not mismatch',
      plan: fast,
      results: [exc(4), exc(4)],
      values: {},
      errors: { open: { code: 'exception', exception: 4 } },
      outcome: { kind: 'failed', error: { code: 'exception', exception: 4 } },
    },
    {
      name: 'gateway target failed to respond (0B) on every read: failed',
      plan: fast,
      results: [exc(0x0b), exc(0x0b)],
      values: {},
      errors: { level_m: { code: 'exception', exception: 11 } },
      outcome: { kind: 'failed' },
    },
    {
      name: 'refusal and CRC, no data: failed',
      plan: fast,
      results: [exc(2), CRC],
      values: {},
      errors: { open: { code: 'exception', exception: 2 }, level_m: { code: 'crc', detail: 'bad CRC' } },
      outcome: { kind: 'failed', error: { code: 'crc', detail: 'bad CRC' } },
    },
    {
      name: 'an answer shorter than asked: the uncovered points get decode errors',
      plan: fast,
      results: [data(1), data(1000)],
      values: { open: true, level_m: 1 },
      errors: { flow_lps: { code: 'decode', detail: 'the answer was shorter than the read asked for' } },
      outcome: { kind: 'ok' },
    },
    {
      name: 'a bit point and its register read in one block',
      plan: slow,
      results: [data(1), data(2500, 0b101), data(87)],
      values: { lock: true, setpoint_m: 2.5, heater_enable: true, pump_enable: true, battery_pct: 87 },
      errors: {},
      outcome: { kind: 'ok' },
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const r = decodeSweep(c.plan, c.results, profile.points)
      expect(r.values).toEqual(c.values)
      expect(r.errors).toMatchObject(c.errors)
      expect(r.outcome).toMatchObject(c.outcome)
    })
  }

  it('every planned point lands in values or errors, never both', () => {
    for (const results of [
      [data(1), data(1, 2, 3)],
      [TIMEOUT, SKIP],
      [exc(2), data(65535, 0x7fc0, 0)],
      [data(0), data(7)],
    ] as RequestResult[][]) {
      const r = decodeSweep(fast, results, profile.points)
      const names = fast.flatMap((q) => q.points).sort()
      expect([...Object.keys(r.values), ...Object.keys(r.errors)].sort()).toEqual(names)
    }
  })

  it('refuses results that do not match the plan', () => {
    expect(() => decodeSweep(fast, [data(1)], profile.points)).toThrow(/1 results for 2/)
  })
})
