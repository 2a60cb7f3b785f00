/**
 * The recording file format, version 1: NDJSON (one JSON value per line, `\n`-terminated,
 * UTF-8), written by `muni record` and read by `muni replay`.
 *
 * Line 1 is the header:
 *
 *   {"format":"muni-recording","version":1,"startedAt":1764052800000,
 *    "broker":"mqtt://10.0.0.5:1883","filters":["muni/v1/+/+/telemetry"],"retainAsPublished":true}
 *
 * - `startedAt`: wall-clock ms (Unix epoch) when the recorder was connected and subscribing.
 * - `broker`: the broker URL without user name or password.
 * - `retainAsPublished`: true when the recorder subscribed with MQTT 5 "Retain As Published"
 *   (MQTT 5 §3.8.3.1), so `retain` is the publisher's flag. False on an MQTT 3.1.1-only broker
 *   (Aedes): there a live message always arrives with retain 0 and only messages served from
 *   the broker's retained store at subscription time carry retain 1 ([MQTT-3.3.1-9]).
 *
 * Every further line is one message, in the order received:
 *
 *   {"t":1250,"topic":"muni/v1/north/gw-01/telemetry","qos":1,"retain":false,"payload":{…}}
 *
 * - `t`: ms since `startedAt` at which the recorder received the message (monotonic clock,
 *   never decreasing from one line to the next).
 * - `valid: false` + `violation: {path, reason}`: the message broke the wire contract
 *   (`shared/mqtt` `decode`); the first violation is kept. Absent on valid messages. A
 *   recording is evidence: invalid messages are kept, flagged, never dropped.
 * - The payload, exactly one of three ways, so that replay republishes the exact bytes:
 *   - `payload`: the parsed JSON value, used when re-serialising it gives back the exact
 *     bytes received (`JSON.stringify(JSON.parse(text)) === text`). That is every payload a
 *     muni gateway publishes (`encode` is `JSON.stringify`), so the common case stays
 *     readable and `jq`-friendly without storing the text twice.
 *   - `payloadText`: the exact UTF-8 text, for everything else that is valid UTF-8
 *     (pretty-printed or otherwise non-canonical JSON, `1.0`, big integers, non-JSON text,
 *     the empty payload of a cleared retained message). When that text is JSON, `payload`
 *     is written beside it for reading; `payloadText` is then what is replayed, and a reader
 *     rejects the line if the two disagree (a hand edit of one but not the other).
 *   - `payloadBase64`: the bytes, for payloads that are not valid UTF-8.
 *
 * Unknown fields are errors, not ignored: a reader of version 1 that met a field it does
 * not know would otherwise drop information silently.
 */
import Type, { type Static } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import { check, type Violation } from '../../shared/schema/violations.ts'

/** The `format` field of every recording header. */
export const RECORDING_FORMAT = 'muni-recording'
/** The format version this code writes and reads. */
export const RECORDING_VERSION = 1

const ViolationSchema = Type.Object(
  {
    path: Type.String({ description: 'JSON pointer into the payload; empty for the payload as a whole or the topic' }),
    reason: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
)

/** Line 1 of a recording. */
export const HeaderSchema = Type.Object(
  {
    format: Type.Literal(RECORDING_FORMAT),
    version: Type.Literal(RECORDING_VERSION),
    startedAt: Type.Integer({ minimum: 0, description: 'wall-clock ms since 1970-01-01T00:00:00Z when recording began' }),
    broker: Type.String({ minLength: 1, description: 'broker URL without credentials' }),
    filters: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'the subscription filters' }),
    retainAsPublished: Type.Boolean({ description: 'true when `retain` is the publisher flag (MQTT 5 Retain As Published)' }),
  },
  { additionalProperties: false },
)
/** The header line of a recording. */
export type RecordingHeader = Static<typeof HeaderSchema>

/** Lines 2… of a recording, as stored. */
export const EntrySchema = Type.Object(
  {
    t: Type.Number({ minimum: 0, description: 'ms since startedAt, receive time' }),
    topic: Type.String({ minLength: 1, maxLength: 65_535 }),
    qos: Type.Integer({ minimum: 0, maximum: 2 }),
    retain: Type.Boolean(),
    valid: Type.Optional(Type.Literal(false)),
    violation: Type.Optional(ViolationSchema),
    payload: Type.Optional(Type.Unknown({ description: 'the payload as JSON' })),
    payloadText: Type.Optional(Type.String({ description: 'the exact payload text' })),
    payloadBase64: Type.Optional(Type.String({ description: 'the payload bytes, when not UTF-8' })),
  },
  { additionalProperties: false },
)
type EntryLine = Static<typeof EntrySchema>

const validators = {
  header: Compile(HeaderSchema) as Validator,
  entry: Compile(EntrySchema) as Validator,
}

/** MQTT QoS level. */
export type QoS = 0 | 1 | 2

/** One recorded message, with its payload as the exact bytes received. */
export interface RecordedMessage {
  /** ms since the header's `startedAt`. */
  t: number
  topic: string
  qos: QoS
  retain: boolean
  payload: Uint8Array
  /** The first wire-contract violation, when the message was invalid. */
  violation?: Violation
}

/** A recording file that cannot be read: `file:line: reason` (`file: reason` for the file itself). */
export class RecordingError extends Error {
  override name = 'RecordingError'
  /** 1-based line number; 0 when the problem is the file itself (missing, unreadable, empty). */
  readonly line: number

