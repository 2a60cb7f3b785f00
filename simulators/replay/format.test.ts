import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { examples, preparePublish } from '../../shared/mqtt/index.ts'
import { formatEntry, formatHeader, parseEntryLine, parseHeaderLine, payloadFields, RecordingError, type RecordedMessage } from './format.ts'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const roundTrip = (payload: Uint8Array): Uint8Array => parseEntryLine(formatEntry({ t: 0, topic: 'a/b', qos: 1, retain: false, payload }), 'f', 2).payload

describe('payload representation', () => {
  const telemetry = preparePublish('telemetry', 'north', 'gw-01', examples.telemetry).payload
  it.each([
    ['a muni payload (canonical JSON) is stored once, as JSON', telemetry, ['payload']],
    ['pretty-printed JSON keeps its exact text beside the JSON', bytes('{ "a": 1 }'), ['payload', 'payloadText']],
    ['1.0 (which JSON.stringify writes as 1) keeps its text', bytes('{"v":1.0}'), ['payload', 'payloadText']],
    ['integer-like keys that JSON.parse reorders keep their text', bytes('{"b":1,"1":2}'), ['payload', 'payloadText']],
    ['a big integer beyond 2^53 keeps its text', bytes('{"n":12345678901234567890}'), ['payload', 'payloadText']],
    ['non-JSON text is text', bytes('online'), ['payloadText']],
    ['the empty payload (a cleared retained message) is empty text', bytes(''), ['payloadText']],
    ['a UTF-8 byte-order mark is kept (JSON.parse rejects it: text)', bytes('\uFEFF{"a":1}'), ['payloadText']],
    ['invalid UTF-8 is base64', new Uint8Array([0xff, 0xfe, 0x00, 0x80]), ['payloadBase64']],
    ['a JSON string payload is JSON', bytes('"online"'), ['payload']],
    ['null is JSON', bytes('null'), ['payload']],
  ])('%s', (_name, payload, fields) => {
    expect(Object.keys(payloadFields(payload)).sort()).toEqual([...fields].sort())
    expect(Buffer.from(roundTrip(payload)).equals(Buffer.from(payload))).toBe(true)
  })

  it('replays byte-identical payloads for any bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => Buffer.from(roundTrip(b)).equals(Buffer.from(b))),
      { numRuns: 500 },
    )
  })

  it('replays byte-identical payloads for any JSON text, compact or not (property)', () => {
    const text = fc.oneof(fc.json(), fc.json().map((j) => JSON.stringify(JSON.parse(j), null, 2)), fc.string({ unit: 'binary' }))
    fc.assert(fc.property(text, (s) => Buffer.from(roundTrip(bytes(s))).equals(Buffer.from(bytes(s)))), { numRuns: 500 })
  })
})

describe('lines', () => {
  const header = { format: 'muni-recording' as const, version: 1 as const, startedAt: 1_764_052_800_000, broker: 'mqtt://h:1883', filters: ['muni/v1/+/+/telemetry'], retainAsPublished: true }

  it('writes the header and messages as one JSON object per line, fields in a fixed order', () => {
    expect(formatHeader(header)).toBe('{"format":"muni-recording","version":1,"startedAt":1764052800000,"broker":"mqtt://h:1883","filters":["muni/v1/+/+/telemetry"],"retainAsPublished":true}')
    const m: RecordedMessage = { t: 12, topic: 'muni/v1/north/gw-01/state', qos: 1, retain: true, payload: bytes('{"state":"online"}'), violation: { path: '/session', reason: 'is required' } }
    expect(formatEntry(m)).toBe('{"t":12,"topic":"muni/v1/north/gw-01/state","qos":1,"retain":true,"valid":false,"violation":{"path":"/session","reason":"is required"},"payload":{"state":"online"}}')
    expect(parseHeaderLine(formatHeader(header), 'f')).toEqual(header)
    expect(parseEntryLine(formatEntry(m), 'f', 2)).toEqual({ ...m, payload: expect.any(Uint8Array) })
  })

  it.each([
    ['{', /^rec\.ndjson:1: not valid JSON/],
    ['{"format":"other"}', /^rec\.ndjson:1: not a muni recording/],
    ['{"format":"muni-recording","version":2}', /^rec\.ndjson:1: unsupported recording version 2: this muni reads version 1$/],
    ['{"format":"muni-recording","version":1,"startedAt":1,"broker":"b","filters":["#"],"retainAsPublished":true,"extra":1}', /^rec\.ndjson:1: extra: unknown field$/],
    ['{"format":"muni-recording","version":1,"startedAt":-1,"broker":"b","filters":["#"],"retainAsPublished":true}', /^rec\.ndjson:1: startedAt: /],
  ])('rejects header %s with file:line: reason', (line, message) => {
    expect(() => parseHeaderLine(line, 'rec.ndjson')).toThrow(message)
  })

  it.each([
    ['', 'empty line'],
    ['{"t":1,"topic":"a","qos":1,"retain":false,"payload":{"a":', 'not valid JSON'],
    ['[]', 'must be object'],
    ['{"t":1,"topic":"a","qos":3,"retain":false,"payload":1}', 'qos: '],
    ['{"t":-5,"topic":"a","qos":1,"retain":false,"payload":1}', 't: '],
    ['{"t":1,"topic":"a/#","qos":1,"retain":false,"payload":1}', 'topic: a topic name cannot contain the wildcards + or #'],
    ['{"t":1,"topic":"a","qos":1,"retain":false}', 'no payload'],
    ['{"t":1,"topic":"a","qos":1,"retain":false,"payload":1,"payloadBase64":"AA=="}', 'payloadBase64 cannot be combined'],
    ['{"t":1,"topic":"a","qos":1,"retain":false,"payloadBase64":"not base64!"}', 'payloadBase64: not valid base64'],
    ['{"t":1,"topic":"a","qos":1,"retain":false,"payload":{"a":2},"payloadText":"{\\"a\\": 1}"}', 'payload and payloadText disagree'],
    ['{"t":1,"topic":"a","qos":1,"retain":false,"valid":false,"payload":1}', 'valid: false and violation go together'],
    ['{"t":1,"topic":"a","qos":1,"retain":false,"valid":true,"payload":1}', 'valid: '],
    ['{"t":1,"topic":"a","qos":1,"retain":false,"payload":1,"qos2":1}', 'qos2: unknown field'],
  ])('rejects message line %j with file:line: reason', (line, reason) => {
    let err: unknown
    try {
      parseEntryLine(line, 'rec.ndjson', 7)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(RecordingError)
    expect((err as RecordingError).message.startsWith('rec.ndjson:7: ')).toBe(true)
    expect((err as RecordingError).message).toContain(reason)
    expect((err as RecordingError).line).toBe(7)
  })
})
