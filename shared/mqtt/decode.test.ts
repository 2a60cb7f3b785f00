import { describe, expect, expectTypeOf, it } from 'vitest'
import { decode, encode, InvalidMessageError, type DecodeResult } from './decode.ts'
import { EXAMPLE_GATEWAY, EXAMPLE_SITE, examples } from './examples.ts'
import { LIMITS, type Birth, type TelemetryBatch } from './messages.ts'
import { lastWill, preparePublish } from './publish.ts'
import { TOPIC_KINDS, topicFor, topics } from './topics.ts'

const S = EXAMPLE_SITE
const G = EXAMPLE_GATEWAY
const json = (v: unknown) => JSON.stringify(v)
const bytes = (s: string) => new TextEncoder().encode(s)
const violations = (r: DecodeResult) => (r.ok ? [] : r.violations)

describe('decode', () => {
  it.each(TOPIC_KINDS)('decodes the %s example from bytes and from a string', (kind) => {
    const topic = topicFor(kind, S, G)
    for (const payload of [bytes(json(examples[kind])), json(examples[kind])]) {
      expect(decode(topic, payload)).toEqual({ ok: true, kind, topic: { kind, site: S, gateway: G }, message: examples[kind] })
    }
  })

  it('narrows message by kind', () => {
    const r = decode(topics.birth(S, G), json(examples.birth))
    if (r.ok && r.kind === 'birth') {
      expectTypeOf(r.message).toEqualTypeOf<Birth>()
      expect(r.message.devices.map((d) => d.device)).toEqual(['mc-0042', 'pp-0113'])
    } else {
      expect.unreachable('birth example must decode')
    }
    const t = decode(topics.telemetry(S, G), json(examples.telemetry))
    if (t.ok && t.kind === 'telemetry') expectTypeOf(t.message).toEqualTypeOf<TelemetryBatch>()
  })

  it('rejects an unknown topic without looking at the payload', () => {
    expect(decode('muni/v2/north/gw-01/telemetry', json(examples.telemetry))).toEqual({
      ok: false,
      violations: [
        { path: '', reason: 'unknown topic "muni/v2/north/gw-01/telemetry": expected muni/v1/{site}/{gateway}/{telemetry|state|birth|events|command|command/response}' },
      ],
    })
    const long = decode(`$SYS/${'x'.repeat(1000)}`, 'null')
    expect(violations(long)[0]?.reason).toMatch(/^unknown topic "\$SYS\/x{195}…": expected/)
  })

  it.each<[string, Uint8Array | string, string]>([
    ['empty bytes', new Uint8Array(), 'payload is empty (a cleared retained message)'],
    ['empty string', '', 'payload is empty (a cleared retained message)'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]), 'payload is not valid UTF-8'],
    ['a lone continuation byte', new Uint8Array([0x80]), 'payload is not valid UTF-8'],
    ['an overlong encoding', new Uint8Array([0xc0, 0xaf]), 'payload is not valid UTF-8'],
    ['too many bytes', new Uint8Array(LIMITS.payloadBytes + 1).fill(0x20), `payload is ${LIMITS.payloadBytes + 1} bytes; the limit is 262144`],
    ['a string over the byte limit', 'é'.repeat(LIMITS.payloadBytes / 2 + 1), `payload is ${LIMITS.payloadBytes + 2} bytes; the limit is 262144`],
  ])('rejects %s, keeping the topic', (_, payload, reason) => {
    expect(decode(topics.state(S, G), payload)).toEqual({
      ok: false,
      topic: { kind: 'state', site: S, gateway: G },
      violations: [{ path: '', reason }],
    })
  })

  it.each(['{"state":"online",', 'online', '{state: "online"}', "{'a':1}", 'NaN', '\uFEFF{}'])('rejects invalid JSON %j with the parser message', (text) => {
    let message = ''
    try {
      JSON.parse(text)
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).not.toBe('')
    expect(violations(decode(topics.state(S, G), text))).toEqual([{ path: '', reason: `payload is not JSON: ${message}` }])
  })

  it('strips a UTF-8 byte-order mark from bytes', () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes(json(examples.state))])
    expect(decode(topics.state(S, G), withBom).ok).toBe(true)
  })

  it('rejects a payload gateway or site that differs from the topic', () => {
    expect(decode(topics.telemetry(S, 'gw-02'), json(examples.telemetry))).toEqual({
      ok: false,
      topic: { kind: 'telemetry', site: S, gateway: 'gw-02' },
      violations: [{ path: '/gateway', reason: 'must equal the topic\'s gateway "gw-02"' }],
    })
    expect(violations(decode(topics.birth('south', G), json(examples.birth)))).toEqual([
      { path: '/site', reason: 'must equal the topic\'s site "south"' },
    ])
  })

  it('validates against the kind of the topic, not the look of the payload', () => {
    expect(violations(decode(topics.events(S, G), json(examples.state)))).toEqual([
      { path: '/device', reason: 'is required' },
      { path: '/event', reason: 'is required' },
      { path: '/state', reason: 'unknown field' },
      { path: '/session', reason: 'unknown field' },
    ])
  })

  it('reports unknown fields, including __proto__', () => {
    const text = '{"state":"online","session":1,"__proto__":{"admin":true}}'
    expect(violations(decode(topics.state(S, G), text))).toEqual([{ path: '/__proto__', reason: 'unknown field' }])
  })

  it('rejects what JSON.parse turns into Infinity', () => {
    const text = json(examples.telemetry).replace('"tilt_deg":0.4', '"tilt_deg":1e999')
    expect(violations(decode(topics.telemetry(S, G), text))).toEqual([
      { path: '/readings/0/values/tilt_deg', reason: 'must be either number or boolean or string' },
    ])
  })

  it('never throws on a non-string topic or a payload of the wrong type', () => {
    expect(decode(undefined as never, 'x').ok).toBe(false)
    expect(violations(decode(topics.state(S, G), 42 as never))).toEqual([{ path: '', reason: 'payload must be bytes or a string' }])
  })
})

