/**
 * The alarm routes: list and filter (viewer), one alarm with its history (viewer), and
 * the operator actions ack, comment, shelve, unshelve (operator). The actor recorded in
 * the transition log is the token's name.
 *
 * An alarm id (`{gateway}/{device}/{rule}#{seq}`) holds `/` and `#`, so in a path it is
 * one URL-encoded segment: `encodeURIComponent(id)`. A key (the id without `#seq`) names
 * the key's current alarm, as the engine's operator methods accept.
 *
 * Without an alarm engine in `ApiDeps` the routes stay registered (the OpenAPI document
 * is complete) and answer 503.
 */
import Type, { type TSchema } from 'typebox'
import type { OperatorResult } from '../../alarms/engine.ts'
import { ALARM_STATUSES, SYSTEM, type Alarm, type AlarmStatus } from '../../alarms/lifecycle.ts'
import { SEVERITIES, type Severity } from '../../alarms/rules.ts'
import { foldAlarm } from '../alarm-history.ts'
import {
  AckBody,
  AlarmRefParams,
  AlarmResultSchema,
  AlarmSchema,
  CommentBody,
  EmptyBody,
  ShelveBody,
  TransitionSchema,
} from '../alarm-schemas.ts'
import type { AlarmApi, ApiDeps, ApiInstance } from '../deps.ts'
import { ApiErrors, badField } from '../errors.ts'
import { Id, errorResponses } from '../schemas.ts'
import { parseTime } from '../time.ts'
import type { Principal } from '../tokens.ts'

export const ALARM_PAGE = { default: 100, max: 1000 } as const
/** ISA-18.2 shelving is temporary: at most this long (7 days). */
export const MAX_SHELVE_MS = 7 * 86_400_000
const ACTIVE: readonly AlarmStatus[] = ['ACTIVE_UNACK', 'ACTIVE_ACK']

/** The engine, or a 503 that says the service runs without one. */
export function needAlarms(alarms: AlarmApi | undefined): AlarmApi {
  if (alarms === undefined) throw ApiErrors.UNAVAILABLE('alarms are not enabled in this service (no alarm engine is configured)')
  return alarms
}

/** The operator recorded as the actor: the token's name (`system` is reserved for the engine). */
export function actorOf(p: Principal | null): string {
  if (p === null) throw new Error('operator route without a principal')
  return p.name === SYSTEM ? `${p.name} (${p.id})` : p.name
}

/** A comma-separated list of enum values, or a 400 naming the field and the bad value. */
export function parseList<T extends string>(field: string, text: string | undefined, allowed: readonly T[]): T[] | undefined {
  if (text === undefined) return undefined
  const out: T[] = []
  for (const v of text.split(',').map((s) => s.trim())) {
    if (!(allowed as readonly string[]).includes(v)) throw badField('querystring', field, `${JSON.stringify(v)} is not one of ${allowed.join(', ')}`)
    out.push(v as T)
  }
  return [...new Set(out)]
}

/** Splits a key `gateway/device/rule` (gateway and device hold no `/`). */
function splitKey(key: string): { gateway: string; device: string; rule: string } {
  const [gateway = '', device = '', ...rule] = key.split('/')
  return { gateway, device, rule: rule.join('/') }
}

/** The alarm an id or key names: current, or an older alarm of its key folded from the log. */
function findAlarm(alarms: AlarmApi, ref: string): { alarm: Alarm; current: boolean } | undefined {
  if (!ref.includes('#')) {
    const a = alarms.list(splitKey(ref))[0]
    return a === undefined ? undefined : { alarm: a, current: true }
  }
  const a = alarms.get(ref)
  if (a !== undefined) return { alarm: a, current: true }
  const old = foldAlarm(alarms.history(ref))
  return old === undefined ? undefined : { alarm: old, current: false }
}

