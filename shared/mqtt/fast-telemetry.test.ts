import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { POINT_ERROR_CODES, type PointError } from '../quality.ts'
import { isValidTelemetry } from './fast-telemetry.ts'
import { LIMITS, type PointValue, type Reading, type TelemetryBatch } from './messages.ts'
import { validateMessage } from './validate.ts'

const ADDRESS = { site: 'north', gateway: 'gw-01' }
const slowValid = (v: unknown, address = ADDRESS): boolean => validateMessage('telemetry', v, address).length === 0

const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/)
const pointName = fc.oneof(fc.constantFrom('level_m', 'temperature_c', 'battery_v', 'open'), fc.stringMatching(/^[a-z][a-z0-9_]{0,62}$/))
const ts = fc.oneof(fc.constantFrom(0, 1_735_689_600_000, LIMITS.timestampMs), fc.bigInt({ min: 0n, max: BigInt(LIMITS.timestampMs) }).map(Number))
const value: fc.Arbitrary<PointValue> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
  fc.string({ maxLength: LIMITS.stringValueLength }),
  fc.string({ maxLength: 100, unit: 'binary' }),
)
const pointError: fc.Arbitrary<PointError> = fc.record(
  {
    code: fc.constantFrom(...POINT_ERROR_CODES),
    exception: fc.integer({ min: 1, max: 255 }),
    raw: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 20 })),
    detail: fc.string({ maxLength: 200 }),
  },
  { requiredKeys: ['code'] },
)
const reading: fc.Arbitrary<Reading> = fc
  .record({
    device: fc.oneof(fc.constantFrom('d1', 'd2'), id),
    ts,
    historical: fc.boolean(),
    points: fc.uniqueArray(fc.tuple(pointName, fc.oneof(value.map((v) => ({ v })), pointError.map((e) => ({ e })))), { minLength: 1, maxLength: 6, selector: ([n]) => n }),
  })
  .map(({ device, ts, historical, points }) => {
    const values: Record<string, PointValue> = {}
    const errors: Record<string, PointError> = {}
    for (const [name, p] of points) {
      if ('v' in p) values[name] = p.v
      else errors[name] = p.e
    }
    return { device, ts, values, errors, historical }
  })
/** Valid batches; devices and timestamps drawn from small sets so that some share a sample time. */
const telemetry: fc.Arbitrary<TelemetryBatch> = fc.record({
  gateway: fc.constant(ADDRESS.gateway),
  seq: fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER), fc.maxSafeNat()),
  sentAt: ts,
  readings: fc.uniqueArray(
    fc.oneof(
      reading,
      reading.chain((r) => fc.constantFrom(1, 2, 3).map((t) => ({ ...r, ts: t }))),
    ),
    { minLength: 1, maxLength: 8, selector: (r) => `${r.device}\u0000${r.ts}` },
  ),
})

/** Values that break some rule somewhere, or that sit right at a limit. */
const nasty = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, 256, 2 ** 53, -0, 1e308, '', 'x', 'x'.repeat(256), 'x'.repeat(257), 'é'.repeat(256), '😀'.repeat(129), {}, [], [1], 'nan', 'exception', 'Level', 'gw-02', 'd1', 1, 2),
  fc.record({ code: fc.constantFrom<unknown>(...POINT_ERROR_CODES, 'bogus', 1), exception: fc.constantFrom<unknown>(0, 1, 255, 256, 1.5, '2') }, { requiredKeys: [] }),
)
const extraKey = fc.constantFrom('gateway', 'seq', 'sentAt', 'readings', 'device', 'ts', 'values', 'errors', 'historical', 'code', 'exception', 'raw', 'detail', 'level_m', 'x', 'Bad', '__proto__', 'constructor', '0')

type Mutation = { at: number; op: 'set' | 'delete' | 'add'; key: string; to: unknown }
const mutation: fc.Arbitrary<Mutation> = fc.record({ at: fc.nat(), op: fc.constantFrom('set' as const, 'delete' as const, 'add' as const), key: extraKey, to: nasty })

/** Every object and array in `v` (the root included). */
function containers(v: unknown, out: Array<Record<string, unknown> | unknown[]> = []): Array<Record<string, unknown> | unknown[]> {
  if (typeof v !== 'object' || v === null) return out
  out.push(v as Record<string, unknown>)
  for (const c of Object.values(v)) containers(c, out)
  return out
}

/** Applies mutations to a JSON copy, as the bytes a broken or hostile gateway might send. */
function mutate(batch: TelemetryBatch, ms: Mutation[]): unknown {
  const v = JSON.parse(JSON.stringify(batch)) as unknown
  for (const m of ms) {
    const all = containers(v)
    const c = all[m.at % all.length] as Record<string, unknown>
    const keys = Object.keys(c)
    const key = m.op === 'add' || keys.length === 0 ? m.key : (keys[m.at % keys.length] as string)
    if (m.op === 'delete') delete c[key]
    else Object.defineProperty(c, key, { value: JSON.parse(JSON.stringify(m.to) ?? 'null') as unknown, enumerable: true, writable: true, configurable: true })
  }
  // What decode sees: parsed JSON (so `__proto__` is an own key, and undefined/NaN are gone).
  return JSON.parse(JSON.stringify(v))
}

