/**
 * A fast accept-only check for the hot message kind, `telemetry`. `isValidTelemetry` answers
 * true only for a batch that `validateMessage('telemetry', value, address)` would accept
 * with no violation at all; on anything it is not sure of it answers false, and `decode`
 * then runs the full validator, which lists the exact violations. So a rejected message is
 * reported exactly as before, and the fast path only ever skips work on a good one.
 *
 * Why: the compiled TypeBox check allocates per reading (`Object.entries`,
 * `Object.getOwnPropertyNames` per map) and the cross-field rules build a key string per
 * reading; at 100,000 readings/s that was most of ingest's validation cost. Hand-written
 * loops over the same rules allocate nothing per reading.
 *
 * It expects what `JSON.parse` returns (plain objects, own enumerable keys); the property
 * test (`fast-telemetry.test.ts`) holds it to "true ⇒ the full validator finds nothing".
 */
import { POINT_ERROR_CODES, PointErrorSchema } from '../quality.ts'
import { LIMITS, POINT_NAME_PATTERN } from './messages.ts'
import { ID_PATTERN } from './topics.ts'
import type { TopicAddress } from './validate.ts'

const ID = new RegExp(ID_PATTERN)
const POINT_NAME = new RegExp(POINT_NAME_PATTERN)
const ERROR_CODES: ReadonlySet<unknown> = new Set(POINT_ERROR_CODES)
const DETAIL_LENGTH = (PointErrorSchema.properties.detail as { maxLength?: number }).maxLength ?? 0
/**
 * Point names already matched against `POINT_NAME_PATTERN` (bounded; names repeat on every
 * reading of a device, and keys from `JSON.parse` are interned, so a hit is cheap).
 */
const knownNames = new Set<string>()
const NAME_CACHE_LIMIT = 10_000

function isPointName(name: string): boolean {
  if (knownNames.has(name)) return true
  if (!POINT_NAME.test(name)) return false
  if (knownNames.size >= NAME_CACHE_LIMIT) knownNames.clear()
  knownNames.add(name)
  return true
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isTimestamp(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= LIMITS.timestampMs
}

/**
 * True only when `value` is a telemetry batch the full validator accepts without any
 * violation (with `address`, also the topic-gateway rule). False means "not sure": run
 * `validateMessage` for the reasons.
 */
export function isValidTelemetry(value: unknown, address?: TopicAddress): boolean {
  if (!isObject(value)) return false
  let keys = 0
  for (const k in value) {
    if (k !== 'gateway' && k !== 'seq' && k !== 'sentAt' && k !== 'readings') return false
    keys++
  }
  if (keys !== 4) return false
  const { gateway, seq, readings } = value
  if (typeof gateway !== 'string' || !ID.test(gateway)) return false
  if (address !== undefined && gateway !== address.gateway) return false
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || seq > Number.MAX_SAFE_INTEGER) return false
  if (!isTimestamp(value.sentAt)) return false
  if (!Array.isArray(readings) || readings.length < 1 || readings.length > LIMITS.readingsPerBatch) return false
  // (device, ts) unique in the batch: sample time → the device first seen at it, or the
  // set of devices once a second one shares it.
  const at = new Map<number, string | Set<string>>()
  for (let i = 0; i < readings.length; i++) {
    const r: unknown = readings[i]
    if (!isReading(r)) return false
    const ts = r.ts as number
    const device = r.device as string
    const seen = at.get(ts)
    if (seen === undefined) at.set(ts, device)
    else if (typeof seen === 'string') {
      if (seen === device) return false
      at.set(ts, new Set([seen, device]))
    } else {
      if (seen.has(device)) return false
      seen.add(device)
    }
  }
  return true
}

function isReading(r: unknown): r is Record<string, unknown> {
  if (!isObject(r)) return false
  let keys = 0
  for (const k in r) {
    if (k !== 'device' && k !== 'ts' && k !== 'values' && k !== 'errors' && k !== 'historical') return false
    keys++
  }
  if (keys !== 5) return false
  if (typeof r.device !== 'string' || !ID.test(r.device)) return false
  if (!isTimestamp(r.ts) || typeof r.historical !== 'boolean') return false
  const { values, errors } = r
  if (!isObject(values) || !isObject(errors)) return false
  let points = 0
  for (const name in values) {
    if (++points > LIMITS.pointsPerReading || !isPointName(name)) return false
    const v = values[name]
    // A string's maxLength counts code points; UTF-16 length is never fewer, so within it is within.
    if (typeof v === 'number' ? !Number.isFinite(v) : typeof v === 'string' ? v.length > LIMITS.stringValueLength : typeof v !== 'boolean') return false
  }
  let failed = 0
  for (const name in errors) {
    if (++failed > LIMITS.pointsPerReading || !isPointName(name) || Object.hasOwn(values, name) || !isPointError(errors[name])) return false
  }
  return points + failed > 0
}

function isPointError(e: unknown): boolean {
  if (!isObject(e) || !ERROR_CODES.has(e.code)) return false
  for (const k in e) {
    const v = e[k]
    if (k === 'code') continue
    else if (k === 'exception') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 255) return false
    } else if (k === 'raw') {
      if (typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'string') return false
    } else if (k === 'detail') {
      if (typeof v !== 'string' || v.length > DETAIL_LENGTH) return false
    } else return false
  }
  return true
}
