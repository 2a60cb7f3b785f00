/**
 * TypeBox schemas of the API's responses and shared parameters. They document the API
 * (OpenAPI at /docs/json) and drive serialization: Fastify's fast-json-stringify writes
 * only the fields declared here, so a field missing from a schema never reaches a client.
 */
import Type, { type TSchema } from 'typebox'
import { AGGREGATES, MAX_QUERY_POINTS } from '../model.ts'
import { LIMITS, PointValueSchema } from '../../shared/mqtt/messages.ts'
import { ID_PATTERN } from '../../shared/mqtt/topics.ts'
import { SENSOR_KINDS } from '../../shared/profile/schema.ts'
import { ROLES } from './tokens.ts'

export const Id = (description: string) => Type.String({ pattern: ID_PATTERN, description })
export const Ms = (description: string) => Type.Integer({ minimum: 0, maximum: LIMITS.timestampMs, description: `${description}; ms since the epoch` })

const errorFields = {
  statusCode: Type.Integer({ minimum: 400, maximum: 599 }),
  error: Type.String({ description: 'HTTP reason phrase' }),
  message: Type.String({ description: 'what was wrong; for 4xx it names the field, e.g. `querystring/from: must be before to`' }),
  code: Type.Optional(Type.String({ description: 'stable error code, e.g. API_NOT_FOUND' })),
}
const errorSchema = (description: string) => Type.Object(errorFields, { description })
export const ErrorSchema = errorSchema('an error')

/** The error responses of a route that needs a token, plus the extra ones it lists. */
export function errorResponses(...codes: Array<400 | 404 | 409 | 503>): Record<number, TSchema> {
  const out: Record<number, TSchema> = {
    401: errorSchema('no token, or an unknown or revoked one (WWW-Authenticate: Bearer)'),
    403: errorSchema('the token role is too weak; the message names the role needed'),
  }
  const what = { 400: 'a parameter is invalid; the message names it', 404: 'not found; the message names what', 409: 'the current state refuses the request; the message says why', 503: 'a part this route needs is not enabled in this service; the message names it' }
  for (const c of codes) out[c] = errorSchema(what[c])
  return out
}

export const AvailabilitySchema = Type.Enum(['available', 'unavailable', 'unknown'])
export const SensorKindSchema = Type.Enum(SENSOR_KINDS)

export const SiteSchema = Type.Object({
  site: Id('site id'),
  gateways: Type.Integer({ minimum: 0 }),
  devices: Type.Integer({ minimum: 0 }),
  online: Type.Integer({ minimum: 0, description: 'gateways online' }),
})

export const GatewaySchema = Type.Object({
  site: Id('site id'),
  gateway: Id('gateway id'),
  state: Type.Enum(['online', 'offline', 'unknown']),
  session: Type.Integer({ minimum: 0, description: 'connect counter of the newest birth' }),
  agent: Type.Optional(Type.Object({ name: Type.String(), version: Type.String() })),
  bornAt: Type.Optional(Ms('when the last birth arrived')),
  stateAt: Type.Optional(Ms('when the state last changed')),
  devices: Type.Integer({ minimum: 0, description: 'devices in the last birth' }),
})

export const DeviceSchema = Type.Object({
  site: Id('site id'),
  gateway: Id('gateway id'),
  device: Id('device id, unique within the gateway'),
  kind: SensorKindSchema,
  profile: Type.String({ description: 'firmware-profile id' }),
  firmware: Type.String(),
  bus: Type.String(),
  unit: Type.Optional(Type.Integer({ minimum: 0, maximum: 255, description: 'Modbus unit id' })),
  location: Type.Optional(Type.Object({ lat: Type.Number(), lon: Type.Number() }, { description: 'WGS 84' })),
  asset: Type.Optional(Type.String({ description: 'municipal asset id' })),
  availability: AvailabilitySchema,
  lastError: Type.Optional(Type.String({ description: 'why the device is unavailable, or a profile mismatch' })),
  lastSeen: Type.Optional(Ms('sample time of the last live reading')),
  lastValues: Type.Optional(Type.Record(Type.String(), PointValueSchema, { description: 'point → last live value' })),
})

/** A point value in a telemetry row; null when a bucket or sample has none for that point. */
const RowValueSchema = Type.Unsafe<number | boolean | string | null>({
  type: ['number', 'boolean', 'string', 'null'],
  description: 'the value, or null when the point has none at this time',
})

export const TelemetryRowSchema = Type.Object({
  ts: Ms('sample time, or bucket start'),
  values: Type.Record(Type.String(), RowValueSchema),
})

export const TelemetryResponseSchema = Type.Object({
  query: Type.Object(
    {
      site: Id('site id'),
      gateway: Id('gateway id'),
      device: Id('device id'),
      points: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'points asked for; null means all' }),
      from: Ms('inclusive start'),
      to: Ms('exclusive end'),
      every: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'bucket width in ms; null for raw samples' }),
      aggregate: Type.Union([Type.Enum(AGGREGATES), Type.Null()], { description: 'aggregate per bucket; null for raw samples' }),
      limit: Type.Integer({ minimum: 1, maximum: MAX_QUERY_POINTS }),
    },
    { description: 'the query as the API ran it, defaults filled in' },
  ),
  truncated: Type.Boolean({ description: 'true when the range held more rows than limit and the rows were cut' }),
  suggestedEvery: Type.Optional(Type.String({ description: 'when truncated: an every (e.g. 5m) that fits the whole range within limit' })),
  rows: Type.Array(TelemetryRowSchema),
})

export const DeadLetterSchema = Type.Object({
  id: Type.Integer(),
  at: Ms('when the cloud received it'),
  topic: Type.String(),
  client: Type.Optional(Type.String({ description: 'MQTT client id, when known' })),
  reason: Type.String({ description: 'short machine reason, e.g. invalid, unknown_gateway' }),
  detail: Type.Array(Type.String(), { description: '`path: reason` lines' }),
  payload: Type.String({ description: 'payload as UTF-8, cut to 4 KiB' }),
  bytes: Type.Integer({ minimum: 0, description: 'full payload size' }),
})

export const RoleSchema = Type.Enum(ROLES, { description: 'viewer < operator < engineer < admin' })

export const TokenInfoSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  createdAt: Ms('when it was created'),
  revokedAt: Type.Optional(Ms('when it was revoked')),
})
