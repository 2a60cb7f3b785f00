/**
 * TypeBox schemas of the alarm, maintenance and stream routes: the alarm as the engine
 * keeps it (`cloud/alarms/lifecycle.ts`), its logged transitions (`store.ts`), and the
 * operator request bodies. As in `schemas.ts`, a field not declared here never reaches
 * a client.
 */
import Type from 'typebox'
import { ALARM_STATUSES } from '../alarms/lifecycle.ts'
import { SEVERITIES } from '../alarms/rules.ts'
import { PointValueSchema } from '../../shared/mqtt/messages.ts'
import { ID_PATTERN } from '../../shared/mqtt/topics.ts'
import { Ms } from './schemas.ts'

export const AlarmStatusSchema = Type.Enum(ALARM_STATUSES, { description: 'ISA-18.2 / ThingsBoard lifecycle state' })
export const SeveritySchema = Type.Enum(SEVERITIES)

/**
 * An alarm id as it appears decoded: `{gateway}/{device}/{rule}#{seq}`, or its key (the
 * same without `#seq`: the key's current alarm). In a path it is URL-encoded as one
 * segment (`encodeURIComponent`: `/` → `%2F`, `#` → `%23`). The device of a gateway's
 * own alarm is `@gateway`.
 */
export const ALARM_REF_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}/@?[A-Za-z0-9][A-Za-z0-9_-]{0,63}/[a-z][a-z0-9_.-]{0,63}(#[1-9][0-9]{0,15})?$'
export const AlarmRefParams = Type.Object({
  id: Type.String({
    pattern: ALARM_REF_PATTERN,
    description: 'alarm id `{gateway}/{device}/{rule}#{seq}` (or its key, without `#seq`, for the current alarm), URL-encoded: `gw-up%2Fwl-01%2Flevel_m.threshold%231`',
  }),
})

const Eta = Type.Object({ at: Ms('when the forecast reaches the threshold'), inS: Type.Number(), confidence: Type.Number({ minimum: 0, maximum: 1 }) })

export const AlarmSchema = Type.Object({
  id: Type.String({ description: '`{key}#{seq}`, stable across restarts' }),
  key: Type.String({ description: '`{gateway}/{device}/{rule}`: at most one open alarm per key' }),
  seq: Type.Integer({ minimum: 1 }),
  site: Type.String(),
  gateway: Type.String(),
  device: Type.String({ description: 'device id, or `@gateway` for the gateway itself' }),
  rule: Type.String({ description: 'the alarm type, e.g. level_m.threshold' }),
  kind: Type.Optional(Type.String()),
  status: AlarmStatusSchema,
  severity: SeveritySchema,
  message: Type.String(),
  value: Type.Optional(PointValueSchema),
  eta: Type.Optional(Eta),
  openedAt: Ms('when it was raised'),
  updatedAt: Ms('when it last changed'),
  clearedAt: Type.Optional(Ms('when its condition cleared')),
  ackedAt: Type.Optional(Ms('when it was acknowledged')),
  ackedBy: Type.Optional(Type.String()),
  comments: Type.Array(Type.Object({ by: Type.String(), at: Ms('when'), text: Type.String() })),
  shelved: Type.Optional(Type.Object({ by: Type.String(), at: Ms('when it was shelved'), until: Ms('when the shelf ends') })),
  suppressed: Type.Optional(Type.Boolean({ description: 'raised during maintenance: tracked, not announced' })),
  parent: Type.Optional(Type.String({ description: 'key of the alarm it is grouped under (gateway offline)' })),
})

/** The action of a transition: `type`, `at` and `actor` always; the rest by type. */
const ActionSchema = Type.Object({
  type: Type.Enum(['raise', 'escalate', 'clear', 'ack', 'comment', 'shelve', 'unshelve', 'expire-shelve', 'release']),
  at: Ms('when it happened (a raise or clear: the sample time)'),
  actor: Type.String({ description: '`system`, or the API token name of the operator' }),
  severity: Type.Optional(SeveritySchema),
  message: Type.Optional(Type.String()),
  value: Type.Optional(PointValueSchema),
  comment: Type.Optional(Type.String()),
  text: Type.Optional(Type.String()),
  until: Type.Optional(Ms('shelved until')),
  maintenance: Type.Optional(Type.Boolean()),
  parent: Type.Optional(Type.String()),
})

export const TransitionSchema = Type.Object({
  id: Type.Integer({ minimum: 1, description: 'log position; the SSE event id' }),
  alarmId: Type.String(),
  key: Type.String(),
  from: Type.Optional(AlarmStatusSchema),
  to: AlarmStatusSchema,
  announce: Type.Boolean({ description: 'false while shelved, suppressed or grouped: operators were not told' }),
  recordedAt: Ms('when it was logged'),
  action: ActionSchema,
})

export const AlarmResultSchema = Type.Object({ alarm: AlarmSchema, transition: TransitionSchema })

const Comment = (description: string) => Type.String({ minLength: 1, maxLength: 2000, description })

export const AckBody = Type.Object({ comment: Type.Optional(Comment('kept in the alarm comments')) }, { additionalProperties: false })
export const CommentBody = Type.Object({ text: Comment('the comment') }, { additionalProperties: false })
export const ShelveBody = Type.Object(
  {
    until: Type.Optional(Type.String({ description: 'when the shelf ends: ISO 8601 with an offset, or ms since the epoch; give until or forS' })),
    forS: Type.Optional(Type.Integer({ minimum: 1, description: 'shelve for this many seconds; give until or forS' })),
    comment: Type.Optional(Comment('why; kept in the alarm comments')),
  },
  { additionalProperties: false },
)
export const EmptyBody = Type.Object({}, { additionalProperties: false })

export const MaintenanceWindowSchema = Type.Object({
  scope: Type.Enum(['site', 'device']),
  site: Type.Optional(Type.String({ pattern: ID_PATTERN })),
  gateway: Type.Optional(Type.String({ pattern: ID_PATTERN })),
  device: Type.Optional(Type.String({ pattern: ID_PATTERN })),
  from: Ms('when it started'),
  until: Type.Optional(Ms('when it ends by itself; absent: until ended')),
})

export const MaintenanceBody = Type.Object(
  { until: Type.Optional(Type.String({ description: 'when it ends by itself: ISO 8601 with an offset, or ms since the epoch; default: until DELETE' })) },
  { additionalProperties: false },
)
