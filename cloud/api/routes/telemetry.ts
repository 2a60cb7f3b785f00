/**
 * `GET /api/v1/devices/:gateway/:device/telemetry`: a device's readings over a range,
 * raw or in buckets, never more than `MAX_QUERY_POINTS` rows.
 *
 * The bound, as a control room uses it:
 * - without `every` (raw samples), the store returns at most `limit` rows; when it had
 *   more, the answer says `truncated: true` and suggests an `every` that fits the whole
 *   range, so a chart can ask again;
 * - with `every`, a range/every that needs more than `MAX_QUERY_POINTS` buckets is a
 *   400 naming the smallest `every` allowed: the user asked for a resolution the API
 *   will not serve, and silently coarsening it would misreport what they see.
 */
import Type from 'typebox'
import { AGGREGATES, type Aggregate, MAX_QUERY_POINTS, type TelemetryQuery } from '../../model.ts'
import { POINT_NAME_PATTERN } from '../../../shared/mqtt/messages.ts'
import type { ApiDeps, ApiInstance } from '../deps.ts'
import { badField } from '../errors.ts'
import { Id, TelemetryResponseSchema, errorResponses } from '../schemas.ts'
import { bucketCount, formatDuration, minEvery, parseDuration, parseTime, suggestEvery } from '../time.ts'
import { findDevice } from './registry.ts'

/** The range when the query gives none: the last hour. */
export const DEFAULT_RANGE_MS = 3_600_000
/** At most this many points in one query. */
const MAX_POINTS_PER_QUERY = 64
const POINT_RE = new RegExp(POINT_NAME_PATTERN)

const iso = (ms: number): string => new Date(ms).toISOString()

const TelemetryQuerySchema = Type.Object(
  {
    from: Type.Optional(Type.String({ description: 'inclusive start: ms since the epoch or ISO 8601 with an offset; default `to` − 1h' })),
    to: Type.Optional(Type.String({ description: 'exclusive end: ms since the epoch or ISO 8601 with an offset; default now' })),
    points: Type.Optional(Type.String({ maxLength: 4096, description: 'comma-separated point names; default every point' })),
    every: Type.Optional(Type.String({ description: 'bucket width: 30s, 5m, 1h, 1d or ms; default raw samples' })),
    aggregate: Type.Optional(Type.Enum(AGGREGATES, { description: 'per bucket (needs every); default mean' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_QUERY_POINTS, description: `at most this many rows; default ${MAX_QUERY_POINTS}` })),
  },
  { additionalProperties: false },
)

function parsePoints(text: string): string[] {
  const names = text.split(',').map((p) => p.trim())
  for (const n of names) {
    if (!POINT_RE.test(n)) throw badField('querystring', 'points', `${JSON.stringify(n)} is not a point name (must match ${POINT_NAME_PATTERN})`)
  }
  const unique = [...new Set(names)]
  if (unique.length > MAX_POINTS_PER_QUERY) throw badField('querystring', 'points', `at most ${MAX_POINTS_PER_QUERY} points, got ${unique.length}`)
  return unique
}

export function registerTelemetryRoutes(app: ApiInstance, deps: Pick<ApiDeps, 'registry' | 'telemetry' | 'now'>): void {
  const now = deps.now ?? Date.now
  app.get(
    '/api/v1/devices/:gateway/:device/telemetry',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "A device's readings over a time range, raw or downsampled",
        description:
          `At most ${MAX_QUERY_POINTS} rows. Without every, a range with more samples than limit answers truncated: true ` +
          `and a suggestedEvery; with every, a range needing more than ${MAX_QUERY_POINTS} buckets is a 400 naming the smallest every allowed.`,
        tags: ['telemetry'],
        params: Type.Object({ gateway: Id('gateway id'), device: Id('device id') }),
        querystring: TelemetryQuerySchema,
        response: { 200: TelemetryResponseSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { gateway, device } = request.params
      const q = request.query
      // The device's own site goes to the store: gateway ids are unique, so the path needs no site.
      const dev = findDevice(deps.registry, gateway, device)

      let to = now()
      if (q.to !== undefined) {
        const t = parseTime(q.to)
        if (!t.ok) throw badField('querystring', 'to', t.error)
        to = t.value
      }
      let from = Math.max(0, to - DEFAULT_RANGE_MS)
      if (q.from !== undefined) {
        const f = parseTime(q.from)
        if (!f.ok) throw badField('querystring', 'from', f.error)
        from = f.value
      }
      if (from >= to) throw badField('querystring', 'from', `must be before to (from ${iso(from)}, to ${iso(to)})`)

      const points = q.points === undefined ? undefined : parsePoints(q.points)

      let every: number | undefined
      if (q.every !== undefined) {
        const e = parseDuration(q.every)
        if (!e.ok) throw badField('querystring', 'every', e.error)
        every = e.value
        const buckets = bucketCount(from, to, every)
        if (buckets > MAX_QUERY_POINTS) {
          throw badField(
            'querystring',
            'every',
            `${formatDuration(every)} makes ${buckets} buckets over ${formatDuration(to - from)}, more than ${MAX_QUERY_POINTS}: ` +
              `the smallest every allowed for this range is ${formatDuration(minEvery(from, to))} (e.g. every=${formatDuration(suggestEvery(from, to))})`,
          )
        }
      }
      if (q.aggregate !== undefined && every === undefined) {
        throw badField('querystring', 'aggregate', 'needs every: raw samples are not aggregated')
      }
      const aggregate: Aggregate | undefined = every === undefined ? undefined : (q.aggregate ?? 'mean')
      const limit = q.limit ?? MAX_QUERY_POINTS

      const query: TelemetryQuery = { site: dev.site, gateway, device, from, to, limit }
      if (points !== undefined) query.points = points
      if (every !== undefined) query.every = every
      if (aggregate !== undefined) query.aggregate = aggregate
      const result = await deps.telemetry.query(query)

      // The bound holds whatever the store does.
      const rows = result.rows.length > limit ? result.rows.slice(0, limit) : result.rows
      const truncated = result.truncated || result.rows.length > limit
      const suggested = truncated ? suggestEvery(from, to, limit) : undefined
      return {
        query: { site: dev.site, gateway, device, points: points ?? null, from, to, every: every ?? null, aggregate: aggregate ?? null, limit },
        truncated,
        ...(suggested !== undefined && (every === undefined || suggested > every) ? { suggestedEvery: formatDuration(suggested) } : {}),
        rows,
      }
    },
  )
}