  constructor(
    readonly file: string,
    line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`)
    this.line = line
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const encoder = new TextEncoder()
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** The header as one line (without the newline). */
export function formatHeader(header: RecordingHeader): string {
  const { format, version, startedAt, broker, filters, retainAsPublished } = header
  return JSON.stringify({ format, version, startedAt, broker, filters, retainAsPublished })
}

/** A message as one line (without the newline); see the file comment for the payload rules. */
export function formatEntry(m: RecordedMessage): string {
  const line: EntryLine = { t: m.t, topic: m.topic, qos: m.qos, retain: m.retain }
  if (m.violation) {
    line.valid = false
    line.violation = { path: m.violation.path, reason: m.violation.reason }
  }
  return JSON.stringify({ ...line, ...payloadFields(m.payload) })
}

/** How `bytes` are stored: `payload`, `payloadText` (+ `payload` when JSON) or `payloadBase64`. */
export function payloadFields(bytes: Uint8Array): Pick<EntryLine, 'payload' | 'payloadText' | 'payloadBase64'> {
  const text = exactText(bytes)
  if (text === undefined) return { payloadBase64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') }
  const json = parseJson(text)
  if (json === undefined) return { payloadText: text }
  if (JSON.stringify(json.value) === text) return { payload: json.value }
  return { payload: json.value, payloadText: text }
}

/** The text of `bytes` when they are UTF-8 that re-encodes to the same bytes, else undefined. */
function exactText(bytes: Uint8Array): string | undefined {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return undefined
  }
  // A fatal decoder only accepts well-formed UTF-8, which round-trips; checked anyway
  // because byte-identical replay is the promise of this format.
  const again = encoder.encode(text)
  return Buffer.compare(again, bytes) === 0 ? text : undefined
}

function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown }
  } catch {
    return undefined
  }
}

/**
 * Parses and validates line 1. `file` and `line` only label errors.
 * @throws RecordingError naming the file, line and reason.
 */
export function parseHeaderLine(text: string, file: string, line = 1): RecordingHeader {
  const value = parseLine(text, file, line)
  const obj = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>
  if (obj.format !== RECORDING_FORMAT) {
    throw new RecordingError(file, line, `not a muni recording: the first line must be a header {"format":"${RECORDING_FORMAT}","version":${RECORDING_VERSION},…}`)
  }
  if (obj.version !== RECORDING_VERSION) {
    throw new RecordingError(file, line, `unsupported recording version ${JSON.stringify(obj.version)}: this muni reads version ${RECORDING_VERSION}`)
  }
  firstViolation(validators.header, value, file, line)
  return value as RecordingHeader
}

/**
 * Parses and validates one message line and returns its exact payload bytes.
 * @throws RecordingError naming the file, line and reason.
 */
export function parseEntryLine(text: string, file: string, line: number): RecordedMessage {
  const value = parseLine(text, file, line)
  firstViolation(validators.entry, value, file, line)
  const e = value as EntryLine
  const bad = (reason: string): RecordingError => new RecordingError(file, line, reason)
  const topicProblem = topicNameProblem(e.topic)
  if (topicProblem) throw bad(`topic: ${topicProblem}`)
  if ((e.valid === false) !== (e.violation !== undefined)) throw bad('valid: false and violation go together')
  const m: RecordedMessage = { t: e.t, topic: e.topic, qos: e.qos as QoS, retain: e.retain, payload: entryPayload(e, bad) }
  if (e.violation) m.violation = e.violation
  return m
}

function entryPayload(e: EntryLine, bad: (reason: string) => RecordingError): Uint8Array {
  const hasJson = 'payload' in e
  const hasText = e.payloadText !== undefined
  const hasBase64 = e.payloadBase64 !== undefined
  if (hasBase64) {
    if (hasJson || hasText) throw bad('payloadBase64 cannot be combined with payload or payloadText')
    const b64 = e.payloadBase64 as string
    if (!BASE64_RE.test(b64)) throw bad('payloadBase64: not valid base64')
    return new Uint8Array(Buffer.from(b64, 'base64'))
  }
  if (hasText) {
    const text = e.payloadText as string
    if (hasJson) {
      const json = parseJson(text)
      if (json === undefined) throw bad('payload is given but payloadText is not JSON')
      if (JSON.stringify(json.value) !== JSON.stringify(e.payload)) throw bad('payload and payloadText disagree (payloadText is what is replayed)')
    }
    return encoder.encode(text)
  }
  if (hasJson) return encoder.encode(JSON.stringify(e.payload))
  throw bad('no payload: one of payload, payloadText or payloadBase64 is required')
}

/** Why `topic` cannot be published to, or undefined (MQTT 3.1.1 §4.7.3, §1.5.3). */
export function topicNameProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'must not be empty'
  if (/[+#]/.test(topic)) return 'a topic name cannot contain the wildcards + or #'
  if (topic.includes('\u0000')) return 'a topic name cannot contain U+0000'
  if (encoder.encode(topic).byteLength > 65_535) return 'longer than 65535 bytes'
  return undefined
}

function parseLine(text: string, file: string, line: number): unknown {
  if (text.trim() === '') throw new RecordingError(file, line, 'empty line')
  try {
    return JSON.parse(text) as unknown
  } catch (e) {
    throw new RecordingError(file, line, `not valid JSON (${e instanceof Error ? e.message : String(e)})`)
  }
}

function firstViolation(validator: Validator, value: unknown, file: string, line: number): void {
  const [v] = check(validator, value)
  if (!v) return
  const where = v.path.replace(/^\//, '')
  throw new RecordingError(file, line, where ? `${where}: ${v.reason}` : v.reason)
}