// The cursor of the list: the last item's (updatedAt, id), opaque to clients.
const encodeCursor = (a: Alarm): string => Buffer.from(JSON.stringify([a.updatedAt, a.id])).toString('base64url')
function decodeCursor(text: string): [number, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
    if (Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && typeof v[1] === 'string') return [v[0] as number, v[1]]
  } catch {
    // falls through to the 400
  }
  throw badField('querystring', 'cursor', 'is not a cursor from this API (pass nextCursor of the previous page)')
}

const ListQuery = Type.Object(
  {
    state: Type.Optional(Type.String({ description: `comma-separated: ${ALARM_STATUSES.join(', ')}` })),
    active: Type.Optional(Type.Boolean({ description: 'true: ACTIVE_UNACK and ACTIVE_ACK; false: the cleared ones. Not with state' })),
    severity: Type.Optional(Type.String({ description: `comma-separated: ${SEVERITIES.join(', ')}` })),
    site: Type.Optional(Id('only this site')),
    gateway: Type.Optional(Id('only this gateway')),
    device: Type.Optional(Type.String({ pattern: '^@?[A-Za-z0-9][A-Za-z0-9_-]{0,63}$', description: 'only this device (`@gateway`: the gateway itself)' })),
    rule: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_.-]{0,63}$', description: 'only this alarm type, e.g. level_m.threshold' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: ALARM_PAGE.max, description: `default ${ALARM_PAGE.default}` })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
)

/** A body-less POST is an empty body, so `POST …/ack` needs no `{}`. */
const emptyBody = async (request: { body: unknown }): Promise<void> => {
  if (request.body === undefined || request.body === null) request.body = {}
}

