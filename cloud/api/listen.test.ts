/** The API over a real socket: loopback, port 0, Node's fetch. */
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Fixture, makeFixture, NOW } from './test-support/fixture.ts'

let f: Fixture
let base: string
beforeEach(async () => {
  f = await makeFixture()
  await f.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = f.app.server.address() as AddressInfo
  base = `http://127.0.0.1:${port}`
})
afterEach(async () => {
  await f.close()
})

describe('over loopback HTTP', () => {
  it('serves health, data with a token, and 401 with WWW-Authenticate without one', async () => {
    const health = await fetch(`${base}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok' })

    const denied = await fetch(`${base}/api/v1/sites`)
    expect(denied.status).toBe(401)
    expect(denied.headers.get('www-authenticate')).toBe('Bearer realm="muni-iot"')
    expect(await denied.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' })

    const telemetry = await fetch(`${base}/api/v1/devices/gw-01/lvl-1/telemetry?from=2024-05-01T11:00:00Z&to=${NOW}&every=15m&aggregate=last&points=level_m`, {
      headers: { authorization: `Bearer ${f.token.viewer}` },
    })
    expect(telemetry.status).toBe(200)
    expect(telemetry.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const body = (await telemetry.json()) as { query: unknown; rows: unknown[] }
    expect(body.query).toMatchObject({ from: NOW - 3_600_000, to: NOW, every: 900_000, aggregate: 'last', points: ['level_m'] })
    expect(body.rows).toHaveLength(4)
  })

  it('creates a token over HTTP and the new token works', async () => {
    const created = await fetch(`${base}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.token.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'dashboard', role: 'viewer' }),
    })
    expect(created.status).toBe(201)
    const { token } = (await created.json()) as { token: string }
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('muni_api_http_requests_total{method="POST",route="/api/v1/tokens",status="201"} 1')
  })

  it('answers a malformed JSON body with a 400, not a 500', async () => {
    const res = await fetch(`${base}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.token.admin}`, 'content-type': 'application/json' },
      body: '{"name":',
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' })
  })

  it('serves Swagger UI to a token holder', async () => {
    expect((await fetch(`${base}/docs`)).status).toBe(401)
    const res = await fetch(`${base}/docs`, { headers: { authorization: `Bearer ${f.token.viewer}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
  })
})
