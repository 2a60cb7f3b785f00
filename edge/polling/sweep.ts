/**
 * What one sweep of a device came to, as a pure function: the answers to the
 * planned reads in, the values/errors split and the availability outcome out.
 * The device poller (device.ts) does the I/O and calls this.
 *
 * - An answered read is a block for `decodeBlocks`, which gives each of its points
 *   a value or a decode error (sentinel, nan, out_of_range, decode).
 * - A failed read gives every point of it the failure as a point error:
 *   `exception` with its code, `timeout`, `crc`, `transport`.
 * - A read not sent (the sweep stopped early, see `shouldStop`) gives its points
 *   the error that stopped the sweep, with a detail saying they were not asked.
 * - A planned point that no answer covers (a driver returning fewer words than
 *   asked) gets a `decode` error: a point is always in values or errors.
 */
import { clip } from '../../shared/codec/result.ts'
import { decodeBlocks, type Block, type Value } from '../../shared/codec/index.ts'
import type { ResolvedPoint } from '../../shared/profile/resolve.ts'
import type { PointError } from '../../shared/quality.ts'
import type { Failure, ReadResult } from '../drivers/transport.ts'
import { MAP_REFUSALS, type SweepOutcome } from './health.ts'
import type { ReadRequest } from './plan.ts'

/** A read of the sweep: its answer, or `skipped` when the sweep stopped before sending it. */
export type RequestResult = ReadResult | { readonly skipped: true }

export interface SweepResult {
  readonly values: Record<string, Value>
  readonly errors: Record<string, PointError>
  readonly outcome: SweepOutcome
  /** The answered reads as decoded, for what looks at raw registers (stuck detection). */
  readonly blocks: readonly Block[]
}

/** The point error a failed request gives each of its points. */
export function failureError(f: Failure): PointError {
  switch (f.kind) {
    case 'exception':
      return { code: 'exception', exception: f.code }
    case 'timeout':
      return { code: 'timeout' }
    case 'crc':
      return f.detail === undefined ? { code: 'crc' } : { code: 'crc', detail: clip(f.detail) }
    case 'transport':
      return { code: 'transport', detail: clip(f.detail) }
  }
}

/**
 * Whether a sweep should stop after this answer instead of sending its next read:
 * when the read got no answer at all (timeout, transport) and no earlier read of
 * the sweep was answered. A device that did not answer the first read is most
 * likely gone, and on a shared RTU line each further read would cost another
 * timeout; a device that answered a moment ago is alive, and one lost frame does
 * not cost it the rest of its points.
 */
export function shouldStop(result: ReadResult, answeredBefore: boolean): boolean {
  return !result.ok && !answeredBefore && (result.failure.kind === 'timeout' || result.failure.kind === 'transport')
}

/** Whether a result is an answer from the device (data or an exception frame), as opposed to silence or a broken link. */
export function isAnswer(result: ReadResult): boolean {
  return result.ok || result.failure.kind === 'exception' || result.failure.kind === 'crc'
}

/**
 * Decodes a sweep. `results[i]` answers `plan[i]`; `points` are the profile's points
 * (only those the plan names are decoded).
 */
export function decodeSweep(plan: readonly ReadRequest[], results: readonly RequestResult[], points: readonly ResolvedPoint[]): SweepResult {
  if (results.length !== plan.length) throw new RangeError(`${results.length} results for ${plan.length} planned reads`)
  if (plan.length === 0) return { values: {}, errors: {}, outcome: { kind: 'ok' }, blocks: [] }
  const byName = new Map(points.map((p) => [p.name, p]))
  const blocks: Block[] = []
  const errors: Record<string, PointError> = {}
  const answered: ResolvedPoint[] = []
  let stopError: PointError | undefined
  let anyData = false
  let refusals = 0
  let lastFailure: PointError | undefined
  plan.forEach((req, i) => {
    const r = results[i]
    if (r === undefined || 'skipped' in r) return
    if (r.ok) {
      anyData = true
      blocks.push({ table: req.table, start: req.start, data: r.data })
      for (const name of req.points) {
        const p = byName.get(name)
        if (p) answered.push(p)
      }
      return
    }
    const err = failureError(r.failure)
    lastFailure = err
    if (r.failure.kind === 'exception' && MAP_REFUSALS.has(r.failure.code)) refusals++
    if (r.failure.kind === 'timeout' || r.failure.kind === 'transport') stopError ??= err
    for (const name of req.points) errors[name] = err
  })
  plan.forEach((req, i) => {
    const r = results[i]
    if (r !== undefined && !('skipped' in r)) return
    const err: PointError = { ...(stopError ?? { code: 'timeout' }), detail: 'not asked: the device did not answer an earlier read of this sweep' }
    for (const name of req.points) errors[name] = err
  })
  const decoded = decodeBlocks(answered, blocks)
  Object.assign(errors, decoded.errors)
  for (const p of answered) {
    if (!(p.name in decoded.values) && !(p.name in errors)) errors[p.name] = { code: 'decode', detail: 'the answer was shorter than the read asked for' }
  }
  const sent = results.filter((r) => r !== undefined && !('skipped' in r)).length
  const outcome: SweepOutcome = anyData
    ? { kind: 'ok' }
    : sent > 0 && refusals === sent && lastFailure
      ? { kind: 'mismatch', error: lastFailure }
      : { kind: 'failed', error: stopError ?? lastFailure ?? { code: 'timeout' } }
  return { values: decoded.values, errors, outcome, blocks }
}
