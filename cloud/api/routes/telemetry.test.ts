import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MAX_QUERY_POINTS } from '../../model.ts'
import { type Fixture, makeFixture, NOW } from '../test-support/fixture.ts'

const URL = '/api/v1/devices/gw-01/lvl-1/telemetry'
const HOUR = 3_600_000
const DAY = 24 * HOUR

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
})
afterEach(async () => {
  await f.close()
})

async function get(query: string) {
  const res = await f.app.inject({ url: `${URL}${query === '' ? '' : `?${query}`}`, headers: f.auth('viewer') })
  return { status: res.statusCode, body: res.json() }
}

const lastQuery = () => f.telemetry.queries.at(-1)

describe('GET /api/v1/devices/:gateway/:device/telemetry', () => {
  it('defaults to the last hour of raw samples, and echoes the query', async () => {
    const { status, body } = await get('')
    expect(status).toBe(200)
    expect(body.query).toEqual({ site: 'north', gateway: 'gw-01', device: 'lvl-1', points: null, from: NOW - HOUR, to: NOW, every: null, aggregate: null, limit: MAX_QUERY_POINTS })
    expect(body.truncated).toBe(false)
    expect(body.suggestedEvery).toBeUndefined()
    expect(body.rows).toHaveLength(360)
    expect(body.rows[0]).toEqual({ ts: NOW - HOUR, values: { level_m: 1, alarm: true, status: 'ok' } })
    expect(lastQuery()).toEqual({ site: 'north', gateway: 'gw-01', device: 'lvl-1', from: NOW - HOUR, to: NOW, limit: MAX_QUERY_POINTS })
  })

  it.each([
    ['ms', `from=${NOW - 600_000}&to=${NOW - 300_000}`, NOW - 600_000, NOW - 300_000],
    ['ISO 8601 Z', 'from=2024-05-01T11:50:00Z&to=2024-05-01T11:55:00Z', NOW - 600_000, NOW - 300_000],
    ['ISO 8601 with offset and fraction', 'from=2024-05-01T13:50:00.000%2B02:00&to=2024-05-01T11:55:00Z', NOW - 600_000, NOW - 300_000],
    ['only from: to is now', `from=${NOW - 600_000}`, NOW - 600_000, NOW],
    ['only to: from is an hour before', 'to=2024-05-01T11:00:00Z', NOW - 2 * HOUR, NOW - HOUR],
  ])('reads the range as %s', async (_name, query, from, to) => {
    const { status, body } = await get(query)
    expect(status).toBe(200)
    expect(body.query).toMatchObject({ from, to })
    expect(lastQuery()).toMatchObject({ from, to })
    for (const r of body.rows) {
      expect(r.ts).toBeGreaterThanOrEqual(from)
      expect(r.ts).toBeLessThan(to)
    }
  })

  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', HOUR],
    ['1d', DAY],
    ['60000', 60_000],
  ])('reads every=%s as %d ms, with mean as the default aggregate', async (every, ms) => {
    const { status, body } = await get(`every=${every}`)
    expect(status).toBe(200)
    expect(body.query).toMatchObject({ every: ms, aggregate: 'mean' })
    expect(lastQuery()).toMatchObject({ every: ms, aggregate: 'mean' })
    expect(body.rows.length).toBe(Math.ceil(HOUR / Math.min(ms, HOUR)))
  })

  it('passes the aggregate and the points through, and only those points come back', async () => {
    const { status, body } = await get('every=30m&aggregate=max&points=level_m,level_m')
    expect(status).toBe(200)
    expect(body.query).toMatchObject({ points: ['level_m'], aggregate: 'max' })
    expect(body.rows).toEqual([
      { ts: NOW - HOUR, values: { level_m: 1.179 } },
      { ts: NOW - HOUR / 2, values: { level_m: 1.359 } },
    ])
  })

  it('serializes null for a bucket with no value for a point', async () => {
    const { body } = await get('every=30m&aggregate=mean&points=status')
    expect(body.rows[0]).toEqual({ ts: NOW - HOUR, values: { status: null } })
  })

  describe('the bound on rows', () => {
    it('without every: a range with more samples than limit says truncated and suggests an every', async () => {
      const { status, body } = await get('limit=100')
      expect(status).toBe(200)
      expect(body.rows).toHaveLength(100)
      expect(body.truncated).toBe(true)
      expect(body.suggestedEvery).toBe('1m') // 1 h / 100 rows = 36 s → the next nice width
      const again = await get(`limit=100&every=${body.suggestedEvery}`)
      expect(again.body.truncated).toBe(false)
      expect(again.body.rows.length).toBeLessThanOrEqual(100)
    })

    it('never returns more than limit rows, even from a store that ignores the limit', async () => {
      f.telemetry.query = async () => ({ rows: Array.from({ length: 50 }, (_, i) => ({ ts: NOW - HOUR + i, values: {} })), truncated: false })
      const { body } = await get('limit=20')
      expect(body.rows).toHaveLength(20)
      expect(body.truncated).toBe(true)
    })

    it('with every: a range needing more than MAX_QUERY_POINTS buckets is a 400 naming the smallest every', async () => {
      const { status, body } = await get(`from=${NOW - 7 * DAY}&to=${NOW}&every=30s`)
      expect(status).toBe(400)
      expect(body.message).toBe(
        `querystring/every: 30s makes 20160 buckets over 7d, more than ${MAX_QUERY_POINTS}: the smallest every allowed for this range is 60480ms (e.g. every=2m)`,
      )
      expect(f.telemetry.queries).toHaveLength(0)
    })

    it('with every: exactly MAX_QUERY_POINTS buckets is allowed', async () => {
      const { status } = await get(`from=${NOW - MAX_QUERY_POINTS * 1000}&to=${NOW}&every=1s`)
      expect(status).toBe(200)
    })

    it(`rejects a limit above MAX_QUERY_POINTS (${MAX_QUERY_POINTS})`, async () => {
      const { status, body } = await get(`limit=${MAX_QUERY_POINTS + 1}`)
      expect(status).toBe(400)
      expect(body.message).toBe(`querystring/limit: must be <= ${MAX_QUERY_POINTS}`)
    })
  })

  describe('every 4xx names the field and the reason', () => {
    it.each([
      ['from=2024-05-01T12:00:00', 'querystring/from: must be ms since the epoch or ISO 8601 with an offset (e.g. 2024-05-01T08:00:00Z), got "2024-05-01T12:00:00"'],
      ['to=soon', 'querystring/to: must be ms since the epoch or ISO 8601 with an offset (e.g. 2024-05-01T08:00:00Z), got "soon"'],
      [`from=${NOW}&to=${NOW - 1}`, 'querystring/from: must be before to (from 2024-05-01T12:00:00.000Z, to 2024-05-01T11:59:59.999Z)'],
      [`from=${NOW}&to=${NOW}`, 'querystring/from: must be before to (from 2024-05-01T12:00:00.000Z, to 2024-05-01T12:00:00.000Z)'],
      ['every=5x', 'querystring/every: must be a duration like 30s, 5m, 1h, 1d or ms, got "5x"'],
      ['every=0s', 'querystring/every: must be more than 0'],
      ['aggregate=max', 'querystring/aggregate: needs every: raw samples are not aggregated'],
      ['every=1m&aggregate=median', 'querystring/aggregate: must be one of min, max, mean, last'],
      ['points=level_m,Bad', 'querystring/points: "Bad" is not a point name (must match ^[a-z][a-z0-9_]{0,62}$)'],
      ['points=', 'querystring/points: "" is not a point name (must match ^[a-z][a-z0-9_]{0,62}$)'],
      ['limit=0', 'querystring/limit: must be >= 1'],
      ['limit=ten', 'querystring/limit: must be integer'],
      ['form=1', 'querystring/form: is not a known field'],
    ])('%s', async (query, message) => {
      const { status, body } = await get(query)
      expect(status).toBe(400)
      expect(body).toEqual({ statusCode: 400, error: 'Bad Request', message, code: 'API_BAD_REQUEST' })
    })
  })

  it.each([
    ['/api/v1/devices/gw-01/nope/telemetry', 'device "nope" not found on gateway "gw-01"'],
    ['/api/v1/devices/gw-77/lvl-1/telemetry', 'gateway "gw-77" not found'],
  ])('404 for %s', async (url, message) => {
    const res = await f.app.inject({ url, headers: f.auth('viewer') })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found', message })
  })

  it('a failing store is a 500 that shows none of its internals', async () => {
    f.telemetry.query = async () => {
      throw new Error('SQLITE_CORRUPT: /var/lib/muni/telemetry.db')
    }
    const res = await f.app.inject({ url: URL, headers: f.auth('viewer') })
    expect(res.statusCode).toBe(500)
    expect(res.body).not.toContain('SQLITE')
    expect(res.json()).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error; see the server log' })
  })

  it('400 for a path id outside ID_PATTERN, naming the parameter', async () => {
    const res = await f.app.inject({ url: '/api/v1/devices/gw-01/-bad/telemetry', headers: f.auth('viewer') })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe('params/device: must match pattern "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"')
  })
})
