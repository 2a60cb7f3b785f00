/**
 * Webhook signatures, the Stripe / GitHub way: the sender puts the unix time in
 * `x-muni-timestamp` and `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>` in
 * `x-muni-signature`. Signing the timestamp with the body lets a receiver refuse a
 * replayed request (an old timestamp) as well as a forged or altered one.
 *
 * `verifySignature` is what a receiver (and the tests) runs: it compares in constant time
 * (`timingSafeEqual`) and accepts a header with several comma-separated `sha256=` values,
 * so a secret can be rotated by signing with both for a while.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_HEADER = 'x-muni-signature'
export const TIMESTAMP_HEADER = 'x-muni-timestamp'
export const EVENT_ID_HEADER = 'x-muni-event-id'

/** Default tolerance between the receiver's clock and `x-muni-timestamp` (Stripe's too). */
export const DEFAULT_TOLERANCE_S = 300

/** `sha256=<hex>` of `timestamp + "." + body`. */
export function sign(secret: string, timestamp: number | string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

/**
 * True when `header` carries a valid signature of `timestamp.body` with `secret` and the
 * timestamp is within `toleranceS` of `nowS` (either side: a clock ahead is as suspect as
 * one behind). `body` must be the raw request body, byte for byte, before any JSON parse.
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  timestamp: string | number | undefined,
  body: string | Buffer,
  toleranceS: number = DEFAULT_TOLERANCE_S,
  nowS: number = Date.now() / 1000,
): boolean {
  if (header === undefined || timestamp === undefined || secret === '') return false
  const ts = typeof timestamp === 'number' ? timestamp : /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN
  if (!Number.isFinite(ts) || Math.abs(nowS - ts) > toleranceS) return false
  const expected = Buffer.from(createHmac('sha256', secret).update(`${ts}.`).update(body).digest('hex'))
  let ok = false
  for (const part of header.split(',')) {
    const m = /^\s*sha256=([0-9a-f]{64})\s*$/i.exec(part)
    if (!m) continue
    // Same length by the regex: timingSafeEqual would throw on a length mismatch.
    if (timingSafeEqual(Buffer.from((m[1] as string).toLowerCase()), expected)) ok = true
  }
  return ok
}
