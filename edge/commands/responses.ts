/**
 * Building `command/response` messages (docs/wire-contract.md, "Commands"): success,
 * failure, and the answer to a request that failed `decode` but whose `id` is readable.
 * Pure: no I/O.
 */
import type { CommandError, CommandErrorCode, CommandResponse, Reading } from '../../shared/mqtt/index.ts'
import type { PointError } from '../../shared/quality.ts'
import type { Violation } from '../../shared/schema/violations.ts'

/** `CommandErrorSchema` caps `message` at 500 characters. */
const MESSAGE_MAX = 500
/** `responseBase.id` is 1–64 characters. */
const ID_MAX = 64

/** Clips a message to what the contract allows (500 characters). */
export function clipMessage(message: string): string {
  return message.length <= MESSAGE_MAX ? message : `${message.slice(0, MESSAGE_MAX - 1)}…`
}

/** A command error with a clipped message and an optional cause. */
export function commandError(code: CommandErrorCode, message: string, cause?: PointError): CommandError {
  return cause === undefined ? { code, message: clipMessage(message) } : { code, message: clipMessage(message), cause }
}

/** `ok: true`, with the reading as `result` when there is one. */
export function succeeded(id: string, ts: number, result?: Reading): CommandResponse {
  return result === undefined ? { id, ts, ok: true } : { id, ts, ok: true, result }
}

/** `ok: false` with `error`. */
export function failed(id: string, ts: number, error: CommandError): CommandResponse {
  return { id, ts, ok: false, error }
}

/**
 * The id of a request that failed `decode`, when one can be read: the payload is UTF-8
 * JSON, an object, and its `id` is a string of 1–64 characters (what a response may
 * echo). Undefined otherwise; such a request cannot be answered.
 */
export function readableId(payload: Uint8Array | string): string | undefined {
  let value: unknown
  try {
    const text = typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload)
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const id = (value as { id?: unknown }).id
  return typeof id === 'string' && id.length >= 1 && id.length <= ID_MAX ? id : undefined
}

/**
 * The `invalid` answer to a request that failed `decode` (docs/wire-contract.md: answered
 * only when its `id` is readable), listing the first violations; undefined when there
 * is no readable id (the caller logs and counts it).
 */
export function invalidRequestResponse(payload: Uint8Array | string, violations: readonly Violation[], ts: number): CommandResponse | undefined {
  const id = readableId(payload)
  if (id === undefined) return undefined
  const listed = violations.slice(0, 5).map((v) => `${v.path || '(root)'}: ${v.reason}`)
  const more = violations.length > 5 ? `; and ${violations.length - 5} more` : ''
  return failed(id, ts, commandError('invalid', `request rejected: ${listed.join('; ')}${more}`))
}
