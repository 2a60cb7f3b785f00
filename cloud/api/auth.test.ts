import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, makeFixture } from './test-support/fixture.ts'
import { ROLES, type Role } from './tokens.ts'

/** An alarm id no alarm has, URL-encoded as one path segment. */
const UNKNOWN_ALARM = encodeURIComponent('gw-01/lvl-1/level_m.threshold#1')

/** Every route that needs a token, with a request that succeeds for a strong enough role. */
const ROUTES: Array<{ method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: string; needs: Role; payload?: object; ok: number }> = [
  { method: 'GET', url: '/metrics', needs: 'viewer', ok: 200 },
  { method: 'GET', url: '/api/v1/sites', needs: 'viewer', ok: 200 },
  { method: 'GET', url: '/api/v1/sites/north/gateways', needs: 'viewer', ok: 200 },
  { method: 'GET', url: '/api/v1/gateways/north/gw-01', needs: 'viewer', ok: 200 },
  { method: 'GET', url: '/api/v1/devices', needs: 'viewer', ok: 200 },
  { method: 'GET', url: '/api/v1/devices/gw-01/lvl-1', needs: 'viewer', ok: 200 },
  { method: 'GET', url: '/api/v1/devices/gw-01/lvl-1/telemetry', needs: 'viewer', ok: 200 },
  { method: 'GET', url: '/api/v1/dead-letters', needs: 'engineer', ok: 200 },
  { method: 'GET', url: '/api/v1/dead-letters/stats', needs: 'engineer', ok: 200 },
  { method: 'GET', url: '/api/v1/tokens', needs: 'admin', ok: 200 },
  { method: 'POST', url: '/api/v1/tokens', needs: 'admin', payload: { name: 'new', role: 'viewer' }, ok: 201 },
  // An unknown id: past the role check, a 404 (a 403 would mean the role check failed).
  { method: 'DELETE', url: '/api/v1/tokens/tok_unknown', needs: 'admin', ok: 404 },
  { method: 'GET', url: '/api/v1/alarms', needs: 'viewer', ok: 200 },
  { method: 'GET', url: `/api/v1/alarms/${UNKNOWN_ALARM}`, needs: 'viewer', ok: 404 },
  { method: 'POST', url: `/api/v1/alarms/${UNKNOWN_ALARM}/ack`, needs: 'operator', ok: 404 },
  { method: 'POST', url: `/api/v1/alarms/${UNKNOWN_ALARM}/comment`, needs: 'operator', payload: { text: 'x' }, ok: 404 },
  { method: 'POST', url: `/api/v1/alarms/${UNKNOWN_ALARM}/shelve`, needs: 'operator', payload: { forS: 60 }, ok: 404 },
  { method: 'POST', url: `/api/v1/alarms/${UNKNOWN_ALARM}/unshelve`, needs: 'operator', ok: 404 },
  { method: 'GET', url: '/api/v1/maintenance', needs: 'viewer', ok: 200 },
  { method: 'PUT', url: '/api/v1/maintenance/sites/north', needs: 'engineer', ok: 200 },
  { method: 'DELETE', url: '/api/v1/maintenance/sites/south', needs: 'engineer', ok: 404 },
  { method: 'PUT', url: '/api/v1/maintenance/devices/gw-01/lvl-1', needs: 'engineer', ok: 200 },
  { method: 'DELETE', url: '/api/v1/maintenance/devices/gw-01/prs-1', needs: 'engineer', ok: 404 },
  // An endless stream cannot be injected: a bad Last-Event-ID is a 400 past the role check.
  { method: 'GET', url: '/api/v1/stream?lastEventId=x', needs: 'viewer', ok: 400 },
]

let f: Fixture
// One fixture for the file: every request here is independent of the others.
beforeAll(async () => {
  f = await makeFixture({ alarms: true })
})
afterAll(async () => {
  await f.close()
})