describe('encode', () => {
  it.each(TOPIC_KINDS)('encodes the %s example as UTF-8 JSON', (kind) => {
    expect(new TextDecoder().decode(encode(kind, examples[kind]))).toBe(json(examples[kind]))
  })

  it('drops undefined optional fields, as JSON does', () => {
    expect(new TextDecoder().decode(encode('state', { state: 'offline', session: 3, ts: undefined }))).toBe('{"state":"offline","session":3}')
  })

  it('throws InvalidMessageError listing the violations', () => {
    const bad = { ...examples.telemetry, seq: -1, extra: 1 } as TelemetryBatch
    let caught: unknown
    try {
      encode('telemetry', bad)
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(InvalidMessageError)
    const err = caught as InvalidMessageError
    expect(err.kind).toBe('telemetry')
    expect(err.violations).toEqual([
      { path: '/extra', reason: 'unknown field' },
      { path: '/seq', reason: 'must be >= 0' },
    ])
    expect(err.message).toBe('invalid telemetry message: /extra: unknown field; /seq: must be >= 0')
  })

  it('validates the JSON that will be sent, not the object', () => {
    // NaN would serialise as null; a Date as a string: the cloud would reject both.
    expect(() => encode('state', { state: 'online', session: Number.NaN })).toThrow('invalid state message: /session: must be integer')
    expect(() => encode('state', { state: 'online', session: 1, ts: new Date(0) as never })).toThrow('/ts: must be integer')
  })

  it('throws on values JSON cannot carry', () => {
    expect(() => encode('state', { state: 'online', session: 1n as never })).toThrow(/^invalid state message: \(root\): not serialisable as JSON: /)
    const cyclic: Record<string, unknown> = { state: 'online', session: 1 }
    cyclic.self = cyclic
    expect(() => encode('state', cyclic as never)).toThrow(InvalidMessageError)
    expect(() => encode('state', undefined as never)).toThrow('invalid state message: (root): not serialisable as JSON')
  })

  it('checks the topic address when given one', () => {
    expect(() => encode('birth', examples.birth, { site: 'south', gateway: G })).toThrow('/site: must equal the topic\'s site "south"')
  })

  it('throws on an unknown kind', () => {
    expect(() => encode('alarms' as never, examples.state as never)).toThrow('invalid topic kind "alarms"')
  })

  it('refuses a payload over the size limit', () => {
    const reading = examples.telemetry.readings[0]!
    const long = 'x'.repeat(LIMITS.stringValueLength)
    const values = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, long]))
    const readings = Array.from({ length: 10 }, (_, i) => ({ ...reading, ts: i, values }))
    expect(() => encode('telemetry', { ...examples.telemetry, readings })).toThrow(/^invalid telemetry message: \(root\): payload is \d+ bytes; the limit is 262144$/)
  })
})

describe('preparePublish and lastWill', () => {
  it('returns topic, payload, QoS and retain from the contract', () => {
    expect(preparePublish('telemetry', S, G, examples.telemetry)).toEqual({
      topic: 'muni/v1/north/gw-01/telemetry',
      payload: bytes(json(examples.telemetry)),
      qos: 1,
      retain: false,
    })
    expect(preparePublish('birth', S, G, examples.birth)).toMatchObject({ topic: 'muni/v1/north/gw-01/birth', qos: 1, retain: true })
    expect(preparePublish('command', S, G, examples.command)).toMatchObject({ topic: 'muni/v1/north/gw-01/command', retain: false })
  })

  it('checks the payload against the topic', () => {
    expect(() => preparePublish('telemetry', S, 'gw-02', examples.telemetry)).toThrow('/gateway: must equal the topic\'s gateway "gw-02"')
    expect(() => preparePublish('state', S, 'gw/02', examples.state)).toThrow('invalid gateway id "gw/02"')
  })

  it('builds the Last Will: retained offline state with the session and no ts', () => {
    const will = lastWill(S, G, 57)
    expect(will).toEqual({ topic: 'muni/v1/north/gw-01/state', payload: bytes('{"state":"offline","session":57}'), qos: 1, retain: true })
    expect(decode(will.topic, will.payload)).toMatchObject({ ok: true, kind: 'state', message: { state: 'offline', session: 57 } })
    expect(() => lastWill(S, G, -1)).toThrow('/session: must be >= 0')
  })
})
