import { describe, expect, it } from 'vitest'
import { planWrite, writeFailure } from './write.ts'
import { pumpStation } from './test-support/profiles.ts'

const profile = pumpStation()

describe('planWrite (table)', () => {
  it.each([
    ['setpoint_m', 2.5, { table: 'holding', address: 0, words: [2500] }],
    ['lock', true, { table: 'coil', address: 0, words: [1] }],
    ['lock', false, { table: 'coil', address: 0, words: [0] }],
    ['pump_enable', true, { table: 'holding', address: 1, words: [4], bit: { bit: 2, value: true } }],
    ['heater_enable', false, { table: 'holding', address: 1, words: [0], bit: { bit: 0, value: false } }],
  ] as const)('%s = %s', (point, value, plan) => {
    const r = planWrite(profile, point, value)
    expect(r.ok && r.value).toMatchObject(plan)
  })

  it.each([
    ['nope', 1, 'unknown_point', /no point "nope"/],
    ['level_m', 1, 'not_writable', /read-only/],
    ['battery_pct', 50, 'not_writable', /read-only/],
    ['setpoint_m', 'high', 'invalid', /takes a number, not a string/],
    ['lock', 1, 'invalid', /takes a boolean/],
    ['setpoint_m', 6, 'out_of_range', /setpoint_m: .*5/],
    ['setpoint_m', -1, 'out_of_range', /setpoint_m/],
    ['setpoint_m', Number.NaN, 'out_of_range', /finite/],
  ] as const)('%s = %s → %s', (point, value, code, message) => {
    const r = planWrite(profile, point, value)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error.code).toBe(code)
      expect(r.error.message).toMatch(message)
    }
  })

  it('a readwrite point in a read-only table is refused', () => {
    const odd = { ...profile, points: profile.points.map((p) => (p.name === 'level_m' ? { ...p, access: 'readwrite' as const } : p)) }
    const r = planWrite(odd, 'level_m', 1)
    expect(!r.ok && r.error).toMatchObject({ code: 'not_writable', message: expect.stringMatching(/input table/) })
  })
})

describe('writeFailure', () => {
  it.each([
    [{ kind: 'timeout' } as const, { code: 'timeout', cause: { code: 'timeout' } }],
    [{ kind: 'exception', code: 2 } as const, { code: 'device_error', cause: { code: 'exception', exception: 2 } }],
    [{ kind: 'crc' } as const, { code: 'device_error', cause: { code: 'crc' } }],
    [{ kind: 'transport', detail: 'closed' } as const, { code: 'device_error', cause: { code: 'transport', detail: 'closed' } }],
  ])('%o → %o', (f, e) => expect(writeFailure('setpoint_m', f)).toMatchObject(e))
})
