import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { POINT_ERROR_CODES, type PointError } from '../quality.ts'
import { SENSOR_KINDS } from '../profile/schema.ts'
import { decode, encode } from './decode.ts'
import { examples } from './examples.ts'
import {
  COMMAND_ERROR_CODES,
  LIMITS,
  type Birth,
  type CommandRequest,
  type CommandResponse,
  type DeviceEvent,
  type MessageByKind,
  type PointValue,
  type Reading,
  type State,
  type TelemetryBatch,
} from './messages.ts'
import { TOPIC_KINDS, topicFor, type TopicKind } from './topics.ts'

const SITE = 'north'
const GATEWAY = 'gw-01'

const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/)
const pointName = fc.stringMatching(/^[a-z][a-z0-9_]{0,62}$/)
const ts = fc.bigInt({ min: 0n, max: BigInt(LIMITS.timestampMs) }).map(Number)
const counter = fc.maxSafeNat()
/** Up to `maxLength` code points, as JSON Schema (and TypeBox) count string length. */
const text = (maxLength: number) => fc.string({ minLength: 1, maxLength, unit: 'binary' })
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

/** A reading whose points are split between values and errors, never in both. */
const reading: fc.Arbitrary<Reading> = fc
  .record({
    device: id,
    ts,
    historical: fc.boolean(),
    points: fc.uniqueArray(fc.tuple(pointName, fc.oneof(value.map((v) => ({ v })), pointError.map((e) => ({ e })))), {
      minLength: 1,
      maxLength: 8,
      selector: ([name]) => name,
    }),
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

const telemetry: fc.Arbitrary<TelemetryBatch> = fc.record({
  gateway: fc.constant(GATEWAY),
  seq: counter,
  sentAt: ts,
  readings: fc.uniqueArray(reading, { minLength: 1, maxLength: 5, selector: (r) => `${r.device}\u0000${r.ts}` }),
})

const state: fc.Arbitrary<State> = fc.record(
  { state: fc.constantFrom('online' as const, 'offline' as const), session: counter, ts },
  { requiredKeys: ['state', 'session'] },
)

const birth: fc.Arbitrary<Birth> = fc.record({
  gateway: fc.constant(GATEWAY),
  site: fc.constant(SITE),
  session: counter,
  ts,
  agent: fc.record({ name: text(64), version: text(64) }),
  devices: fc.uniqueArray(
    fc.record(
      {
        device: id,
        profile: fc.stringMatching(/^[a-z0-9]+(?:-[a-z0-9]+)*@[0-9A-Za-z][0-9A-Za-z._-]*$/),
        firmware: text(64),
        kind: fc.constantFrom(...SENSOR_KINDS),
        bus: text(128),
        unit: fc.integer({ min: 0, max: 255 }),
        location: fc.record({
          lat: fc.double({ min: -90, max: 90, noNaN: true }),
          lon: fc.double({ min: -180, max: 180, noNaN: true }),
        }),
        asset: text(64),
      },
      { requiredKeys: ['device', 'profile', 'firmware', 'kind', 'bus'] },
    ),
    { maxLength: 6, selector: (d) => d.device },
  ),
})

const event: fc.Arbitrary<DeviceEvent> = fc.oneof(
  fc.record({ device: id, ts, event: fc.constant('available' as const), reason: text(200) }, { requiredKeys: ['device', 'ts', 'event'] }),
  fc.record(
    { device: id, ts, event: fc.constant('unavailable' as const), reason: text(200), error: pointError },
    { requiredKeys: ['device', 'ts', 'event'] },
  ),
  fc.record({ device: id, ts, event: fc.constant('profile_mismatch' as const), reason: text(200) }),
)

const commandBase = { id: text(64), ts, timeoutMs: fc.integer({ min: LIMITS.timeoutMs.min, max: LIMITS.timeoutMs.max }) }
const command: fc.Arbitrary<CommandRequest> = fc.oneof(
  fc.record({ type: fc.constant('write' as const), ...commandBase, device: id, point: pointName, value }, { requiredKeys: ['type', 'id', 'ts', 'device', 'point', 'value'] }),
  fc.record({ type: fc.constant('read' as const), ...commandBase, device: id }, { requiredKeys: ['type', 'id', 'ts', 'device'] }),
  fc.record({ type: fc.constant('rebirth' as const), ...commandBase }, { requiredKeys: ['type', 'id', 'ts'] }),
  fc.record(
    { type: fc.constant('set-interval' as const), ...commandBase, device: id, intervalMs: fc.integer({ min: LIMITS.intervalMs.min, max: LIMITS.intervalMs.max }) },
    { requiredKeys: ['type', 'id', 'ts', 'device', 'intervalMs'] },
  ),
)

const response: fc.Arbitrary<CommandResponse> = fc.oneof(
  fc.record({ id: text(64), ts, ok: fc.constant(true as const), result: reading }, { requiredKeys: ['id', 'ts', 'ok'] }),
  fc.record({
    id: text(64),
    ts,
    ok: fc.constant(false as const),
    error: fc.record(
      { code: fc.constantFrom(...COMMAND_ERROR_CODES), message: text(500), cause: pointError },
      { requiredKeys: ['code', 'message'] },
    ),
  }),
)

const messages: { [K in TopicKind]: fc.Arbitrary<MessageByKind[K]> } = {
  telemetry,
  state,
  birth,
  events: event,
  command,
  'command/response': response,
}

/** Any valid (kind, message) pair. */
const validMessage = fc.oneof(...TOPIC_KINDS.map((kind) => messages[kind].map((message) => ({ kind, message }) as { kind: TopicKind; message: unknown })))

const topicLevel = fc.oneof(
  fc.constantFrom('muni', 'v1', 'v2', SITE, GATEWAY, '+', '#', '', '$SYS', ...TOPIC_KINDS, 'response'),
  fc.string({ maxLength: 8, unit: 'binary' }),
)
const topic = fc.oneof(
  fc.constantFrom(...TOPIC_KINDS.map((k) => topicFor(k, SITE, GATEWAY))),
  fc.array(topicLevel, { maxLength: 7 }).map((levels) => levels.join('/')),
  fc.string({ unit: 'binary' }),
)
/** A valid message with one field replaced or added: close to valid, the interesting region. */
const nearlyValid = fc
  .tuple(validMessage, fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }))
  .map(([{ message }, key, v]) => JSON.stringify({ ...(message as object), [key]: v }))
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.string({ unit: 'binary' }),
  fc.json({ maxDepth: 4 }),
  nearlyValid,
  nearlyValid.map((s) => new TextEncoder().encode(s)),
  fc.constant(new Uint8Array([0xff])),
)

