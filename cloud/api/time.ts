/**
 * Pure parsing of the telemetry query's times and durations, and the row bound.
 * Every failure is a `{ error }` naming the reason, so the route can put the field in front.
 */
import { MAX_QUERY_POINTS } from '../model.ts'
import { LIMITS } from '../../shared/mqtt/messages.ts'

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value })
const fail = <T>(error: string): Parsed<T> => ({ ok: false, error })

/** Milliseconds since the epoch, as digits. */
const MS_RE = /^\d{1,16}$/
/**
 * ISO 8601 / RFC 3339 §5.6: a date (`2024-05-01`, UTC midnight) or a date-time with seconds
 * optional, fraction optional and an offset required (`Z` or `±hh:mm`): a time without an
 * offset would be read in the server's zone, which the control room cannot see.
 */
const ISO_RE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i

/** Parses a time given as ms since the epoch or as ISO 8601. */
export function parseTime(text: string): Parsed<number> {
  if (MS_RE.test(text)) {
    const ms = Number(text)
    return ms <= LIMITS.timestampMs ? ok(ms) : fail(`must be at most ${LIMITS.timestampMs} ms`)
  }
  if (!ISO_RE.test(text)) {
    return fail(`must be ms since the epoch or ISO 8601 with an offset (e.g. 2024-05-01T08:00:00Z), got ${JSON.stringify(text)}`)
  }
  const ms = Date.parse(text)
  if (Number.isNaN(ms)) return fail(`is not a valid date: ${JSON.stringify(text)}`)
  if (ms < 0) return fail('must not be before 1970-01-01T00:00:00Z')
  return ok(ms)
}

/** Duration units `every` accepts. */
export const UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DURATION_RE = /^(\d{1,12})(ms|s|m|h|d)?$/

/** Parses `30s`, `5m`, `1h`, `1d`, `250ms` or plain ms (`60000`). */
export function parseDuration(text: string): Parsed<number> {
  const m = DURATION_RE.exec(text)
  if (m === null) return fail(`must be a duration like 30s, 5m, 1h, 1d or ms, got ${JSON.stringify(text)}`)
  const ms = Number(m[1]) * UNITS_MS[(m[2] ?? 'ms') as keyof typeof UNITS_MS]
  if (ms <= 0) return fail('must be more than 0')
  if (ms > 366 * UNITS_MS.d) return fail('must be at most 366d')
  return ok(ms)
}

/** The shortest text for `ms`: `5m`, `90s`, `1500ms`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNITS_MS[unit] === 0) return `${ms / UNITS_MS[unit]}${unit}`
  }
  return `${ms}ms`
}

/** Bucket widths a person would pick, shortest first. */
const NICE_EVERY_MS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
].map((s) => s * 1000)

/** How many buckets of `every` the range [from, to) spans. */
export const bucketCount = (from: number, to: number, every: number): number => Math.ceil((to - from) / every)

/** The smallest `every` (ms) that keeps [from, to) within `maxRows` buckets. */
export const minEvery = (from: number, to: number, maxRows: number = MAX_QUERY_POINTS): number =>
  Math.max(1, Math.ceil((to - from) / maxRows))

/** The smallest "nice" `every` (1s, 5m, 1h, …) that keeps [from, to) within `maxRows` buckets. */
export function suggestEvery(from: number, to: number, maxRows: number = MAX_QUERY_POINTS): number {
  const min = minEvery(from, to, maxRows)
  return NICE_EVERY_MS.find((e) => e >= min) ?? Math.ceil(min / UNITS_MS.d) * UNITS_MS.d
}
