import { connect, type Socket } from 'node:net'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import type { StoredTransition } from '../../alarms/store.ts'
import type { AlarmApi } from '../deps.ts'
import { type AlarmWorld, enc, makeAlarmWorld } from '../test-support/alarm-world.ts'
import { openSse, type SseClient } from '../test-support/sse-client.ts'

const COVER = 'gw-gqm/mh-01/cover_open.state'
let w: AlarmWorld | undefined
const clients: SseClient[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const s of sockets.splice(0)) s.destroy()
  await w?.close()
  w = undefined
})

async function world(opts: Parameters<typeof makeAlarmWorld>[0] = {}): Promise<AlarmWorld> {
  w = await makeAlarmWorld(opts)
  return w
}
async function stream(x: AlarmWorld, query = '', headers: Record<string, string> = {}): Promise<SseClient> {
  const c = await openSse(`${x.base}/api/v1/stream${query}`, { ...x.auth('viewer'), ...headers })
  clients.push(c)
  return c
}
const ack = (x: AlarmWorld, ref: string) => fetch(`${x.base}/api/v1/alarms/${enc(ref)}/ack`, { method: 'POST', headers: x.auth('operator') })
/** `type to` of each alarm event. */
const brief = (c: SseClient): string[] => c.alarms.map((e) => `${e.transition.action.type} ${e.alarm.status}`)
const ids = (c: SseClient): number[] => c.alarms.map((e) => e.id)
/** A stream over a bare socket, paused (nothing read) until the test says. */
async function rawStream(x: AlarmWorld): Promise<Socket> {
  const sock = connect(Number(new URL(x.base).port), '127.0.0.1')
  sockets.push(sock)
  await new Promise((r) => sock.once('connect', r))
  const before = x.live.listeners
  sock.write(`GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${x.token.viewer}\r\n\r\n`)
  await waitListeners(x, before + 1)
  sock.pause()
  return sock
}
const waitListeners = async (x: AlarmWorld, n: number): Promise<void> => {
  for (let i = 0; i < 100 && x.live.listeners !== n; i++) await new Promise((r) => setTimeout(r, 20))
  expect(x.live.listeners).toBe(n)
}

