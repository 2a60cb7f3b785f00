/**
 * `GET /api/v1/stream` (viewer): Server-Sent Events for the control room.
 *
 * - `event: alarm`, `id: <transition id>`, data `{ transition, alarm }`: every announced
 *   alarm transition (`announce: false` ones — shelved, suppressed, grouped — are not
 *   sent), the alarm as it is after that transition.
 * - `event: device` / `event: gateway`, no id: registry changes (device availability;
 *   gateway online/offline and birth), data = the change plus `at` (and the device's
 *   `site` when the registry knows it).
 * - `event: reset`, with an id: the client was too far behind to replay; reload the
 *   list (`GET /api/v1/alarms`) — the stream goes on live from that id.
 * - `retry:` first, and a `: heartbeat` comment every 15 s.
 *
 * Resume: `Last-Event-ID` (or `?lastEventId=`) replays the logged transitions after it
 * (`alarms.transitions(afterId)`), then goes live, with no gap and no duplicate. The
 * listener is subscribed before the replay reads the log and buffers what arrives
 * meanwhile; the flush skips what the replay already sent (id ≤ the last replayed).
 * That holds because transition ids increase in log order and the service publishes each
 * transition in the engine's `onTransition`, right after its commit: a transition is in
 * a page the replay read (id ≤ cursor), or it reaches the listener after that read
 * (id > cursor); one in both is sent once. Device and gateway events are live only: they
 * have no id and are not replayed (reload the registry after a reconnect).
 *
 * Filters: `?site=` (every event), `?severity=` (alarm events only).
 */
import Type from 'typebox'
import type { LiveEvent } from '../../alarms/feed.ts'
import type { Alarm } from '../../alarms/lifecycle.ts'
import { SEVERITIES, type Severity } from '../../alarms/rules.ts'
import type { StoredTransition } from '../../alarms/store.ts'
import { applyTransition, foldAlarm } from '../alarm-history.ts'
import { AlarmSchema, TransitionSchema } from '../alarm-schemas.ts'
import type { AlarmApi, ApiDeps, ApiInstance } from '../deps.ts'
import { ApiErrors } from '../errors.ts'
import { Id, errorResponses } from '../schemas.ts'
import { formatEvent, type SseOptions, SseWriter } from '../sse.ts'
import { parseList } from './alarms.ts'

export const STREAM_DEFAULTS = { heartbeatMs: 15_000, retryMs: 3000, maxBufferedBytes: 1 << 20, maxReplay: 10_000, replayPage: 500 } as const

const AlarmEventData = Type.Object({ transition: TransitionSchema, alarm: AlarmSchema })
/** For `reply.serializeInput`, which types a schema as a plain record. */
const ALARM_EVENT_SCHEMA = AlarmEventData as unknown as Record<string, unknown>

const StreamQuery = Type.Object(
  {
    access_token: Type.Optional(Type.String({ description: 'the token, for a browser EventSource (it cannot send headers); redacted from logs' })),
    lastEventId: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'resume after this transition id (the Last-Event-ID header wins)' })),
    site: Type.Optional(Id('only events of this site')),
    severity: Type.Optional(Type.String({ description: `alarm events of these severities only, comma-separated: ${SEVERITIES.join(', ')}` })),
  },
  { additionalProperties: false },
)

interface Out {
  id?: number
  chunk: string
}

