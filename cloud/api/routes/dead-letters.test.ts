import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEAD_LETTERS, type Fixture, makeFixture } from '../test-support/fixture.ts'

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
})
afterEach(async () => {
  await f.close()
})

async function get(url: string) {
  const res = await f.app.inject({ url, headers: f.auth('engineer') })
  return { status: res.statusCode, body: res.json() }
}

describe('dead-letter routes', () => {
  it('lists newest first with the total, every field intact', async () => {
    const { status, body } = await get('/api/v1/dead-letters')
    expect(status).toBe(200)
    expect(body.total).toBe(3)
    expect(body.items).toEqual([...DEAD_LETTERS].reverse())
    expect(body.nextBefore).toBeUndefined()
  })

  it('pages with limit and before', async () => {
    const first = await get('/api/v1/dead-letters?limit=2')
    expect(first.body.items.map((l: { id: number }) => l.id)).toEqual([3, 2])
    expect(first.body.nextBefore).toBe(2)
    const second = await get(`/api/v1/dead-letters?limit=2&before=${first.body.nextBefore}`)
    expect(second.body.items.map((l: { id: number }) => l.id)).toEqual([1])
    expect(second.body.nextBefore).toBeUndefined()
  })

  it('filters by reason', async () => {
    const { body } = await get('/api/v1/dead-letters?reason=unknown_gateway')
    expect(body.items.map((l: { id: number }) => l.id)).toEqual([2])
  })

  it('counts by reason', async () => {
    const { status, body } = await get('/api/v1/dead-letters/stats')
    expect(status).toBe(200)
    expect(body).toEqual({ total: 3, byReason: { invalid: 2, unknown_gateway: 1 } })
  })

  it.each([
    ['limit=0', 'querystring/limit: must be >= 1'],
    ['limit=1001', 'querystring/limit: must be <= 1000'],
    ['before=abc', 'querystring/before: must be integer'],
    ['reason=Not%20A%20Reason', 'querystring/reason: must match pattern "^[a-z][a-z0-9_]{0,63}$"'],
  ])('400 for %s names the field', async (query, message) => {
    const { status, body } = await get(`/api/v1/dead-letters?${query}`)
    expect(status).toBe(400)
    expect(body.message).toBe(message)
  })
})
