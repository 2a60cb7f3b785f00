import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Fixture, makeFixture } from '../test-support/fixture.ts'

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
})
afterEach(async () => {
  await f.close()
})

describe('token routes', () => {
  it('creates a token shown once, which then works with its role, and revokes it', async () => {
    const created = await f.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: f.auth('admin'), payload: { name: 'scada-north', role: 'engineer' } })
    expect(created.statusCode).toBe(201)
    expect(created.headers['cache-control']).toBe('no-store')
    const { id, token, name, role } = created.json()
    expect({ name, role }).toEqual({ name: 'scada-north', role: 'engineer' })
    expect(token).toMatch(/^muni_[A-Za-z0-9_-]{43}$/)

    const auth = { authorization: `Bearer ${token}` }
    expect((await f.app.inject({ url: '/api/v1/dead-letters/stats', headers: auth })).statusCode).toBe(200)
    expect((await f.app.inject({ url: '/api/v1/tokens', headers: auth })).statusCode).toBe(403)

    const listed = await f.app.inject({ url: '/api/v1/tokens', headers: f.auth('admin') })
    expect(listed.statusCode).toBe(200)
    expect(listed.body).not.toContain(token)
    expect(listed.body).not.toMatch(/muni_|hash/)
    expect(listed.json().tokens).toContainEqual({ id, name: 'scada-north', role: 'engineer', createdAt: expect.any(Number) })

    const revoked = await f.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: f.auth('admin') })
    expect(revoked.statusCode).toBe(200)
    expect(revoked.json()).toEqual({ id, name: 'scada-north', role: 'engineer', createdAt: expect.any(Number), revokedAt: expect.any(Number) })
    expect((await f.app.inject({ url: '/api/v1/dead-letters/stats', headers: auth })).statusCode).toBe(401)

    const again = await f.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: f.auth('admin') })
    expect(again.statusCode).toBe(404)
    expect(again.json().message).toBe(`token "${id}" is already revoked`)
  })

  it.each([
    [{ role: 'viewer' }, 'body/name: is required'],
    [{ name: 'x' }, 'body/role: is required'],
    [{}, 'body/name: is required; body/role: is required'],
    [{ name: '', role: 'viewer' }, 'body/name: must not have fewer than 1 characters'],
    [{ name: 'x', role: 'root' }, 'body/role: must be one of viewer, operator, engineer, admin'],
    [{ name: 'x', role: 'viewer', expires: 1 }, 'body/expires: is not a known field'],
  ])('POST %j → 400 naming the field', async (payload, message) => {
    const res = await f.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: f.auth('admin'), payload })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe(message)
  })

  it('DELETE of an unknown id is a 404 naming it; a malformed id a 400', async () => {
    const unknown = await f.app.inject({ method: 'DELETE', url: '/api/v1/tokens/tok_nope', headers: f.auth('admin') })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().message).toBe('token "tok_nope" not found')
    const bad = await f.app.inject({ method: 'DELETE', url: '/api/v1/tokens/12', headers: f.auth('admin') })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toBe('params/id: must match pattern "^tok_[A-Za-z0-9_-]{1,64}$"')
  })
})
