/**
 * The pure core of the OPC UA driver: one DataValue → a point value or a point error,
 * and the sample time of a DataValue. OPC UA status codes have no place of their own in
 * the wire contract, so they map onto the existing PointError codes, with the status
 * code name kept in `detail` (as a Modbus exception keeps its code).
 */
import { DataType, VariantArrayType, type DataValue, type StatusCode } from 'node-opcua'
import { LIMITS, type PointValue } from '../../shared/mqtt/messages.ts'
import type { PointError } from '../../shared/quality.ts'
import type { OpcuaPointSpec } from './spec.ts'

/** A value, or why there is none. */
export type PointResult = { ok: true; value: PointValue } | { ok: false; error: PointError }

/**
 * Status codes that mean the path to the device failed rather than the node
 * (OPC UA Part 4 §7.34 / Part 6 Annex A). Everything else that is Bad is `decode`.
 */
const TRANSPORT_STATUS = new Set([
  'BadCommunicationError',
  'BadNotConnected',
  'BadConnectionClosed',
  'BadConnectionRejected',
  'BadDisconnect',
  'BadNoCommunication',
  'BadServerNotConnected',
  'BadServerHalted',
  'BadShutdown',
  'BadSecureChannelClosed',
  'BadSecureChannelIdInvalid',
  'BadSessionClosed',
  'BadSessionIdInvalid',
  'BadTcpInternalError',
  'BadDeviceFailure',
])
const TIMEOUT_STATUS = new Set(['BadTimeout', 'BadRequestTimeout'])

/** The status code's name without the info bits (`BadNodeIdUnknown#Overflow` → `BadNodeIdUnknown`). */
export function statusName(status: StatusCode): string {
  const name = status.name.split('#')[0] ?? ''
  return name !== '' ? name : `0x${(status.value >>> 0).toString(16).padStart(8, '0')}`
}

/** The point error for a status that is not Good. */
export function statusError(status: StatusCode): PointError {
  const name = statusName(status)
  const detail = clip(`OPC UA status ${name} (0x${(status.value >>> 0).toString(16).padStart(8, '0')})`)
  if (TRANSPORT_STATUS.has(name)) return { code: 'transport', detail }
  if (TIMEOUT_STATUS.has(name)) return { code: 'timeout', detail }
  if (name === 'BadOutOfRange') return { code: 'out_of_range', detail }
  // Uncertain values (Part 4 §7.34.1) are withheld too: a reading carries only values it can vouch for.
  return { code: 'decode', detail }
}

/** A transport error for every point: the connection is down. */
export function transportError(reason: string): PointError {
  return { code: 'transport', detail: clip(reason) }
}

/**
 * Good → the value, checked like the Modbus codec does (finite, then inside `range`);
 * anything else → a point error, never a number.
 */
export function mapDataValue(point: OpcuaPointSpec, dv: DataValue): PointResult {
  if (!dv.statusCode.isGood()) return { ok: false, error: statusError(dv.statusCode) }
  const v = dv.value
  if (v.arrayType !== VariantArrayType.Scalar) return decodeError(`${VariantArrayType[v.arrayType]} of ${DataType[v.dataType]} is not supported`)
  switch (v.dataType) {
    case DataType.Boolean:
      return typeof v.value === 'boolean' ? { ok: true, value: v.value } : decodeError('Boolean without a boolean value')
    case DataType.String:
      return stringValue(v.value)
    case DataType.LocalizedText:
      return stringValue((v.value as { text?: unknown } | null)?.text)
    case DataType.Double:
    case DataType.Float:
    case DataType.SByte:
    case DataType.Byte:
    case DataType.Int16:
    case DataType.UInt16:
    case DataType.Int32:
    case DataType.UInt32:
      return typeof v.value === 'number' ? checkNumber(point, v.value) : decodeError(`${DataType[v.dataType]} without a number`)
    case DataType.Int64:
    case DataType.UInt64:
      return int64(point, v.value, v.dataType === DataType.Int64)
    case DataType.Null:
      return decodeError('no value (Null variant)')
    default:
      return decodeError(`data type ${DataType[v.dataType] ?? v.dataType} is not supported`)
  }
}

/**
 * The sample time of a DataValue, ms: sourceTimestamp, else serverTimestamp, else
 * `fallback`. OPC UA's "no time" (1601-01-01, Part 6 §5.2.2.5) and anything the wire
 * contract cannot carry count as absent.
 */
export function sampleTime(dv: DataValue, fallback: number, prefer: 'source' | 'server' = 'source'): number {
  const order = prefer === 'source' ? [dv.sourceTimestamp, dv.serverTimestamp] : [dv.serverTimestamp]
  for (const d of order) {
    const ms = d?.getTime()
    if (ms !== undefined && Number.isFinite(ms) && ms > 0 && ms <= LIMITS.timestampMs) return Math.trunc(ms)
  }
  return fallback
}

function checkNumber(point: OpcuaPointSpec, raw: number): PointResult {
  if (!Number.isFinite(raw)) return { ok: false, error: { code: 'nan', raw: String(raw) } }
  const min = point.range?.min
  const max = point.range?.max
  if (min !== undefined && !(raw >= min)) return { ok: false, error: { code: 'out_of_range', raw, detail: `value ${raw} is below min ${min}` } }
  if (max !== undefined && !(raw <= max)) return { ok: false, error: { code: 'out_of_range', raw, detail: `value ${raw} is above max ${max}` } }
  return { ok: true, value: raw }
}

/** node-opcua carries (U)Int64 as `[high, low]` 32-bit words. */
function int64(point: OpcuaPointSpec, value: unknown, signed: boolean): PointResult {
  if (!Array.isArray(value) || value.length !== 2 || !value.every((w) => typeof w === 'number')) return decodeError('Int64 without [high, low] words')
  const [high, low] = value as [number, number]
  const big = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0)
  const n = signed ? BigInt.asIntN(64, big) : big
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) return { ok: false, error: { code: 'decode', raw: n.toString(), detail: '64-bit value beyond ±2^53' } }
  return checkNumber(point, Number(n))
}

function stringValue(s: unknown): PointResult {
  if (typeof s !== 'string') return decodeError('String without a string value')
  if (s.length > LIMITS.stringValueLength) return decodeError(`string of ${s.length} characters; the limit is ${LIMITS.stringValueLength}`)
  return { ok: true, value: s }
}

function decodeError(detail: string): PointResult {
  return { ok: false, error: { code: 'decode', detail: clip(detail) } }
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 199)}…` : s
}