describe('GET /api/v1/stream', () => {
  it('sends raise → ack → clear in order, with the transition ids as event ids, after a retry hint', async () => {
    const x = await world()
    const c = await stream(x)
    expect(c.status).toBe(200)
    expect(c.contentType).toBe('text/event-stream; charset=utf-8')
    x.cover(true)
    expect((await ack(x, COVER)).status).toBe(200)
    x.cover(false)
    await c.until(() => c.alarms.length === 3, 3000, '3 alarm events')
    expect(c.retry).toBe(3000)
    expect(brief(c)).toEqual(['raise ACTIVE_UNACK', 'ack ACTIVE_ACK', 'clear CLEARED_ACK'])
    const logged = x.engine.history(`${COVER}#1`).map((t) => t.id)
    expect(ids(c)).toEqual(logged)
    expect(c.alarms[1]?.transition.action).toMatchObject({ type: 'ack', actor: 'test-operator' })
    expect(c.alarms[0]?.alarm).toMatchObject({ id: `${COVER}#1`, site: 'dongcheng', severity: 'CRITICAL' })
  })

  it('skips unannounced transitions (shelved) and sends device and gateway events without ids', async () => {
    const x = await world()
    const c = await stream(x)
    x.cover(true)
    x.engine.shelve(COVER, 'op', x.clock.now + 600_000)
    x.cover(false) // shelved: not announced
    x.live.publishRegistry({ type: 'availability', gateway: 'gw-up', device: 'wl-up-01', availability: 'unavailable', reason: 'timeout' }, 42)
    x.live.publishRegistry({ type: 'state', site: 'xicheng', gateway: 'gw-xc', state: 'offline', session: 2 }, 43)
    x.live.publishRegistry({ type: 'stale-state', site: 'xicheng', gateway: 'gw-xc', session: 1, current: 2 }, 44)
    await c.until(() => c.events.some((e) => e.event === 'gateway'), 3000, 'the gateway event')
    expect(c.events.map((e) => `${e.event}${e.id === undefined ? '' : ' id'}`)).toEqual(['alarm id', 'alarm id', 'device', 'gateway'])
    expect(brief(c)).toEqual(['raise ACTIVE_UNACK', 'shelve ACTIVE_UNACK'])
    expect(JSON.parse(c.events[2]?.data as string)).toEqual({ type: 'availability', gateway: 'gw-up', device: 'wl-up-01', availability: 'unavailable', reason: 'timeout', site: 'dongcheng', at: 42 })
    expect(JSON.parse(c.events[3]?.data as string)).toEqual({ type: 'state', site: 'xicheng', gateway: 'gw-xc', state: 'offline', session: 2, at: 43 })
  })

  it('filters by site (every event) and severity (alarm events)', async () => {
    const x = await world()
    const xicheng = await stream(x, '?site=xicheng')
    const critical = await stream(x, '?severity=CRITICAL')
    x.read('gw-xc', 'wl-xc-01', { level_m: 0.9 }) // MAJOR, xicheng
    x.cover(true) // CRITICAL, dongcheng
    x.live.publishRegistry({ type: 'availability', gateway: 'gw-up', device: 'wl-up-01', availability: 'unavailable' })
    x.live.publishRegistry({ type: 'state', site: 'xicheng', gateway: 'gw-xc', state: 'online', session: 3 })
    await xicheng.until(() => xicheng.events.length === 2, 3000, 'xicheng events')
    await critical.until(() => critical.events.length === 3, 3000, 'critical events')
    expect(xicheng.events.map((e) => e.event)).toEqual(['alarm', 'gateway'])
    expect(xicheng.alarms[0]?.alarm.site).toBe('xicheng')
    expect(critical.events.map((e) => e.event)).toEqual(['alarm', 'device', 'gateway'])
    expect(critical.alarms[0]?.alarm.severity).toBe('CRITICAL')
  })

  it('resumes from Last-Event-ID: exactly the missed transitions, then live ones, none twice', async () => {
    const x = await world()
    const first = await stream(x)
    x.cover(true)
    await first.until(() => first.alarms.length === 1, 3000, 'the raise')
    const last = first.events.at(-1)?.id as string
    first.close()
    await waitListeners(x, 0)
    // While disconnected: an ack, a clear, a raise on another device.
    await ack(x, COVER)
    x.cover(false)
    x.cover(true, 'mh-02')
    const second = await stream(x, '', { 'last-event-id': last })
    await second.until(() => second.alarms.length === 3, 3000, 'the replay')
    x.cover(false, 'mh-02')
    await second.until(() => second.alarms.length === 4, 3000, 'the live clear')
    const all = x.engine.transitions(0).map((t) => t.id)
    expect([...ids(first), ...ids(second)]).toEqual(all)
    expect(brief(second)).toEqual(['ack ACTIVE_ACK', 'clear CLEARED_ACK', 'raise ACTIVE_UNACK', 'clear CLEARED_UNACK'])
    // The replayed alarm is the alarm as of that transition, not as it is now.
    expect(second.alarms[0]?.alarm).toMatchObject({ id: `${COVER}#1`, status: 'ACTIVE_ACK', ackedBy: 'test-operator' })
    expect(second.alarms[0]?.alarm.clearedAt).toBeUndefined()
  })

  it('loses and repeats nothing when transitions commit during the replay (before and after its reads), over several pages', async () => {
    let reads = 0
    let x!: AlarmWorld
    // Around each of the replay's log reads: a transition committed (and published) just
    // before the read — in the page and in the live buffer — and one just after it — only
    // in the live buffer.
    const wrap = (a: AlarmApi): AlarmApi =>
      new Proxy(a, {
        get(target, prop, receiver) {
          // Bound to the engine: its private fields do not work through a proxy.
          if (prop !== 'transitions') return (Reflect.get(target, prop, receiver) as (...a: unknown[]) => unknown).bind(target)
          return (after?: number, limit?: number): StoredTransition[] => {
            reads++
            if (reads <= 3) x.cover(true, 'mh-02')
            const page = target.transitions(after, limit)
            if (reads <= 3) x.cover(false, 'mh-02')
            return page
          }
        },
      })
    x = await world({ wrap, stream: { replayPage: 40 } })
    x.cover(true)
    const from = x.engine.transitions(0).at(-1)?.id as number
    // 100 missed transitions: three pages of 40.
    for (let i = 0; i < 100; i++) x.cover(i % 2 === 1)
    const c = await stream(x, `?lastEventId=${from}`)
    const expected = (): number[] => x.engine.transitions(from, 10_000).map((t) => t.id)
    await c.until(() => c.alarms.length >= expected().length && reads >= 3, 5000, 'the replay and the transitions made during it')
    x.cover(true, 'mh-02')
    await c.until(() => c.alarms.length === expected().length, 3000, 'the live one')
    expect(reads).toBeGreaterThanOrEqual(3)
    expect(ids(c)).toEqual(expected())
    expect(new Set(ids(c)).size).toBe(ids(c).length)
  })

  it('past maxReplay, sends reset with the newest id and goes on live', async () => {
    const x = await world({ stream: { maxReplay: 10 } })
    x.cover(true)
    for (let i = 0; i < 30; i++) x.cover(i % 2 === 1)
    const newest = x.engine.transitions(0, 100).at(-1)?.id as number
    const c = await stream(x, '?lastEventId=1')
    await c.until(() => c.events.length === 1, 3000, 'reset')
    expect(c.events[0]).toMatchObject({ event: 'reset', id: String(newest) })
    expect(JSON.parse(c.events[0]?.data as string)).toEqual({ reason: 'more than 10 transitions missed: reload GET /api/v1/alarms', lastEventId: newest })
    x.cover(false)
    await c.until(() => c.alarms.length === 1, 3000, 'live')
    expect(ids(c)).toEqual([newest + 1])
  })

  it('sends a heartbeat comment', async () => {
    const x = await world({ stream: { heartbeatMs: 30, retryMs: 500 } })
    const c = await stream(x)
    await c.until(() => c.comments.length >= 2, 2000, 'two heartbeats')
    expect(c.comments[0]).toBe('heartbeat')
    expect(c.retry).toBe(500)
  })

  it('removes the listener when the client goes, and ends streams on close', async () => {
    const x = await world()
    const a = await rawStream(x)
    const b = await rawStream(x)
    expect(x.live.listeners).toBe(2)
    a.destroy()
    await waitListeners(x, 1)
    // Shutdown ends the open streams (else app.close() would wait for them forever).
    const ended = new Promise((r) => b.once('close', r))
    b.resume()
    const t = Date.now()
    await x.app.close()
    await ended
    expect(Date.now() - t).toBeLessThan(1000)
    expect(x.live.listeners).toBe(0)
  })

  it('disconnects a client that stops reading once its buffer passes the bound; the server carries on', async () => {
    const lines: string[] = []
    const logger = { level: 'warn', stream: new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }) }
    const x = await world({ stream: { maxBufferedBytes: 64 * 1024 }, logger })
    const sock = await rawStream(x)
    await waitListeners(x, 1)
    sock.pause() // reads nothing more: the kernel buffers fill, then the server's
    x.cover(true)
    const text = 'x'.repeat(16 * 1024)
    let comments = 0
    for (; comments < 400 && x.live.listeners > 0; comments++) {
      x.engine.comment(COVER, 'op', text) // each event carries the alarm with every comment so far
      await new Promise((r) => setImmediate(r))
    }
    await waitListeners(x, 0)
    expect(comments).toBeLessThan(400)
    expect(lines.join('')).toContain('SSE client too slow: disconnected')
    // The server is fine: another client streams.
    const c = await stream(x)
    x.cover(false)
    await c.until(() => c.alarms.length === 1, 3000, 'a live event')
    expect((await fetch(`${x.base}/health`)).status).toBe(200)
  }, 20_000)

  it('takes the token as ?access_token= (EventSource) and keeps it out of the log; checks it like the header', async () => {
    const lines: string[] = []
    const logger = { level: 'info', stream: new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }) }
    const x = await world({ logger })
    const c = await openSse(`${x.base}/api/v1/stream?access_token=${x.token.viewer}`)
    clients.push(c)
    expect(c.status).toBe(200)
    const none = await fetch(`${x.base}/api/v1/stream`)
    expect(none.status).toBe(401)
    const bad = await fetch(`${x.base}/api/v1/stream?access_token=muni_nope`)
    expect(bad.status).toBe(401)
    expect(((await bad.json()) as { message: string }).message).toBe('querystring/access_token: unknown or revoked token')
    // The query token is not accepted elsewhere.
    expect((await fetch(`${x.base}/api/v1/alarms?access_token=${x.token.viewer}`)).status).toBe(401)
    const log = lines.join('')
    expect(log).toContain('access_token=[redacted]')
    expect(log).not.toContain(x.token.viewer)
  })

  it('400 for a bad Last-Event-ID or severity; 503 without a live feed', async () => {
    const x = await world({ withLive: false })
    const h = x.auth('viewer')
    const badHeader = await fetch(`${x.base}/api/v1/stream`, { headers: { ...h, 'last-event-id': 'abc' } })
    expect(badHeader.status).toBe(400)
    expect(((await badHeader.json()) as { message: string }).message).toBe('headers/last-event-id: must match pattern "^[0-9]{1,15}$"')
    const badSev = await fetch(`${x.base}/api/v1/stream?severity=LOUD`, { headers: h })
    expect(badSev.status).toBe(503) // the feed is checked first
    const res = await fetch(`${x.base}/api/v1/stream`, { headers: h })
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'the live stream is not enabled in this service (no live feed is configured)',
      code: 'API_UNAVAILABLE',
    })
  })
})