describe('isValidTelemetry (the fast path of decode)', () => {
  it('accepts what the full validator accepts, for ordinary valid batches', () => {
    fc.assert(
      fc.property(telemetry, (b) => {
        const v = JSON.parse(JSON.stringify(b)) as unknown
        expect(slowValid(v)).toBe(true)
        // The only thing it may leave to the full validator: strings longer in UTF-16 units than their limit in code points.
        const long = JSON.stringify(v).length > 0 && b.readings.some((r) => Object.values(r.values).some((x) => typeof x === 'string' && x.length > LIMITS.stringValueLength))
        if (!long) expect(isValidTelemetry(v, ADDRESS)).toBe(true)
      }),
      { numRuns: 500 },
    )
  })

  it('never accepts what the full validator rejects (mutated batches)', () => {
    fc.assert(
      fc.property(telemetry, fc.array(mutation, { minLength: 1, maxLength: 3 }), (b, ms) => {
        const v = mutate(b, ms)
        if (isValidTelemetry(v, ADDRESS)) expect(validateMessage('telemetry', v, ADDRESS)).toEqual([])
        if (isValidTelemetry(v)) expect(validateMessage('telemetry', v)).toEqual([])
      }),
      { numRuns: 3000 },
    )
  })

  it('never accepts arbitrary JSON the full validator rejects', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        if (isValidTelemetry(v, ADDRESS)) expect(slowValid(v)).toBe(true)
      }),
    )
  })

  const good = (): TelemetryBatch => ({
    gateway: 'gw-01',
    seq: 7,
    sentAt: 1_735_689_600_000,
    readings: [
      { device: 'd1', ts: 1_735_689_600_000, values: { level_m: 1.25, open: false, mode: 'auto' }, errors: { flow: { code: 'exception', exception: 2, raw: 3, detail: 'x' } }, historical: false },
      { device: 'd2', ts: 1_735_689_600_000, values: {}, errors: { flow: { code: 'timeout' } }, historical: true },
    ],
  })
  type Batch = ReturnType<typeof good>
  const r0 = (b: Batch) => b.readings[0] as Record<string, unknown> & Reading

  it.each<[string, (b: Batch) => unknown, boolean]>([
    ['a valid batch', (b) => b, true],
    ['two devices at the same ts, and a third', (b) => ({ ...b, readings: [...b.readings, { ...r0(b), device: 'd3' }] }), true],
    ['the same device and ts twice', (b) => ({ ...b, readings: [...b.readings, { ...r0(b) }] }), false],
    ['the same device and ts after a shared ts', (b) => ({ ...b, readings: [...b.readings, { ...r0(b), device: 'd3' }, { ...r0(b), device: 'd2', values: { a: 1 } }] }), false],
    ['another gateway than the topic', (b) => ({ ...b, gateway: 'gw-02' }), false],
    ['an unknown field', (b) => ({ ...b, extra: 1 }), false],
    ['a missing field', (b) => ({ gateway: b.gateway, seq: b.seq, readings: b.readings }), false],
    ['an unknown reading field', (b) => ({ ...b, readings: [{ ...r0(b), extra: 1 }] }), false],
    ['a point in values and errors', (b) => ({ ...b, readings: [{ ...r0(b), values: { flow: 1 } }] }), false],
    ['a reading without points', (b) => ({ ...b, readings: [{ ...r0(b), values: {}, errors: {} }] }), false],
    ['no readings', (b) => ({ ...b, readings: [] }), false],
    ['a bad point name', (b) => ({ ...b, readings: [{ ...r0(b), values: { Level: 1 } }] }), false],
    ['a value too long', (b) => ({ ...b, readings: [{ ...r0(b), values: { s: 'x'.repeat(257) } }] }), false],
    ['a null value', (b) => ({ ...b, readings: [{ ...r0(b), values: { s: null } }] }), false],
    ['a non-integer seq', (b) => ({ ...b, seq: 1.5 }), false],
    ['a negative ts', (b) => ({ ...b, readings: [{ ...r0(b), ts: -1 }] }), false],
    ['an unknown error code', (b) => ({ ...b, readings: [{ ...r0(b), errors: { flow: { code: 'bogus' } } }] }), false],
    ['an error field that is not one', (b) => ({ ...b, readings: [{ ...r0(b), errors: { flow: { code: 'crc', extra: 1 } } }] }), false],
    ['an exception out of range', (b) => ({ ...b, readings: [{ ...r0(b), errors: { flow: { code: 'exception', exception: 256 } } }] }), false],
    ['an array for values', (b) => ({ ...b, readings: [{ ...r0(b), values: [1] }] }), false],
  ])('%s: %s', (_, change, fast) => {
    const v = JSON.parse(JSON.stringify(change(good()))) as unknown
    expect(isValidTelemetry(v, ADDRESS)).toBe(fast)
    expect(slowValid(v)).toBe(fast)
  })

  it('leaves to the full validator what it cannot be sure of cheaply: 1e999 and long astral strings', () => {
    const inf = JSON.parse(JSON.stringify(good()).replace('1.25', '1e999')) as unknown
    expect(isValidTelemetry(inf, ADDRESS)).toBe(false)
    expect(slowValid(inf)).toBe(false)
    const astral = good()
    r0(astral).values = { s: '😀'.repeat(200) } // 400 UTF-16 units, 200 code points: valid
    expect(isValidTelemetry(astral, ADDRESS)).toBe(false)
    expect(slowValid(astral)).toBe(true)
  })

  it('refuses an own __proto__ key, as JSON.parse makes one', () => {
    const v = JSON.parse(JSON.stringify(good()).replace('"historical":false', '"historical":false,"__proto__":{}')) as unknown
    expect(isValidTelemetry(v, ADDRESS)).toBe(false)
    expect(slowValid(v)).toBe(false)
  })
})