const isPointer = (p: string) => p === '' || p.startsWith('/')

describe('decode properties', () => {
  it('never throws, and a rejection always says where and why', () => {
    fc.assert(
      fc.property(topic, payload, (t, p) => {
        const r = decode(t, p)
        if (!r.ok) {
          expect(r.violations.length).toBeGreaterThan(0)
          for (const v of r.violations) {
            expect(isPointer(v.path)).toBe(true)
            expect(v.reason.length).toBeGreaterThan(0)
          }
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('never throws on a valid topic with a nearly valid payload', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TOPIC_KINDS), nearlyValid, (kind, p) => {
        const r = decode(topicFor(kind, SITE, GATEWAY), p)
        expect(typeof r.ok).toBe('boolean')
      }),
      { numRuns: 500 },
    )
  })

  it('encode → decode round-trips every valid message', () => {
    fc.assert(
      fc.property(validMessage, ({ kind, message }) => {
        const r = decode(topicFor(kind, SITE, GATEWAY), encode(kind, message as never))
        // Compare with the JSON view: JSON has no -0 and no undefined fields.
        expect(r).toEqual({ ok: true, kind, topic: { kind, site: SITE, gateway: GATEWAY }, message: JSON.parse(JSON.stringify(message)) })
      }),
      { numRuns: 500 },
    )
  })

  it('the examples are among the valid messages', () => {
    for (const kind of TOPIC_KINDS) expect(decode(topicFor(kind, SITE, GATEWAY), encode(kind, examples[kind])).ok).toBe(true)
  })
})
