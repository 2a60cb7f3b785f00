import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RegistryDevice } from '../../model.ts'
import { buildApi } from '../index.ts'
import { MemoryDeadLetters, MemoryRegistry, MemoryTelemetry } from '../test-support/memory.ts'
import { DEVICES, type Fixture, GATEWAYS, makeFixture } from '../test-support/fixture.ts'
import { openTokenStore } from '../tokens.ts'

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
})
afterEach(async () => {
  await f.close()
})

async function get(url: string) {
  const res = await f.app.inject({ url, headers: f.auth('viewer') })
  return { status: res.statusCode, body: res.json() }
}

describe('registry routes', () => {
  it('GET /api/v1/sites lists every site with counts', async () => {
    const { status, body } = await get('/api/v1/sites')
    expect(status).toBe(200)
    expect(body).toEqual({
      sites: [
        { site: 'north', gateways: 2, devices: 3, online: 1 },
        { site: 'south', gateways: 1, devices: 1, online: 0 },
      ],
    })
  })

  it("GET /api/v1/sites/:site/gateways lists the site's gateways", async () => {
    const { status, body } = await get('/api/v1/sites/north/gateways')
    expect(status).toBe(200)
    expect(body.site).toBe('north')
    expect(body.gateways).toEqual(GATEWAYS.filter((g) => g.site === 'north'))
  })

  it('GET /api/v1/gateways/:site/:gateway gives the gateway and its devices', async () => {
    const { status, body } = await get('/api/v1/gateways/north/gw-01')
    expect(status).toBe(200)
    expect(body.gateway).toEqual(GATEWAYS[0])
    expect(body.devices.map((d: RegistryDevice) => d.device)).toEqual(['lvl-1', 'prs-1', 'cov-1'])
  })

  it('GET /api/v1/devices/:gateway/:device gives status and last values', async () => {
    const { status, body } = await get('/api/v1/devices/gw-01/lvl-1')
    expect(status).toBe(200)
    expect(body.device).toEqual(DEVICES[0])
    expect(body.device.lastValues).toEqual({ level_m: 1.25, alarm: false, status: 'ok' })
  })

  it.each([
    ['', ['lvl-1', 'prs-1', 'cov-1', 'lvl-9']],
    ['site=north', ['lvl-1', 'prs-1', 'cov-1']],
    ['site=south&gateway=gw-10', ['lvl-9']],
    ['gateway=gw-01&kind=water-level', ['lvl-1']],
    ['kind=water-level', ['lvl-1', 'lvl-9']],
    ['availability=unavailable', ['prs-1']],
    ['site=north&gateway=gw-02', []],
  ])('GET /api/v1/devices?%s', async (query, devices) => {
    const { status, body } = await get(`/api/v1/devices?${query}`)
    expect(status).toBe(200)
    expect(body.devices.map((d: RegistryDevice) => d.device)).toEqual(devices)
  })

  describe('404 names what was not found', () => {
    it.each([
      ['/api/v1/sites/east/gateways', 'site "east" not found'],
      ['/api/v1/gateways/east/gw-01', 'site "east" not found'],
      ['/api/v1/gateways/north/gw-10', 'gateway "gw-10" not found in site "north"'],
      ['/api/v1/devices/gw-01/lvl-9', 'device "lvl-9" not found on gateway "gw-01"'],
      ['/api/v1/devices/gw-77/lvl-1', 'gateway "gw-77" not found'],
      ['/api/v1/devices?site=east', 'querystring/site: site "east" not found'],
      ['/api/v1/devices?site=north&gateway=gw-10', 'querystring/gateway: gateway "gw-10" not found in site "north"'],
      ['/api/v1/devices?gateway=gw-77', 'querystring/gateway: gateway "gw-77" not found'],
      ['/api/v1/nothing-here', 'route GET /api/v1/nothing-here not found'],
    ])('%s', async (url, message) => {
      const { status, body } = await get(url)
      expect(status).toBe(404)
      expect(body).toEqual({ statusCode: 404, error: 'Not Found', message, code: 'API_NOT_FOUND' })
    })
  })

  describe('400 names the field', () => {
    it.each([
      ['/api/v1/sites/no$such/gateways', 'params/site: must match pattern "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"'],
      ['/api/v1/gateways/north/_gw', 'params/gateway: must match pattern "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"'],
      ['/api/v1/devices?kind=lamp', 'querystring/kind: must be one of manhole-cover, water-level, pipe-pressure'],
      ['/api/v1/devices?availability=up', 'querystring/availability: must be one of available, unavailable, unknown'],
      ['/api/v1/devices?siteid=north', 'querystring/siteid: is not a known field'],
    ])('%s', async (url, message) => {
      const { status, body } = await get(url)
      expect(status).toBe(400)
      expect(body.message).toBe(message)
    })
  })
})

describe('response schemas are enforced by serialization', () => {
  async function apiWith(devices: RegistryDevice[]) {
    const store = openTokenStore(':memory:')
    const { token } = store.create('t', 'viewer')
    const app = await buildApi({
      registry: new MemoryRegistry(GATEWAYS, devices),
      telemetry: new MemoryTelemetry(),
      deadLetters: new MemoryDeadLetters(),
      tokens: store,
      health: () => ({ ok: true, checks: {} }),
      metrics: () => '',
    })
    const close = async () => {
      await app.close()
      store.close()
    }
    return { app, close, headers: { authorization: `Bearer ${token}` } }
  }

  it('drops a field the schema does not declare', async () => {
    const leaky = { ...DEVICES[0], password: 'hunter2' } as RegistryDevice
    const api = await apiWith([leaky])
    try {
      const res = await api.app.inject({ url: '/api/v1/devices/gw-01/lvl-1', headers: api.headers })
      expect(res.statusCode).toBe(200)
      expect(res.body).not.toContain('hunter2')
      expect(res.json().device).toEqual(DEVICES[0])
    } finally {
      await api.close()
    }
  })

  it('answers 500 without internals when a required field is missing', async () => {
    const { availability: _dropped, ...broken } = DEVICES[0] as RegistryDevice
    const api = await apiWith([broken as RegistryDevice])
    try {
      const res = await api.app.inject({ url: '/api/v1/devices/gw-01/lvl-1', headers: api.headers })
      expect(res.statusCode).toBe(500)
      expect(res.json()).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error; see the server log' })
    } finally {
      await api.close()
    }
  })
})