export function registerStreamRoutes(app: ApiInstance, deps: Pick<ApiDeps, 'alarms' | 'live' | 'registry' | 'stream'>): void {
  const o = { ...STREAM_DEFAULTS, ...deps.stream }
  const open = new Set<SseWriter>()
  // Streams never end by themselves: close them, or app.close() waits for them forever.
  app.addHook('preClose', async () => {
    for (const w of open) w.end()
  })

  app.get(
    '/api/v1/stream',
    {
      config: { role: 'viewer', queryToken: true },
      schema: {
        summary: 'Live alarm transitions and device/gateway status as Server-Sent Events, resumable with Last-Event-ID',
        description:
          'Events: `alarm` (id = transition id; data {transition, alarm}), `device` and `gateway` (registry changes, no id), `reset` (too far behind: reload the list). ' +
          'Send `Last-Event-ID` (or `?lastEventId=`) to replay what was missed; a browser EventSource may pass the token as `?access_token=`.',
        tags: ['alarms'],
        querystring: StreamQuery,
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'resume after this transition id' })) }),
        response: {
          200: { description: 'an endless text/event-stream', content: { 'text/event-stream': { schema: Type.String() } } },
          ...errorResponses(400, 503),
        },
      },
    },
    async (request, reply) => {
      const live = deps.live
      if (live === undefined) throw ApiErrors.UNAVAILABLE('the live stream is not enabled in this service (no live feed is configured)')
      const header = request.headers['last-event-id']
      const resumeText = (typeof header === 'string' ? header : undefined) ?? request.query.lastEventId
      const resumeAfter = resumeText === undefined ? undefined : Number(resumeText)
      if (resumeAfter !== undefined && deps.alarms === undefined) {
        throw ApiErrors.UNAVAILABLE('resuming (Last-Event-ID) needs the alarm log, and alarms are not enabled in this service')
      }
      const site = request.query.site
      const severities = new Set(parseList<Severity>('severity', request.query.severity, SEVERITIES) ?? SEVERITIES)
      const alarmPasses = (a: Alarm): boolean => (site === undefined || a.site === site) && severities.has(a.severity)
      const alarmEvent = (t: StoredTransition, a: Alarm): Out => ({ id: t.id, chunk: formatEvent('alarm', reply.serializeInput({ transition: t, alarm: a }, ALARM_EVENT_SCHEMA), t.id) })

      const render = (e: LiveEvent): Out | undefined => {
        if (e.type === 'alarm') return e.transition.announce && alarmPasses(e.alarm) ? alarmEvent(e.transition, e.alarm) : undefined
        const c = e.change
        if (c.type === 'stale-state') return undefined
        if (c.type === 'availability') {
          const s = deps.registry.device(c.gateway, c.device)?.site
          if (site !== undefined && s !== site) return undefined
          return { chunk: formatEvent('device', JSON.stringify({ ...c, ...(s !== undefined ? { site: s } : {}), at: e.at })) }
        }
        if (site !== undefined && c.site !== site) return undefined
        return { chunk: formatEvent('gateway', JSON.stringify({ ...c, at: e.at })) }
      }

      const sse: SseOptions = o
      const writer = new SseWriter(reply.raw, sse, (buffered) =>
        request.log.warn({ buffered, max: o.maxBufferedBytes }, 'SSE client too slow: disconnected (it may resume with Last-Event-ID)'),
      )
      // Subscribe first: whatever happens from here on reaches the listener.
      let cursor = resumeAfter ?? 0
      let isLive = false
      const pending: Out[] = []
      let pendingBytes = 0
      const unsubscribe = live.subscribe((e) => {
        if (writer.closed) return
        let out: Out | undefined
        try {
          out = render(e)
        } catch (err) {
          request.log.error({ err }, 'SSE event could not be rendered; stream closed')
          writer.destroy()
          return
        }
        if (out === undefined) return
        if (isLive) {
          if (out.id !== undefined) {
            if (out.id <= cursor) return
            cursor = out.id
          }
          writer.send(out.chunk)
          return
        }
        pending.push(out)
        pendingBytes += out.chunk.length
        if (pendingBytes > o.maxBufferedBytes) {
          request.log.warn({ buffered: pendingBytes, max: o.maxBufferedBytes }, 'SSE client too slow during replay: disconnected')
          writer.destroy()
        }
      })
      writer.onClose(() => {
        unsubscribe()
        open.delete(writer)
        request.log.debug('SSE client gone')
      })
      reply.hijack()
      open.add(writer)
      writer.start()
      request.log.info({ resumeAfter, site, severity: request.query.severity }, 'SSE client connected')

      try {
        if (resumeAfter !== undefined) cursor = await replay(needAlarmsSync(deps.alarms), cursor, writer, o, alarmPasses, alarmEvent)
      } catch (err) {
        request.log.error({ err }, 'SSE replay failed; stream closed')
        writer.destroy()
        return
      }
      // Whatever was published after the replay's last read has a larger id than `cursor`
      // and sits in `pending`; whatever was read was sent, and is skipped here.
      isLive = true
      for (const out of pending.splice(0)) {
        if (out.id !== undefined) {
          if (out.id <= cursor) continue
          cursor = out.id
        }
        writer.send(out.chunk)
      }
    },
  )
}

function needAlarmsSync(alarms: AlarmApi | undefined): AlarmApi {
  if (alarms === undefined) throw new Error('replay without an alarm engine')
  return alarms
}

/**
 * Sends the announced transitions after `afterId` that pass the filter, page by page,
 * waiting for a slow client between pages. Returns the id of the last transition read
 * (sent or not). When more than `maxReplay` were missed it sends a `reset` event with
 * the newest id instead, and returns that id.
 */
async function replay(
  alarms: AlarmApi,
  afterId: number,
  writer: SseWriter,
  { maxReplay, replayPage }: { maxReplay: number; replayPage: number },
  passes: (a: Alarm) => boolean,
  event: (t: StoredTransition, a: Alarm) => Out,
): Promise<number> {
  let cursor = afterId
  // Log ids are never reused, so a transition past afterId + maxReplay means more than
  // maxReplay were missed (fewer only if the log was compacted: a reset then is safe too).
  if (alarms.transitions(afterId + maxReplay, 1).length > 0) {
    for (let next = alarms.transitions(cursor, 10 * replayPage); next.length > 0; next = alarms.transitions(cursor, 10 * replayPage)) {
      cursor = (next.at(-1) as StoredTransition).id
    }
    writer.send(formatEvent('reset', JSON.stringify({ reason: `more than ${maxReplay} transitions missed: reload GET /api/v1/alarms`, lastEventId: cursor }), cursor))
    return cursor
  }
  const folded = new Map<string, Alarm>()
  for (;;) {
    if (writer.closed) return cursor
    const page = alarms.transitions(cursor, replayPage)
    for (const t of page) {
      cursor = t.id
      const prev = folded.get(t.alarmId)
      // The alarm as of this transition: the one folded so far, else its history up to here.
      const alarm = prev !== undefined ? applyTransition(prev, t) : t.announce ? foldAlarm(alarms.history(t.alarmId), t.id) : undefined
      if (alarm === undefined) continue
      folded.set(t.alarmId, alarm)
      if (t.announce && passes(alarm)) writer.send(event(t, alarm).chunk)
    }
    if (page.length < replayPage) return cursor
    if (writer.behind) await writer.drained()
  }
}
