import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type AlarmWorld, enc, makeAlarmWorld, T0 } from '../test-support/alarm-world.ts'
import { type Fixture, makeFixture } from '../test-support/fixture.ts'

let w: AlarmWorld
let own: AlarmWorld | undefined
/** A world for one test (closed after it); read-only groups share one instead. */
async function fresh(): Promise<AlarmWorld> {
  own = await makeAlarmWorld()
  w = own
  return own
}
afterEach(async () => {
  await own?.close()
  own = undefined
})

const COVER = 'gw-gqm/mh-01/cover_open.state'
const LEVEL = 'gw-up/wl-up-01/level_m.threshold'

async function call(method: string, url: string, role: 'viewer' | 'operator' | 'engineer' | 'admin' = 'viewer', body?: unknown) {
  const res = await fetch(`${w.base}${url}`, {
    method,
    headers: { ...w.auth(role), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}

/** Three open alarms on two sites and one closed: cover mh-01 (CRITICAL), level wl-up-01 (MAJOR), level wl-xc-01 in xicheng (MAJOR), cover mh-02 closed. */
function scene(): void {
  w.cover(true, 'mh-02')
  w.cover(false, 'mh-02')
  w.engine.ack('gw-gqm/mh-02/cover_open.state', 'op.earlier')
  w.clock.now += 1000
  w.read('gw-up', 'wl-up-01', { level_m: 0.7 })
  w.read('gw-xc', 'wl-xc-01', { level_m: 0.9 })
  w.cover(true)
}

describe('GET /api/v1/alarms', () => {
  let shared: AlarmWorld
  beforeAll(async () => {
    shared = await makeAlarmWorld()
    w = shared
    scene()
  })
  afterAll(async () => {
    await shared.close()
  })

  it.each([
    ['', [COVER, 'gw-xc/wl-xc-01/level_m.threshold', LEVEL, 'gw-gqm/mh-02/cover_open.state']],
    ['?active=true', [COVER, 'gw-xc/wl-xc-01/level_m.threshold', LEVEL]],
    ['?active=false', ['gw-gqm/mh-02/cover_open.state']],
    ['?state=CLEARED_ACK,ACTIVE_ACK', ['gw-gqm/mh-02/cover_open.state']],
    ['?severity=MAJOR', ['gw-xc/wl-xc-01/level_m.threshold', LEVEL]],
    ['?severity=CRITICAL&active=true', [COVER]],
    ['?site=xicheng', ['gw-xc/wl-xc-01/level_m.threshold']],
    ['?gateway=gw-gqm', [COVER, 'gw-gqm/mh-02/cover_open.state']],
    ['?device=wl-up-01', [LEVEL]],
    ['?rule=level_m.threshold&site=dongcheng', [LEVEL]],
    ['?site=nowhere', []],
  ])('filters %s, newest-updated first', async (query, keys) => {
    w = shared
    const { status, body } = await call('GET', `/api/v1/alarms${query}`)
    expect(status).toBe(200)
    expect(body.alarms.map((a: { key: string }) => a.key)).toEqual(keys)
    expect(body.total).toBe(keys.length)
  })

  it('pages with limit and nextCursor: every alarm once, in order', async () => {
    w = shared
    const all = (await call('GET', '/api/v1/alarms')).body.alarms.map((a: { id: string }) => a.id)
    const seen: string[] = []
    let cursor: string | undefined
    for (let i = 0; i < 10; i++) {
      const { body } = await call('GET', `/api/v1/alarms?limit=1${cursor ? `&cursor=${cursor}` : ''}`)
      seen.push(...body.alarms.map((a: { id: string }) => a.id))
      expect(body.total).toBe(4)
      cursor = body.nextCursor
      if (cursor === undefined) break
    }
    expect(seen).toEqual(all)
  })

  it.each([
    ['?state=OPEN', 'querystring/state: "OPEN" is not one of ACTIVE_UNACK, ACTIVE_ACK, CLEARED_UNACK, CLEARED_ACK'],
    ['?severity=HIGH', 'querystring/severity: "HIGH" is not one of CRITICAL, MAJOR, MINOR, WARNING, INDETERMINATE'],
    ['?state=ACTIVE_ACK&active=true', 'querystring/active: give state or active, not both'],
    ['?active=yes', 'querystring/active: must be boolean'],
    ['?limit=0', 'querystring/limit: must be >= 1'],
    ['?limit=1001', 'querystring/limit: must be <= 1000'],
    ['?cursor=nope', 'querystring/cursor: is not a cursor from this API (pass nextCursor of the previous page)'],
    ['?sort=asc', 'querystring/sort: is not a known field'],
  ])('400 %s names the field', async (query, message) => {
    w = shared
    const { status, body } = await call('GET', `/api/v1/alarms${query}`)
    expect(status).toBe(400)
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request', message })
  })
})

describe('GET /api/v1/alarms/:id', () => {
  it('gives the alarm and its history for the URL-encoded id or key; 404 names the id', async () => {
    await fresh()
    w.cover(true)
    const byId = await call('GET', `/api/v1/alarms/${enc(`${COVER}#1`)}`)
    expect(byId.status).toBe(200)
    expect(byId.body).toMatchObject({ current: true, alarm: { id: `${COVER}#1`, status: 'ACTIVE_UNACK', severity: 'CRITICAL', site: 'dongcheng' } })
    expect(byId.body.history.map((t: { action: { type: string; actor: string; at: number } }) => [t.action.type, t.action.actor, t.action.at])).toEqual([['raise', 'system', T0]])
    expect((await call('GET', `/api/v1/alarms/${enc(COVER)}`)).body).toEqual(byId.body)

    const missing = await call('GET', `/api/v1/alarms/${enc(`${COVER}#9`)}`)
    expect(missing).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: `alarm "${COVER}#9" not found`, code: 'API_NOT_FOUND' } })
    const bad = await call('GET', '/api/v1/alarms/not-an-id')
    expect(bad.status).toBe(400)
    expect(bad.body.message).toMatch(/^params\/id: must match pattern/)
    // Unencoded, the id's slashes are path separators: no such route.
    expect((await call('GET', `/api/v1/alarms/${COVER}`)).status).toBe(404)
  })

  it('an older alarm of a key is folded from its log: current false, actions refused with 409', async () => {
    await fresh()
    w.cover(true)
    w.cover(false)
    await call('POST', `/api/v1/alarms/${enc(COVER)}/ack`, 'operator', { comment: 'closed it' })
    w.cover(true) // opens #2
    const old = await call('GET', `/api/v1/alarms/${enc(`${COVER}#1`)}`)
    expect(old.status).toBe(200)
    expect(old.body).toMatchObject({ current: false, alarm: { id: `${COVER}#1`, status: 'CLEARED_ACK', ackedBy: 'test-operator', comments: [{ by: 'test-operator', text: 'closed it' }] } })
    expect(old.body.history.map((t: { action: { type: string } }) => t.action.type)).toEqual(['raise', 'clear', 'ack'])
    const again = await call('POST', `/api/v1/alarms/${enc(`${COVER}#1`)}/comment`, 'operator', { text: 'late note' })
    expect(again.status).toBe(409)
    expect(again.body.message).toBe(`cannot comment alarm "${COVER}#1": it is closed and no longer its key's current alarm`)
    expect((await call('GET', `/api/v1/alarms/${enc(`${COVER}#2`)}`)).body).toMatchObject({ current: true, alarm: { seq: 2, status: 'ACTIVE_UNACK', comments: [] } })
  })
})

describe('operator actions', () => {
  let shared: AlarmWorld
  beforeAll(async () => {
    shared = await makeAlarmWorld()
    w = shared
    w.cover(true)
  })
  afterAll(async () => {
    await shared.close()
  })

  it('ack, comment, shelve, unshelve: the actor is the token name, the time the clock, all in the history', async () => {
    await fresh()
    w.cover(true)
    const id = `${COVER}#1`
    const t1 = w.clock.now
    const ack = await call('POST', `/api/v1/alarms/${enc(id)}/ack`, 'operator') // no body at all
    expect(ack.status).toBe(200)
    expect(ack.body.alarm).toMatchObject({ status: 'ACTIVE_ACK', ackedBy: 'test-operator', ackedAt: t1 })
    expect(ack.body.transition).toMatchObject({ alarmId: id, from: 'ACTIVE_UNACK', to: 'ACTIVE_ACK', announce: true, action: { type: 'ack', actor: 'test-operator', at: t1 } })

    w.clock.now += 5000
    const comment = await call('POST', `/api/v1/alarms/${enc(id)}/comment`, 'engineer', { text: 'crew on the way' })
    expect(comment.body.alarm.comments).toEqual([{ by: 'test-engineer', at: t1 + 5000, text: 'crew on the way' }])

    w.clock.now += 5000
    const shelve = await call('POST', `/api/v1/alarms/${enc(id)}/shelve`, 'operator', { forS: 3600, comment: 'works crew' })
    expect(shelve.status).toBe(200)
    expect(shelve.body.alarm.shelved).toEqual({ by: 'test-operator', at: t1 + 10_000, until: t1 + 10_000 + 3_600_000 })

    w.clock.now += 5000
    const until = new Date(w.clock.now + 60_000).toISOString()
    const reshelve = await call('POST', `/api/v1/alarms/${enc(id)}/shelve`, 'operator', { until })
    expect(reshelve.body.alarm.shelved.until).toBe(w.clock.now + 60_000)
    const unshelve = await call('POST', `/api/v1/alarms/${enc(id)}/unshelve`, 'operator', {})
    expect(unshelve.status).toBe(200)
    expect(unshelve.body.alarm.shelved).toBeUndefined()

    const { body } = await call('GET', `/api/v1/alarms/${enc(id)}`)
    expect(body.history.map((t: { action: { type: string; actor: string; at: number } }) => `${t.action.type} ${t.action.actor} +${t.action.at - T0}`)).toEqual([
      'raise system +0',
      'ack test-operator +1000',
      'comment test-engineer +6000',
      'shelve test-operator +11000',
      'shelve test-operator +16000',
      'unshelve test-operator +16000',
    ])
  })

  it('409 carries the engine reason; 404 names the id; 403 for a viewer', async () => {
    await fresh()
    w.cover(true)
    const id = `${COVER}#1`
    await call('POST', `/api/v1/alarms/${enc(id)}/ack`, 'operator')
    const twice = await call('POST', `/api/v1/alarms/${enc(id)}/ack`, 'operator')
    expect(twice).toEqual({ status: 409, body: { statusCode: 409, error: 'Conflict', message: `cannot ack alarm "${id}" (ACTIVE_ACK): nothing to acknowledge`, code: 'API_CONFLICT' } })
    const unshelve = await call('POST', `/api/v1/alarms/${enc(id)}/unshelve`, 'operator')
    expect(unshelve.body.message).toBe(`cannot unshelve alarm "${id}" (ACTIVE_ACK): not shelved`)
    const unknown = await call('POST', `/api/v1/alarms/${enc('gw-gqm/mh-01/nope#1')}/ack`, 'operator')
    expect(unknown).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'alarm "gw-gqm/mh-01/nope#1" not found', code: 'API_NOT_FOUND' } })
    const viewer = await call('POST', `/api/v1/alarms/${enc(id)}/comment`, 'viewer', { text: 'x' })
    expect(viewer.status).toBe(403)
    expect(viewer.body.message).toBe('this route needs role operator or higher; token "test-viewer" has role viewer')
  })

  it.each([
    ['shelve', {}, 'body/until: is required (or forS)'],
    ['shelve', { forS: 60, until: '2030-01-01T00:00:00Z' }, 'body/until: give until or forS, not both'],
    ['shelve', { until: '2020-01-01T00:00:00Z' }, 'body/until: must be in the future (now is 2024-07-08T00:00:01.000Z)'],
    ['shelve', { until: 'tomorrow' }, 'body/until: must be ms since the epoch or ISO 8601 with an offset (e.g. 2024-05-01T08:00:00Z), got "tomorrow"'],
    ['shelve', { forS: 8 * 86_400 }, 'body/forS: a shelf lasts at most 7 days'],
    ['shelve', { forS: 0 }, 'body/forS: must be >= 1'],
    ['comment', {}, 'body/text: is required'],
    ['comment', { text: '' }, 'body/text: must not have fewer than 1 characters'],
    ['ack', { comment: 'ok', user: 'someone-else' }, 'body/user: is not a known field'],
  ])('400 for %s %j names the field', async (action, body, message) => {
    w = shared
    const res = await call('POST', `/api/v1/alarms/${enc(`${COVER}#1`)}/${action}`, 'operator', body)
    expect(res.status).toBe(400)
    expect(res.body.message).toBe(message)
  })
})

describe('maintenance windows', () => {
  it('PUT a site in maintenance: its alarms are suppressed; GET lists it; DELETE releases the active ones', async () => {
    await fresh()
    const put = await call('PUT', '/api/v1/maintenance/sites/dongcheng', 'engineer')
    expect(put).toEqual({ status: 200, body: { window: { scope: 'site', site: 'dongcheng', from: T0 } } })
    w.cover(true)
    expect((await call('GET', `/api/v1/alarms/${enc(COVER)}`)).body.alarm.suppressed).toBe(true)
    const until = new Date(T0 + 3_600_000).toISOString()
    await call('PUT', '/api/v1/maintenance/devices/gw-xc/wl-xc-01', 'admin', { until })
    expect((await call('GET', '/api/v1/maintenance')).body).toEqual({
      windows: [
        { scope: 'site', site: 'dongcheng', from: T0 },
        { scope: 'device', gateway: 'gw-xc', device: 'wl-xc-01', from: T0 + 1000, until: T0 + 3_600_000 },
      ],
    })
    const del = await call('DELETE', '/api/v1/maintenance/sites/dongcheng', 'engineer')
    expect(del).toEqual({ status: 200, body: { window: { scope: 'site', site: 'dongcheng', from: T0 }, released: 1 } })
    expect((await call('GET', `/api/v1/alarms/${enc(COVER)}`)).body.alarm).toMatchObject({ status: 'ACTIVE_UNACK' })
    expect((await call('GET', `/api/v1/alarms/${enc(COVER)}`)).body.alarm.suppressed).toBeUndefined()
    // A window whose until passed is no longer listed.
    w.clock.now = T0 + 3_600_000
    expect((await call('GET', '/api/v1/maintenance')).body).toEqual({ windows: [] })
  })

  it('404 for an unknown site or device, or no window to end; 400 for a past until; 403 below engineer', async () => {
    await fresh()
    expect((await call('PUT', '/api/v1/maintenance/sites/nowhere', 'engineer')).body.message).toBe('site "nowhere" not found')
    expect((await call('PUT', '/api/v1/maintenance/devices/gw-up/nope', 'engineer')).body.message).toBe('device "nope" not found on gateway "gw-up"')
    expect((await call('DELETE', '/api/v1/maintenance/devices/gw-up/wl-up-01', 'engineer')).body).toMatchObject({
      statusCode: 404,
      message: 'no maintenance window in force for device "wl-up-01" on gateway "gw-up"',
    })
    const past = await call('PUT', '/api/v1/maintenance/sites/dongcheng', 'engineer', { until: String(T0 - 1) })
    expect(past.status).toBe(400)
    expect(past.body.message).toBe('body/until: must be in the future (now is 2024-07-08T00:00:00.000Z)')
    expect((await call('PUT', '/api/v1/maintenance/sites/dongcheng', 'operator')).status).toBe(403)
    expect((await call('GET', '/api/v1/maintenance', 'viewer')).status).toBe(200)
  })
})

describe('without an alarm engine', () => {
  let f: Fixture
  beforeAll(async () => {
    f = await makeFixture()
  })
  afterAll(async () => {
    await f.close()
  })

  it.each([
    ['GET', '/api/v1/alarms'],
    ['GET', `/api/v1/alarms/${enc(`${COVER}#1`)}`],
    ['POST', `/api/v1/alarms/${enc(`${COVER}#1`)}/ack`],
    ['POST', `/api/v1/alarms/${enc(`${COVER}#1`)}/unshelve`],
    ['GET', '/api/v1/maintenance'],
    ['DELETE', '/api/v1/maintenance/sites/north'],
  ] as const)('%s %s answers 503 with the reason', async (method, url) => {
    const res = await f.app.inject({ method, url, headers: f.auth('admin') })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'alarms are not enabled in this service (no alarm engine is configured)',
      code: 'API_UNAVAILABLE',
    })
  })
})
