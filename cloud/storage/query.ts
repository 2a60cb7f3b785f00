/**
 * What every `TelemetryStore.query` means, whatever the backend, and the pieces the
 * implementations share to mean it the same way:
 *
 * - Raw (no `every`): one row per sample time at which at least one queried point has a
 *   value or an error. `values` holds every queried point (null where the sample has none);
 *   `errors` holds the error code of queried points that failed at that time. Without
 *   `points`, the queried points are the number/boolean points (and errored points) found
 *   in the returned rows; strings only come back when asked for by name.
 * - Downsampled (`every`): buckets start at multiples of `every` since the epoch (InfluxDB's
 *   `GROUP BY time()` alignment), so the first bucket may start before `from`; only samples
 *   inside [from, to) count. `min`/`max`/`mean` use numbers only (a boolean or string point
 *   is null); `last` is the last value of any type. Buckets with nothing in them are left out.
 * - Rows ascend by `ts`; at most `limit` of them, `truncated` when more were in range.
 */
import type { PointValue } from '../../shared/mqtt/messages.ts'
import type { PointErrorCode } from '../../shared/quality.ts'
import { AGGREGATES, MAX_QUERY_POINTS, type Aggregate, type TelemetryQuery, type TelemetryResult, type TelemetryRow } from '../model.ts'

/** Field names the stores use for themselves; a point may not be called this. */
export const RESERVED_POINT_NAMES: ReadonlySet<string> = new Set(['historical', 'seq', 'time'])
/** Suffix of the field holding a point's error code (`<point>__error`). */
export const ERROR_SUFFIX = '__error'

/** Why a point name cannot be stored as its own field, or undefined when it can. */
export function reservedPointReason(point: string): string | undefined {
  if (RESERVED_POINT_NAMES.has(point)) return `"${point}" is a reserved field name (${[...RESERVED_POINT_NAMES].join(', ')})`
  if (point.endsWith(ERROR_SUFFIX)) return `"${point}" ends with "${ERROR_SUFFIX}", the suffix of error fields`
  return undefined
}

/** A query with its defaults applied, checked. */
export interface CheckedQuery extends TelemetryQuery {
  aggregate: Aggregate
}

/** Checks a query's numbers and applies defaults; throws a RangeError naming the field. */
export function checkQuery(store: string, q: TelemetryQuery): CheckedQuery {
  const bad = (field: string, why: string) => new RangeError(`${store} query: ${field} ${why}`)
  if (!Number.isSafeInteger(q.from)) throw bad('from', `must be an integer ms timestamp, got ${q.from}`)
  if (!Number.isSafeInteger(q.to)) throw bad('to', `must be an integer ms timestamp, got ${q.to}`)
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_QUERY_POINTS) throw bad('limit', `must be an integer in 1..${MAX_QUERY_POINTS}, got ${q.limit}`)
  if (q.every !== undefined && (!Number.isSafeInteger(q.every) || q.every < 1)) throw bad('every', `must be a positive integer (ms), got ${q.every}`)
  const aggregate = q.aggregate ?? 'mean'
  if (!(AGGREGATES as readonly string[]).includes(aggregate)) throw bad('aggregate', `must be one of ${AGGREGATES.join(', ')}, got ${String(aggregate)}`)
  if (q.points !== undefined && q.points.length === 0) throw bad('points', 'must not be empty when given (omit it for all points)')
  return { ...q, aggregate }
}

/** The bucket a sample at `ts` falls in: epoch-aligned, as InfluxDB's `GROUP BY time()`. */
export function bucketStart(ts: number, every: number): number {
  return ts - (((ts % every) + every) % every)
}

/**
 * Collects (ts, point, value|error) cells in any order, then returns rows ascending by ts,
 * cut at `limit`. Explicitly queried points appear in every row (null when absent); without
 * them a row has the union of points seen in the returned rows.
 */
export class RowCollector {
  private readonly rows = new Map<number, TelemetryRow>()

  constructor(private readonly points: readonly string[] | undefined) {}

  private row(ts: number): TelemetryRow {
    let row = this.rows.get(ts)
    if (!row) {
      row = { ts, values: {} }
      this.rows.set(ts, row)
    }
    return row
  }

  value(ts: number, point: string, value: PointValue | null): void {
    const row = this.row(ts)
    if (value !== null || !(point in row.values)) row.values[point] = value
  }

  error(ts: number, point: string, code: PointErrorCode): void {
    const row = this.row(ts)
    ;(row.errors ??= {})[point] = code
    if (!(point in row.values)) row.values[point] = null
  }

  /** Number of distinct timestamps so far. */
  get size(): number {
    return this.rows.size
  }

  result(limit: number): TelemetryResult {
    const sorted = [...this.rows.values()].sort((a, b) => a.ts - b.ts)
    const truncated = sorted.length > limit
    const rows = truncated ? sorted.slice(0, limit) : sorted
    const names = this.points ?? [...new Set(rows.flatMap((r) => Object.keys(r.values)))].sort()
    for (const row of rows) {
      const values: Record<string, PointValue | null> = {}
      for (const p of names) values[p] = row.values[p] ?? null
      row.values = values
    }
    return { rows, truncated }
  }
}
