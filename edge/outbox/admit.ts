/**
 * The check a reading passes before the outbox stores it: the wire contract's own rules
 * (a reading alone in a batch must be what `decode` accepts) and the payload limit. A
 * reading that passes here can always be sent, so one bad reading can never wedge the
 * queue at `nextBatch` time.
 */
import { LIMITS, validateMessage, type Reading, type TelemetryBatch } from '../../shared/mqtt/index.ts'
import { OutboxError } from './errors.ts'

/** A reading as stored: its key, its points as JSON, and its size on the wire. */
export interface AdmittedReading {
  device: string
  ts: number
  /** `{"values":…,"errors":…}` */
  body: string
  /** UTF-8 bytes of the reading's JSON with `"historical":false` (`true` is one byte shorter). */
  size: number
  /** The caller marked it historical already. */
  historical: boolean
}

/** UTF-8 length of a string. */
export const textBytes = (s: string): number => Buffer.byteLength(s, 'utf8')

/** A reading with its keys in wire order; size accounting depends on the order. */
export function wireReading(device: string, ts: number, values: Reading['values'], errors: Reading['errors'], historical: boolean): Reading {
  return { device, ts, values, errors, historical }
}

/**
 * Checks reading number `index` of an append for the gateway's telemetry topic and
 * returns it as stored.
 * @throws OutboxError `OUTBOX_INVALID_READING`, with violation paths relative to the
 *   appended array (`/1/errors/n`).
 */
export function admit(reading: Reading, index: number, site: string, gateway: string): AdmittedReading {
  // Check what will be sent: the JSON form, as encode() does.
  let json: Reading
  try {
    json = JSON.parse(JSON.stringify(reading)) as Reading
  } catch (e) {
    throw new OutboxError('OUTBOX_INVALID_READING', `reading ${index} is not serialisable as JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  const probe: TelemetryBatch = { gateway, seq: 0, sentAt: 0, readings: [json] }
  const violations = validateMessage('telemetry', probe, { site, gateway }).map((v) => ({
    path: v.path.startsWith('/readings/0') ? `/${index}${v.path.slice('/readings/0'.length)}` : v.path,
    reason: v.reason,
  }))
  if (violations.length > 0) {
    const list = violations.slice(0, 5).map((v) => `${v.path || '(root)'}: ${v.reason}`).join('; ')
    throw new OutboxError('OUTBOX_INVALID_READING', `reading ${index}: ${list}; nothing from this call was stored`, { violations })
  }
  const size = textBytes(JSON.stringify(wireReading(json.device, json.ts, json.values, json.errors, false)))
  if (maxEnvelopeBytes(gateway) + size > LIMITS.payloadBytes) {
    const violation = { path: `/${index}`, reason: `is ${size} bytes; alone in a batch it would exceed the ${LIMITS.payloadBytes}-byte payload limit` }
    throw new OutboxError('OUTBOX_INVALID_READING', `reading ${index} ${violation.reason}; nothing from this call was stored`, { violations: [violation] })
  }
  return { device: json.device, ts: json.ts, body: JSON.stringify({ values: json.values, errors: json.errors }), size, historical: json.historical }
}

/** The widest envelope the contract allows (longest seq and sentAt), with no readings. */
function maxEnvelopeBytes(gateway: string): number {
  const envelope: TelemetryBatch = { gateway, seq: Number.MAX_SAFE_INTEGER, sentAt: LIMITS.timestampMs, readings: [] }
  return textBytes(JSON.stringify(envelope))
}
