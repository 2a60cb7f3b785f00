import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { POINT_ERROR_CODES } from '../../shared/quality.ts'
import { SENSOR_KINDS } from '../../shared/profile/schema.ts'
import type { StoredReading } from '../model.ts'
import { toLineProtocol } from './influxdb1.ts'
import { escapeKey, escapeMeasurement, lineProtocolBodies, quoteString } from './line-protocol.ts'

const base: StoredReading = { site: 's1', gateway: 'gw-1', device: 'wl-1', kind: 'water-level', ts: 1_735_689_600_000, values: {}, errors: {}, historical: false, seq: 7 }
const line = (over: Partial<StoredReading>) => toLineProtocol([{ ...base, ...over }])[0]
const TAGS = 'water-level,device=wl-1,gateway=gw-1,kind=water-level,site=s1'

describe('toLineProtocol', () => {
  it.each([
    ['a float', { level_m: 1.25 }, 'level_m=1.25'],
    ['an integral number stays a float (no i suffix)', { count: 42 }, 'count=42'],
    ['a negative number in exponent form', { tiny: -1.5e-7 }, 'tiny=-1.5e-7'],
    ['a large number', { big: 1e21 }, 'big=1e+21'],
    ['negative zero as 0', { z: -0 }, 'z=0'],
    ['booleans', { on: true, off: false }, 'on=true,off=false'],
    ['a string', { mode: 'auto' }, 'mode="auto"'],
    ['a string with quotes, backslashes, commas, spaces and =', { s: 'a "b" c\\d, e=f' }, 's="a \\"b\\" c\\\\d, e=f"'],
    ['a string with a newline (kept inside the quotes)', { s: 'x\ny' }, 's="x\ny"'],
    ['NaN becomes the error nan', { bad: Number.NaN }, 'bad__error="nan"'],
    ['Infinity becomes the error nan', { bad: Number.POSITIVE_INFINITY, worse: Number.NEGATIVE_INFINITY }, 'bad__error="nan",worse__error="nan"'],
  ] as const)('encodes %s', (_, values, fields) => {
    expect(line({ values })).toBe(`${TAGS} ${fields},historical=false,seq=7i 1735689600000`)
  })

  it('writes errors as <point>__error code strings, historical and seq', () => {
    expect(line({ values: { level_m: 2 }, errors: { flow: { code: 'exception', exception: 2, detail: 'illegal address' } }, historical: true, seq: 123 })).toBe(
      `${TAGS} level_m=2,flow__error="exception",historical=true,seq=123i 1735689600000`,
    )
  })

  it('uses the kind as measurement and escapes tags', () => {
    expect(line({ kind: 'manhole-cover', site: 'north side', gateway: 'g,1', device: 'd=1', values: { open: false } })).toBe(
      'manhole-cover,device=d\\=1,gateway=g\\,1,kind=manhole-cover,site=north\\ side open=false,historical=false,seq=7i 1735689600000',
    )
  })

  it.each([
    ['measurement', escapeMeasurement('a b,c=d'), 'a\\ b\\,c=d'],
    ['tag or field key', escapeKey('a b,c=d'), 'a\\ b\\,c\\=d'],
    ['string value', quoteString('say "hi" \\o/'), '"say \\"hi\\" \\\\o/"'],
  ])('escapes a %s', (_, got, want) => {
    expect(got).toBe(want)
  })

  it('never emits NaN or Infinity as a value', () => {
    const lines = toLineProtocol([{ ...base, values: { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: Number.NEGATIVE_INFINITY, d: 1 } }])
    expect(lines[0]).not.toMatch(/=(NaN|-?Infinity|inf)\b/i)
  })

  it('emits one line per reading, in order', () => {
    const lines = toLineProtocol([
      { ...base, ts: 2, values: { a: 1 } },
      { ...base, ts: 1, values: { a: 2 } },
    ])
    expect(lines.map((l) => l.split(' ').at(-1))).toEqual(['2', '1'])
  })

  it.each([
    ['historical', { historical: 1 }],
    ['seq', { seq: 1 }],
    ['time', { time: 1 }],
    ['a point ending in __error', { x__error: 1 }],
  ])('refuses a point named like a store field: %s', (_, values) => {
    expect(() => line({ values })).toThrow(/reading of gw-1\/wl-1 at 1735689600000: point ".*"/)
  })

  it('refuses names a line cannot carry', () => {
    expect(() => line({ device: 'a\nb' })).toThrow(/cannot encode/)
    expect(() => line({ device: 'ends\\' })).toThrow(/cannot encode/)
    expect(() => line({ device: '' })).toThrow(/cannot encode/)
  })
})

describe('lineProtocolBodies', () => {
  const text = (bodies: Uint8Array[]): string[] => bodies.map((b) => new TextDecoder().decode(b))
  const name = fc.oneof(fc.constantFrom('level_m', 'open', 'mode', 'a b', 'c,d', 'e=f', 'ü'), fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/))
  const tag = fc.oneof(fc.constantFrom('gw-1', 'north side', 'g,1', 'd=1', 'wl-ü'), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_ ,=-]{0,12}$/))
  const reading: fc.Arbitrary<StoredReading> = fc.record({
    site: tag,
    gateway: tag,
    device: tag,
    kind: fc.constantFrom(...SENSOR_KINDS),
    ts: fc.oneof(fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.double({ min: -1e22, max: 1e22, noNaN: true }), fc.constantFrom(0, -0, -1.5, 1e21, 2 ** 53 + 2)),
    values: fc.dictionary(name, fc.oneof(fc.double(), fc.integer(), fc.boolean(), fc.string({ maxLength: 20 }), fc.string({ maxLength: 10, unit: 'binary' })), { maxKeys: 5 }),
    errors: fc.dictionary(name, fc.record({ code: fc.constantFrom(...POINT_ERROR_CODES) }), { maxKeys: 3 }),
    historical: fc.boolean(),
    seq: fc.oneof(fc.maxSafeNat(), fc.double({ min: 0, max: 1e20, noNaN: true })),
  })

  it('holds the lines of toLineProtocol, byte for byte, split every N lines', () => {
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), (readings, n) => {
        const lines = toLineProtocol(readings)
        const want: string[] = []
        for (let i = 0; i < lines.length; i += n) want.push(lines.slice(i, i + n).join('\n'))
        expect(text(lineProtocolBodies(readings, n))).toEqual(want)
      }),
      { numRuns: 500 },
    )
  })

  it('throws what toLineProtocol throws', () => {
    expect(() => lineProtocolBodies([{ ...base, values: { seq: 1 } }], 5000)).toThrow(/reading of gw-1\/wl-1 at 1735689600000: point "seq"/)
    expect(() => lineProtocolBodies([{ ...base, device: 'a\nb' }], 5000)).toThrow(/cannot encode/)
  })

  it('returns no body for no readings', () => {
    expect(lineProtocolBodies([], 5000)).toEqual([])
  })
})
