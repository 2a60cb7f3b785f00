/**
 * The wire codec: `decode` turns what arrives on a topic into a typed message or the
 * full list of what is wrong with it, and never throws (a bad message is a dead-letter
 * row, never an exception that kills the consumer); `encode` turns a message into the
 * bytes to publish and throws on an invalid one, so a gateway cannot publish what the
 * cloud would reject.
 */
import type { Violation } from '../schema/violations.ts'
import { LIMITS, type MessageByKind } from './messages.ts'
import { parseTopic, TOPIC_KINDS, type ParsedTopic, type TopicKind } from './topics.ts'
import { isValidTelemetry } from './fast-telemetry.ts'
import { validateMessage, type TopicAddress } from './validate.ts'

/** A message that passed every check; `kind` narrows `message` (`if (r.ok && r.kind === 'birth') r.message.devices`). */
export type Decoded = {
  [K in TopicKind]: { ok: true; kind: K; topic: ParsedTopic<K>; message: MessageByKind[K] }
}[TopicKind]

/**
 * A rejected message: every violation, as a JSON pointer into the payload and a reason.
 * Problems with the topic or the bytes themselves are reported at path ``. `topic` is set
 * when the topic was valid, so the dead-letter row can name the gateway.
 */
export interface DecodeFailure {
  ok: false
  topic?: ParsedTopic
  violations: Violation[]
}

/** What `decode` returns. */
export type DecodeResult = Decoded | DecodeFailure

const utf8 = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

/**
 * Decodes one MQTT message. Checks, in order: the topic (`parseTopic`), the payload size
 * (`LIMITS.payloadBytes`), emptiness (an empty payload is how a retained message is
 * cleared), UTF-8, JSON, then `validateMessage` with the topic's site and gateway.
 * Never throws, whatever the input.
 */
export function decode(topic: string, payload: Uint8Array | string): DecodeResult {
  let parsed: ParsedTopic | undefined
  try {
    parsed = parseTopic(topic)
    if (parsed === undefined) return fail(undefined, `unknown topic ${quote(topic)}: expected muni/v1/{site}/{gateway}/{${TOPIC_KINDS.join('|')}}`)
    const text = payloadText(payload)
    if (typeof text !== 'string') return fail(parsed, text.reason)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (e) {
      return fail(parsed, `payload is not JSON: ${e instanceof Error ? e.message : String(e)}`)
    }
    // Telemetry is most of the traffic: a batch the fast check is sure of skips the full
    // validator; anything else gets it, and with it the exact violations.
    const violations = parsed.kind === 'telemetry' && isValidTelemetry(value, parsed) ? [] : validateMessage(parsed.kind, value, parsed)
    if (violations.length > 0) return { ok: false, topic: parsed, violations }
    return { ok: true, kind: parsed.kind, topic: parsed, message: value } as Decoded
  } catch (e) {
    // Unreachable by design; the guarantee "decode never throws" must not rest on that.
    return fail(parsed, `internal error while decoding: ${e instanceof Error ? e.message : String(e)}`)
  }
}

function payloadText(payload: unknown): string | { reason: string } {
  let bytes: number
  if (typeof payload === 'string') bytes = encoder.encode(payload).byteLength
  else if (payload instanceof Uint8Array) bytes = payload.byteLength
  else return { reason: 'payload must be bytes or a string' }
  if (bytes > LIMITS.payloadBytes) return { reason: `payload is ${bytes} bytes; the limit is ${LIMITS.payloadBytes}` }
  if (bytes === 0) return { reason: 'payload is empty (a cleared retained message)' }
  if (typeof payload === 'string') return payload
  try {
    return utf8.decode(payload)
  } catch {
    return { reason: 'payload is not valid UTF-8' }
  }
}

function fail(topic: ParsedTopic | undefined, reason: string): DecodeFailure {
  const violations = [{ path: '', reason }]
  return topic === undefined ? { ok: false, violations } : { ok: false, topic, violations }
}

function quote(s: unknown): string {
  const text = typeof s === 'string' ? s : String(s)
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)
}

/** Thrown by `encode` for a message the contract rejects: a programming error at the publisher. */
export class InvalidMessageError extends Error {
  override name = 'InvalidMessageError'
  /** The kind that was being encoded. */
  readonly kind: string
  /** Every violation, as `decode` would have reported it. */
  readonly violations: readonly Violation[]

  constructor(kind: string, violations: readonly Violation[]) {
    const list = violations.slice(0, 5).map((v) => `${v.path || '(root)'}: ${v.reason}`).join('; ')
    const more = violations.length > 5 ? `; and ${violations.length - 5} more` : ''
    super(`invalid ${kind} message: ${list}${more}`)
    this.kind = kind
    this.violations = violations
  }
}

/**
 * Encodes a message as UTF-8 JSON. What is validated is the JSON that will be sent (the
 * message after `JSON.stringify`), so `decode` is guaranteed to accept it. With `address`,
 * the payload's `gateway`/`site` are also checked against the topic's (`publish.ts` always
 * passes it).
 * @throws InvalidMessageError when the message violates the contract or exceeds `LIMITS.payloadBytes`.
 * @throws Error when `kind` is not a topic kind.
 */
export function encode<K extends TopicKind>(kind: K, message: MessageByKind[K], address?: TopicAddress): Uint8Array {
  if (!(TOPIC_KINDS as readonly unknown[]).includes(kind)) throw new Error(`invalid topic kind ${quote(kind)}`)
  let text: string | undefined
  try {
    text = JSON.stringify(message)
  } catch (e) {
    throw new InvalidMessageError(kind, [{ path: '', reason: `not serialisable as JSON: ${e instanceof Error ? e.message : String(e)}` }])
  }
  if (text === undefined) throw new InvalidMessageError(kind, [{ path: '', reason: 'not serialisable as JSON' }])
  const violations = validateMessage(kind, JSON.parse(text), address)
  if (violations.length > 0) throw new InvalidMessageError(kind, violations)
  const bytes = encoder.encode(text)
  if (bytes.byteLength > LIMITS.payloadBytes) {
    throw new InvalidMessageError(kind, [{ path: '', reason: `payload is ${bytes.byteLength} bytes; the limit is ${LIMITS.payloadBytes}` }])
  }
  return bytes
}