describe('bearer tokens and roles', () => {
  it('GET /health needs no token', async () => {
    const res = await f.app.inject({ url: '/health' })
    expect(res.statusCode).toBe(200)
  })

  describe.each(ROUTES)('$method $url (needs $needs)', (route) => {
    it('answers 401 with WWW-Authenticate: Bearer without a token', async () => {
      const res = await f.app.inject({ method: route.method, url: route.url, ...(route.payload ? { payload: route.payload } : {}) })
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toBe('Bearer realm="muni-iot"')
      expect(res.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized', code: 'API_NO_TOKEN' })
      expect(res.json().message).toContain(`role ${route.needs}`)
    })

    it('answers 401 invalid_token for an unknown token', async () => {
      const res = await f.app.inject({ method: route.method, url: route.url, headers: { authorization: `Bearer muni_${'A'.repeat(43)}` } })
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toBe('Bearer realm="muni-iot", error="invalid_token"')
      expect(res.json().message).toBe('headers/authorization: unknown or revoked token')
    })

    it.each(ROLES)('with role %s', async (role) => {
      const res = await f.app.inject({
        method: route.method,
        url: route.url,
        headers: f.auth(role),
        ...(route.payload ? { payload: route.payload } : {}),
      })
      if (ROLES.indexOf(role) >= ROLES.indexOf(route.needs)) {
        expect(res.statusCode).toBe(route.ok)
      } else {
        expect(res.statusCode).toBe(403)
        expect(res.json()).toMatchObject({
          statusCode: 403,
          error: 'Forbidden',
          message: `this route needs role ${route.needs} or higher; token "test-${role}" has role ${role}`,
        })
      }
    })
  })

  it.each([
    ['Basic dXNlcjpwYXNz', 'headers/authorization: must be "Bearer <token>"'],
    ['Bearer', 'headers/authorization: must be "Bearer <token>"'],
    ['Bearer not-a-muni-token', 'headers/authorization: unknown or revoked token'],
  ])('answers 401 for the header %j', async (header, message) => {
    const res = await f.app.inject({ url: '/api/v1/sites', headers: { authorization: header } })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"')
    expect(res.json().message).toBe(message)
  })

  it('accepts the scheme name in any case (RFC 7235 §2.1)', async () => {
    const res = await f.app.inject({ url: '/api/v1/sites', headers: { authorization: `bearer ${f.token.viewer}` } })
    expect(res.statusCode).toBe(200)
  })

  it('rejects a revoked token at once', async () => {
    const { id, token } = f.store.create('short-lived', 'viewer')
    expect((await f.app.inject({ url: '/api/v1/sites', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200)
    f.store.revoke(id)
    expect((await f.app.inject({ url: '/api/v1/sites', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401)
  })

  it('checks the token before the parameters, so a caller without one learns nothing from validation', async () => {
    const res = await f.app.inject({ url: '/api/v1/devices/gw-01/lvl-1/telemetry?limit=0' })
    expect(res.statusCode).toBe(401)
  })
})

describe('logging', () => {
  it('never writes the token to the log, even with a serializer that logs headers', async () => {
    const lines: string[] = []
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk))
        cb()
      },
    })
    const g = await makeFixture({
      logger: { level: 'trace', stream, serializers: { req: (req: { url: string; headers: unknown }) => ({ url: req.url, headers: req.headers }) } },
    })
    try {
      for (const role of ROLES) await g.app.inject({ url: '/api/v1/sites', headers: g.auth(role) })
      await g.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: g.auth('admin'), payload: { name: 'ci', role: 'viewer' } })
      await g.app.inject({ url: '/api/v1/sites', headers: { authorization: `Bearer muni_${'B'.repeat(43)}` } })
      // The docs' browser paths: the token in the query string and in the cookie.
      const docs = await g.app.inject({ url: `/docs/json?access_token=${g.token.viewer}` })
      expect(docs.statusCode).toBe(200)
      await g.app.inject({ url: '/docs/json', headers: { cookie: String(docs.headers['set-cookie']).split(';')[0] as string } })
      const log = lines.join('')
      expect(log).toContain('access_token=[redacted]')
      expect(log).toContain('"url":"/api/v1/sites"') // the log is really captured
      expect(log).toContain('"authorization":"[redacted]"')
      for (const role of ROLES) expect(log).not.toContain(g.token[role])
      expect(log).not.toContain('B'.repeat(43))
      expect(log).not.toMatch(/muni_[A-Za-z0-9_-]{43}/)
    } finally {
      await g.close()
    }
  })
})