export function registerAlarmRoutes(app: ApiInstance, deps: Pick<ApiDeps, 'alarms' | 'now'>): void {
  const now = deps.now ?? Date.now

  app.get(
    '/api/v1/alarms',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Alarms (the newest of each key), filtered, most recently updated first',
        tags: ['alarms'],
        querystring: ListQuery,
        response: {
          200: Type.Object({
            alarms: Type.Array(AlarmSchema),
            total: Type.Integer({ minimum: 0, description: 'alarms matching the filter, all pages' }),
            nextCursor: Type.Optional(Type.String({ description: 'pass as cursor for the next page; absent on the last page' })),
          }),
          ...errorResponses(400, 503),
        },
      },
    },
    async (request) => {
      const alarms = needAlarms(deps.alarms)
      const q = request.query
      const states = parseList('state', q.state, ALARM_STATUSES)
      if (states !== undefined && q.active !== undefined) throw badField('querystring', 'active', 'give state or active, not both')
      const severities = parseList<Severity>('severity', q.severity, SEVERITIES)
      const state = q.active === undefined ? states : q.active ? ACTIVE : ALARM_STATUSES.filter((s) => !ACTIVE.includes(s))
      const all = alarms.list({
        ...(state !== undefined ? { state } : {}),
        ...(severities !== undefined ? { severity: severities } : {}),
        ...(q.site !== undefined ? { site: q.site } : {}),
        ...(q.gateway !== undefined ? { gateway: q.gateway } : {}),
        ...(q.device !== undefined ? { device: q.device } : {}),
        ...(q.rule !== undefined ? { rule: q.rule } : {}),
      })
      let start = 0
      if (q.cursor !== undefined) {
        const [u, id] = decodeCursor(q.cursor)
        // The list is (updatedAt desc, id asc): the page starts after the cursor's place.
        start = all.findIndex((a) => a.updatedAt < u || (a.updatedAt === u && a.id > id))
        if (start < 0) start = all.length
      }
      const limit = q.limit ?? ALARM_PAGE.default
      const page = all.slice(start, start + limit)
      const last = page.at(-1)
      return { alarms: page, total: all.length, ...(start + limit < all.length && last !== undefined ? { nextCursor: encodeCursor(last) } : {}) }
    },
  )

  app.get(
    '/api/v1/alarms/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One alarm with its transition history (actor and time of each step)',
        tags: ['alarms'],
        params: AlarmRefParams,
        response: {
          200: Type.Object({
            alarm: AlarmSchema,
            current: Type.Boolean({ description: "false for an older alarm of its key: closed, kept for its history; actions go to the key's current alarm" }),
            history: Type.Array(TransitionSchema, { description: 'oldest first' }),
          }),
          ...errorResponses(400, 404, 503),
        },
      },
    },
    async (request) => {
      const alarms = needAlarms(deps.alarms)
      const found = findAlarm(alarms, request.params.id)
      if (found === undefined) throw ApiErrors.NOT_FOUND(`alarm "${request.params.id}" not found`)
      return { alarm: found.alarm, current: found.current, history: alarms.history(found.alarm.id) }
    },
  )

  /** An operator route: the engine's answer, or 404 / 409 with its reason. */
  const operate = (action: string, run: (alarms: AlarmApi, ref: string, actor: string) => OperatorResult) =>
    async (request: { params: { id: string }; principal: Principal | null; log: { info: (o: object, m: string) => void } }) => {
      const alarms = needAlarms(deps.alarms)
      const ref = request.params.id
      const r = run(alarms, ref, actorOf(request.principal))
      if (r.ok) {
        request.log.info({ alarmId: r.alarm.id, action, by: request.principal?.id, transition: r.transition.id }, 'alarm action')
        return { alarm: r.alarm, transition: r.transition }
      }
      const found = findAlarm(alarms, ref)
      if (found === undefined) throw ApiErrors.NOT_FOUND(`alarm "${ref}" not found`)
      if (!found.current) throw ApiErrors.CONFLICT(`cannot ${action} alarm "${ref}": it is closed and no longer its key's current alarm`)
      throw ApiErrors.CONFLICT(`cannot ${action} alarm "${found.alarm.id}" (${found.alarm.status}): ${r.reason}`)
    }

  const opSchema = <B extends TSchema>(summary: string, body: B) => ({
    config: { role: 'operator' as const },
    preValidation: emptyBody,
    schema: {
      summary,
      tags: ['alarms'],
      params: AlarmRefParams,
      body,
      response: { 200: AlarmResultSchema, ...errorResponses(400, 404, 409, 503) },
    },
  })

  app.post(
    '/api/v1/alarms/:id/ack',
    opSchema('Acknowledge an alarm (ACTIVE_UNACK → ACTIVE_ACK, CLEARED_UNACK → CLEARED_ACK)', AckBody),
    async (request) => operate('ack', (a, ref, actor) => a.ack(ref, actor, request.body.comment))(request),
  )

  app.post(
    '/api/v1/alarms/:id/comment',
    opSchema('Add a comment to an alarm', CommentBody),
    async (request) => operate('comment', (a, ref, actor) => a.comment(ref, actor, request.body.text))(request),
  )

  app.post(
    '/api/v1/alarms/:id/shelve',
    opSchema(`Shelve an open alarm until a time (at most ${MAX_SHELVE_MS / 86_400_000} days): tracked, not announced`, ShelveBody),
    async (request) => {
      const { until, forS, comment } = request.body
      const at = now()
      let untilMs: number
      if (until !== undefined && forS !== undefined) throw badField('body', 'until', 'give until or forS, not both')
      if (until !== undefined) {
        const t = parseTime(until)
        if (!t.ok) throw badField('body', 'until', t.error)
        if (t.value <= at) throw badField('body', 'until', `must be in the future (now is ${new Date(at).toISOString()})`)
        untilMs = t.value
      } else if (forS !== undefined) {
        untilMs = at + forS * 1000
      } else {
        throw badField('body', 'until', 'is required (or forS)')
      }
      if (untilMs - at > MAX_SHELVE_MS) throw badField('body', until !== undefined ? 'until' : 'forS', `a shelf lasts at most ${MAX_SHELVE_MS / 86_400_000} days`)
      return operate('shelve', (a, ref, actor) => a.shelve(ref, actor, untilMs, comment))(request)
    },
  )

  app.post(
    '/api/v1/alarms/:id/unshelve',
    opSchema('Unshelve an alarm: it is announced again while open', EmptyBody),
    async (request) => operate('unshelve', (a, ref, actor) => a.unshelve(ref, actor))(request),
  )
}
